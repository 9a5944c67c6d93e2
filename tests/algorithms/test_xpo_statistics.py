"""XPO's round objective from running sufficient statistics (``xpo_statistics``; Algorithm 1): value and gradient
against the buffered objective written in numpy here, for the linear and the tabular class, and whole runs with
statistics against runs on the buffer (same data, same query ledger, iterates equal up to rounding)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sharpsim.algorithms.xpo import parametrization, xpo_sharpen
from sharpsim.algorithms.xpo_statistics import (
    LINEAR_STATISTICS_LIMIT, TABULAR_STATISTICS_LIMIT, add_round, empty_statistics, statistics_loss, supports_statistics,
)
from sharpsim.classes import LinearSoftmaxClass, TabularClass
from sharpsim.core.oracle import Oracle
from sharpsim.core.policy import TabularPolicy
from sharpsim.instances.sphere import sphere

NUM_PROMPTS, NUM_RESPONSES, DIMENSION, SIZE = 3, 6, 4, 13
FEATURES = np.random.default_rng(11).normal(size=(NUM_PROMPTS, NUM_RESPONSES, DIMENSION))
LINEAR = LinearSoftmaxClass(FEATURES, radius=10.0)
TABULAR = TabularClass(NUM_RESPONSES, num_prompts=NUM_PROMPTS)


def _fold(model_class):
    """jitted: the statistics of a data set, one ``add_round`` per datum; then value and gradient of the loss."""
    param = parametrization(model_class)

    def run(params, data, beta, alpha, scale):
        def add(statistics, datum):
            return add_round(model_class, statistics, *datum), None

        statistics, _ = jax.lax.scan(add, empty_statistics(model_class), data)
        return jax.value_and_grad(lambda p: statistics_loss(param.log_partition, p, statistics, beta, alpha,
                                                            scale))(params)

    return jax.jit(run)


FOLDS = {"linear": _fold(LINEAR), "tabular": _fold(TABULAR)}


def _log_softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _numpy_objective(logits, features, prompts, on_policy, base, ell, ell_tilde, beta, alpha, scale):
    """The buffered objective of Algorithm 1 and its gradient with respect to the logits [X, Y] (chain rule to the
    parameters is left to the caller): α Σ log π(ỹ_i|x_i) + s Σ residual_i², over every datum."""
    log_pi = _log_softmax(logits)
    residual = (beta * (log_pi[prompts, on_policy] - ell) - beta * (log_pi[prompts, base] - ell_tilde)
                - (ell - ell_tilde))
    value = alpha * np.sum(log_pi[prompts, base]) + scale * np.sum(residual**2)
    grad_logits = np.zeros_like(logits)
    probs = np.exp(log_pi)
    for x, y, b, r in zip(prompts, on_policy, base, residual):
        grad_logits[x, b] += alpha
        grad_logits[x] -= alpha * probs[x]
        grad_logits[x, y] += 2 * scale * beta * r
        grad_logits[x, b] -= 2 * scale * beta * r
    return value, grad_logits


@settings(deadline=None, max_examples=20, derandomize=True)
@given(st.sampled_from(["linear", "tabular"]), st.sampled_from([0.0, 0.3]), st.floats(0.05, 3.0),
       st.integers(0, 2**31 - 1))
def test_statistics_objective_and_gradient_match_the_buffered_objective(kind, alpha, beta, seed):
    rng = np.random.default_rng(seed)
    prompts = rng.integers(0, NUM_PROMPTS, SIZE)
    on_policy = rng.integers(0, NUM_RESPONSES, SIZE)
    base = np.where(rng.random(SIZE) < 0.2, on_policy, rng.integers(0, NUM_RESPONSES, SIZE))  # some y = ỹ
    log_base = _log_softmax(rng.normal(scale=2.0, size=(NUM_PROMPTS, NUM_RESPONSES)))
    ell, ell_tilde = log_base[prompts, on_policy], log_base[prompts, base]
    scale = 0.07
    if kind == "linear":
        params = rng.normal(size=DIMENSION)
        logits = FEATURES @ params
    else:
        params = rng.normal(scale=2.0, size=(NUM_PROMPTS, NUM_RESPONSES))
        logits = params
    value, grad_logits = _numpy_objective(logits, FEATURES, prompts, on_policy, base, ell, ell_tilde, beta, alpha,
                                          scale)
    expected_grad = np.einsum("xy,xyd->d", grad_logits, FEATURES) if kind == "linear" else grad_logits
    data = tuple(jnp.asarray(a) for a in (prompts, on_policy, base, ell, ell_tilde))
    got_value, got_grad = FOLDS[kind](jnp.asarray(params), data, jnp.asarray(beta), jnp.asarray(alpha),
                                      jnp.asarray(scale))
    # the expanded square loses absolute accuracy of order ε·(1+β)²Σ(ℓ − ℓ̃)², relative to the terms it sums
    magnitude = abs(alpha) * np.sum(np.abs(_log_softmax(logits)[prompts, base])) + scale * (1 + beta) ** 2 * np.sum(
        (np.abs(logits).max() * 2 + np.abs(ell - ell_tilde)) ** 2)
    assert abs(float(got_value) - value) <= 1e-12 * magnitude
    np.testing.assert_allclose(np.asarray(got_grad), expected_grad, rtol=1e-9,
                               atol=1e-12 * np.max(np.abs(expected_grad)) + 1e-13)


def test_tabular_statistics_are_the_pair_laplacian():
    """G[x] = Σ (e_y − e_ỹ)(e_y − e_ỹ)ᵀ over the rounds at x: built here from the pairs with numpy."""
    pairs = [(0, 1, 4, -1.0, -2.5), (2, 3, 3, -0.5, -0.5), (0, 4, 1, -2.5, -1.0), (1, 0, 5, -0.2, -3.0)]
    statistics = empty_statistics(TABULAR)
    for datum in pairs:
        statistics = add_round(TABULAR, statistics, *datum)
    gram = np.zeros((NUM_PROMPTS, NUM_RESPONSES, NUM_RESPONSES))
    cross, base_counts = np.zeros((NUM_PROMPTS, NUM_RESPONSES)), np.zeros((NUM_PROMPTS, NUM_RESPONSES))
    for x, y, b, ell, ell_tilde in pairs:
        difference = np.eye(NUM_RESPONSES)[y] - np.eye(NUM_RESPONSES)[b]
        gram[x] += np.outer(difference, difference)
        cross[x] += (ell - ell_tilde) * difference
        base_counts[x, b] += 1
    np.testing.assert_array_equal(np.asarray(statistics.gram), gram)
    np.testing.assert_allclose(np.asarray(statistics.cross), cross, rtol=1e-15)
    np.testing.assert_array_equal(np.asarray(statistics.base_features), base_counts)
    np.testing.assert_array_equal(np.asarray(statistics.prompt_counts), [2, 1, 1])
    assert float(statistics.squares) == pytest.approx(sum((p[3] - p[4]) ** 2 for p in pairs), rel=1e-15)


def test_default_path_and_bad_statistics_argument():
    assert supports_statistics(LINEAR) and supports_statistics(TABULAR)
    side = int(TABULAR_STATISTICS_LIMIT**0.5)
    assert supports_statistics(TabularClass(side, num_prompts=1))
    assert not supports_statistics(TabularClass(side + 1, num_prompts=1))
    dimension = int(LINEAR_STATISTICS_LIMIT**0.5)
    assert supports_statistics(LinearSoftmaxClass(np.ones((1, 2, dimension)), radius=1.0))
    assert not supports_statistics(LinearSoftmaxClass(np.ones((1, 2, dimension + 1)), radius=1.0))
    # a Gram matrix beyond memory is refused by name, before anything runs (d = 5·10⁴: 20 GB)
    wide = LinearSoftmaxClass(np.stack([np.zeros(50_000), np.ones(50_000)])[None], radius=1.0)
    with pytest.raises(ValueError, match="Gram matrix"):
        xpo_sharpen(jax.random.PRNGKey(0), Oracle(TabularPolicy(np.array([[0.5, 0.5]]))), wide, 3, 0.25, 0.0,
                    statistics=True)
    with pytest.raises(TypeError, match="model_class: pair statistics exist for LinearSoftmaxClass and TabularClass"):
        empty_statistics(object())
    instance = sphere(4)
    with pytest.raises(TypeError, match="statistics must be True, False or None, got 'yes'"):
        xpo_sharpen(jax.random.PRNGKey(0), Oracle(instance.policy), instance.model_class, 3, 0.25, 0.0,
                    statistics="yes")


def _both_paths(base, model_class, num_rounds, alpha, **kwargs):
    runs = [xpo_sharpen(jax.random.PRNGKey(7), Oracle(base), model_class, num_rounds, 0.5, alpha, statistics=flag,
                        **kwargs) for flag in (True, False)]
    (fast, fast_oracle), (buffered, buffered_oracle) = runs
    # the same data, the same ledger: the statistics change only how the objective is summed
    for name in ("prompts", "on_policy", "base_responses"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(buffered, name))
    for part in ("queries", "training_queries", "validation_queries"):
        for field in ("prompts", "samples", "evaluations"):
            assert int(getattr(getattr(fast, part), field)) == int(getattr(getattr(buffered, part), field))
    assert int(fast_oracle.queries.total) == int(buffered_oracle.queries.total) == 2 * num_rounds + (
        num_rounds + 1) * kwargs.get("num_validation", 16)
    return fast, buffered


@pytest.mark.slow
@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_whole_runs_with_statistics_match_runs_on_the_buffer(alpha):
    """Adam normalizes its steps, so rounding differences grow along a run: the first rounds agree to ~1e-12, a
    30-round run to ~1e-8 (linear class on ``sphere``; tabular class on a random base)."""
    instance = sphere(4)
    fast, buffered = _both_paths(instance.policy, instance.model_class, 30, alpha, num_validation=4)
    np.testing.assert_allclose(fast.iterates[:4], buffered.iterates[:4], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fast.iterates, buffered.iterates, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(fast.objective, buffered.objective, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(fast.validation, buffered.validation, rtol=1e-8)

    probs = np.random.default_rng(2).dirichlet(np.ones(5), size=3)
    base = TabularPolicy(probs)
    fast, buffered = _both_paths(base, TabularClass.like(base), 30, alpha, num_validation=4, reward_range=6.0,
                                 value_range=3.0)
    np.testing.assert_allclose(fast.iterates[:4], buffered.iterates[:4], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fast.iterates, buffered.iterates, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(fast.objective, buffered.objective, rtol=1e-8, atol=1e-10)
    np.testing.assert_array_equal(fast.selected, buffered.selected)
