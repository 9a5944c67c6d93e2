"""XPO (Algorithm 1): objective and gradient against numpy, query ledger, prefix consistency, convergence to π*_β
with α = 0 on a realizable class, and the validation of hyper-parameters."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sharpsim.algorithms.xpo import parametrization, round_loss, select_prefix, xpo_objective, xpo_sharpen
from sharpsim.classes import LinearSoftmaxClass, TabularClass
from sharpsim.instances.sphere import sphere
from sharpsim.core.oracle import Oracle
from sharpsim.core.policy import TabularPolicy

INSTANCE = sphere(4)  # |Y| = 16, d = 4; shared by every test so jitted functions compile once
BETA = 0.25  # (1 + 1/β)‖θ*‖ = 5 ≤ B ≈ 26.7: realizable


def _numpy_log_softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _random_data(rng, num_prompts, num_responses, size):
    prompts = rng.integers(0, num_prompts, size)
    on_policy = rng.integers(0, num_responses, size)
    base = rng.integers(0, num_responses, size)
    mask = rng.random(size) < 0.7
    return prompts, on_policy, base, mask


@pytest.mark.slow
@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_objective_and_gradient_match_numpy_for_the_linear_class(alpha):
    rng = np.random.default_rng(0)
    num_prompts, num_responses, dim, size = 3, 7, 4, 11
    features = rng.normal(size=(num_prompts, num_responses, dim))
    theta_base = rng.normal(size=dim)
    theta = rng.normal(size=dim)
    model_class = LinearSoftmaxClass(features, radius=10.0)
    prompts, on_policy, base, mask = _random_data(rng, num_prompts, num_responses, size)
    log_base_table = _numpy_log_softmax(features @ theta_base)
    ell, ell_tilde = log_base_table[prompts, on_policy], log_base_table[prompts, base]
    beta, scale = 0.4, 0.07

    # numpy reference: the objective and its analytic gradient
    logits = features @ theta
    log_pi = _numpy_log_softmax(logits)
    probs = np.exp(log_pi)
    residual = (beta * (log_pi[prompts, on_policy] - ell) - beta * (log_pi[prompts, base] - ell_tilde)
                - (ell - ell_tilde))
    value = alpha * np.sum(mask * log_pi[prompts, base]) + scale * np.sum(mask * residual**2)
    mean_features = np.einsum("xy,xyd->xd", probs, features)
    grad_optimism = alpha * np.sum(mask[:, None] * (features[prompts, base] - mean_features[prompts]), axis=0)
    grad_regression = 2 * scale * beta * np.sum(
        (mask * residual)[:, None] * (features[prompts, on_policy] - features[prompts, base]), axis=0)

    param = parametrization(model_class)
    data = (jnp.asarray(prompts), jnp.asarray(on_policy), jnp.asarray(base), jnp.asarray(ell),
            jnp.asarray(ell_tilde), jnp.asarray(mask))
    got_value, got_grad = jax.value_and_grad(lambda p: round_loss(param, p, data, beta, alpha, scale))(
        jnp.asarray(theta))
    assert float(got_value) == pytest.approx(value, rel=1e-12)
    np.testing.assert_allclose(np.asarray(got_grad), grad_optimism + grad_regression, rtol=1e-10, atol=1e-13)

    # the table form agrees, and returns the residuals
    direct, residuals = xpo_objective(log_pi[prompts, on_policy], log_pi[prompts, base], ell, ell_tilde, mask,
                                      beta, alpha, scale)
    assert float(direct) == pytest.approx(value, rel=1e-12)
    np.testing.assert_allclose(np.asarray(residuals), residual, rtol=1e-12)


@settings(deadline=None, max_examples=40, derandomize=True)
@given(st.integers(1, 3), st.integers(2, 9), st.floats(0.01, 5.0), st.floats(0.05, 30.0), st.integers(0, 2**31 - 1))
def test_residual_vanishes_at_the_power_policy(num_prompts, num_responses, beta, concentration, seed):
    """π*_β ∝ π_base^{1+1/β} zeroes every residual: β log(π*/π_base) = log π_base − β log Z, whose differences
    at a shared prompt equal the reward differences (random bases from flat to near-deterministic, ties included)."""
    rng = np.random.default_rng(seed)
    base = rng.dirichlet(np.full(num_responses, concentration), size=num_prompts)
    base = np.maximum(base, 1e-12)
    base[:, -1] = base[:, 0]  # an exact tie
    base /= base.sum(axis=1, keepdims=True)
    log_base = np.log(base)
    log_power = (1 + 1 / beta) * log_base
    log_power -= np.log(np.exp(log_power - log_power.max(axis=1, keepdims=True)).sum(axis=1, keepdims=True)) \
        + log_power.max(axis=1, keepdims=True)
    prompts, on_policy, other, mask = _random_data(rng, num_prompts, num_responses, 12)
    value, residuals = xpo_objective(log_power[prompts, on_policy], log_power[prompts, other],
                                     log_base[prompts, on_policy], log_base[prompts, other], mask, beta, 0.0, 1.0)
    scale = 1 + np.abs(log_base).max() / beta
    np.testing.assert_allclose(np.asarray(residuals), 0.0, atol=1e-10 * scale)
    # any other policy on these pairs has a non-negative loss (the regression term is a sum of squares)
    _, other_residuals = xpo_objective(log_base[prompts, on_policy], log_base[prompts, other],
                                       log_base[prompts, on_policy], log_base[prompts, other], mask, beta, 0.0, 1.0)
    np.testing.assert_allclose(np.asarray(other_residuals),
                               -(log_base[prompts, on_policy] - log_base[prompts, other]), atol=1e-12)


_RUN = {}


def _run(num_rounds, alpha=0.0, num_validation=4, seeds=6, seed=0):
    """vmapped, jitted XPO on INSTANCE (cached per configuration)."""
    config = (num_rounds, alpha, num_validation)
    if config not in _RUN:
        oracle = Oracle(INSTANCE.policy)
        _RUN[config] = jax.jit(jax.vmap(lambda key: xpo_sharpen(
            key, oracle, INSTANCE.model_class, num_rounds, BETA, alpha, num_validation=num_validation)))
    return _RUN[config](jax.random.split(jax.random.PRNGKey(seed), seeds))


@pytest.mark.slow
def test_query_ledger_is_one_sample_and_one_evaluation_per_round_plus_validation():
    rounds, validation = 5, 4
    result, oracle = _run(rounds, num_validation=validation)
    np.testing.assert_array_equal(result.training_queries.prompts, rounds)
    np.testing.assert_array_equal(result.training_queries.samples, rounds)
    np.testing.assert_array_equal(result.training_queries.evaluations, rounds)
    np.testing.assert_array_equal(result.training_queries.total, 2 * rounds)  # the paper's m ≍ 2T
    np.testing.assert_array_equal(result.validation_queries.prompts, (rounds + 1) * validation)
    np.testing.assert_array_equal(result.validation_queries.samples, 0)
    np.testing.assert_array_equal(result.validation_queries.evaluations, (rounds + 1) * validation)
    np.testing.assert_array_equal(oracle.queries.total, 2 * rounds + (rounds + 1) * validation)
    np.testing.assert_array_equal(result.queries.total, oracle.queries.total)  # everything this run was charged
    assert result.iterates.shape == (6, rounds + 1, 4) and result.validation.shape == (6, rounds + 1)
    # the data: base responses carry the oracle's log-likelihoods; the returned policy is the selected iterate
    np.testing.assert_allclose(result.policy.probs,
                               jax.vmap(lambda t: INSTANCE.model_class.policy(t).probs)(result.params))
    np.testing.assert_array_equal(result.params, result.iterates[np.arange(6), result.selected])


@pytest.mark.slow
def test_shorter_run_is_a_prefix_of_a_longer_one():
    short, _ = _run(5)
    long, _ = _run(12)
    np.testing.assert_allclose(long.iterates[:, :6], short.iterates, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(long.validation[:, :6], short.validation, rtol=1e-12)
    np.testing.assert_array_equal(select_prefix(long.validation, 5), short.selected)
    np.testing.assert_array_equal(long.prompts[:, :5], short.prompts)
    np.testing.assert_array_equal(long.base_responses[:, :5], short.base_responses)


@pytest.mark.slow
def test_alpha_zero_on_a_realizable_class_converges_to_the_power_policy():
    """The iterates approach π*_β (the *last* one; the validation-selected one is as good as Ĵ_β's noise allows:
    with V = 4 draws it may stop at an earlier, slightly less sharp iterate, so it is only checked to be sharp)."""
    result, _ = _run(40)
    probs = np.asarray(INSTANCE.policy.probs)
    target = probs ** (1 + 1 / BETA)
    target /= target.sum(axis=1, keepdims=True)
    last = np.asarray(jax.vmap(lambda t: INSTANCE.model_class.policy(t).probs)(result.iterates[:, -1]))
    kl = np.sum(last * (np.log(last) - np.log(target)), axis=-1)[:, 0]
    assert np.all(kl < 5e-3), kl
    star = INSTANCE.optimum
    assert np.all(np.asarray(result.policy.probs)[:, 0, star] > 0.5 * target[0, star])
    first = np.asarray(jax.vmap(lambda t: INSTANCE.model_class.policy(t).probs)(result.iterates[:, 0]))
    kl_first = np.sum(first * (np.log(first) - np.log(target)), axis=-1)[:, 0]
    assert np.all(kl_first > 0.5)  # it started far away (uniform)
    assert np.all(np.asarray(result.gradient_norm)[:, -1] < 1e-3)  # each round's fit nearly converged


@pytest.mark.slow
def test_optimism_pushes_mass_away_from_base_samples():
    """With a huge α the fit lowers log π(ỹ) at the base samples below the α = 0 fit's."""
    plain, _ = _run(5)
    optimistic, _ = _run(5, alpha=10.0)
    log_policy = parametrization(INSTANCE.model_class).log_policy

    def mean_log_prob(result):
        tables = jax.vmap(log_policy)(result.iterates[:, -1])
        return np.mean(np.asarray(jax.vmap(lambda t, x, y: t[x, y])(tables, result.prompts, result.base_responses)))

    assert mean_log_prob(optimistic) < mean_log_prob(plain) - 1.0


@pytest.mark.slow
def test_tabular_class_with_explicit_ranges():
    base = TabularPolicy(np.array([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]]))
    oracle = Oracle(base)
    result, oracle = xpo_sharpen(jax.random.PRNGKey(0), oracle, TabularClass.like(base), 30, 0.5, 0.0,
                                 num_validation=2, reward_range=3.0, value_range=2.0, num_steps=50,
                                 learning_rate=0.3)
    target = np.asarray(base.probs) ** 3
    target /= target.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(np.asarray(result.iterates[-1]).argmax(axis=1), [0, 1])
    final = jax.nn.softmax(result.iterates[-1], axis=-1)
    assert np.max(np.abs(np.asarray(final) - target)) < 0.05
    assert int(oracle.queries.total) == 2 * 30 + 31 * 2


@pytest.mark.parametrize("kwargs,error,message", [
    ({"beta": 0.0}, ValueError, r"beta must lie in \(0, inf\), got 0.0"),
    ({"beta": -1.0}, ValueError, r"beta must lie in \(0, inf\), got -1.0"),
    ({"alpha": -0.1}, ValueError, r"alpha must lie in \[0, inf\), got -0.1"),
    ({"num_rounds": 0}, ValueError, "num_rounds must be an integer >= 1, got 0"),
    ({"num_rounds": 2.5}, TypeError, "num_rounds must be an integer >= 1"),
    ({"num_steps": 0}, ValueError, "num_steps must be an integer >= 1, got 0"),
    ({"num_validation": 0}, ValueError, "num_validation must be an integer >= 1, got 0"),
    ({"learning_rate": 0.0}, ValueError, r"learning_rate must lie in \(0, inf\), got 0.0"),
    ({"reward_range": -1.0}, ValueError, r"reward_range must lie in \[0, inf\), got -1.0"),
    ({"initial_params": np.zeros(3)}, ValueError, r"initial_params must have shape \(4,\), got \(3,\)"),
])
def test_bad_hyperparameters_raise_clear_errors(kwargs, error, message):
    arguments = {"num_rounds": 3, "beta": BETA, "alpha": 0.0, **kwargs}
    with pytest.raises(error, match=message):
        xpo_sharpen(jax.random.PRNGKey(0), Oracle(INSTANCE.policy), INSTANCE.model_class, **arguments)


def test_unsupported_or_mismatched_class_and_missing_ranges():
    oracle = Oracle(INSTANCE.policy)
    with pytest.raises(ValueError, match="pass reward_range .R_max. and value_range .V_max. explicitly"):
        xpo_sharpen(jax.random.PRNGKey(0), oracle, TabularClass.like(INSTANCE.policy), 3, BETA, 0.0)
    with pytest.raises(ValueError, match="model_class has num_responses=5"):
        xpo_sharpen(jax.random.PRNGKey(0), oracle, TabularClass(5, num_prompts=1), 3, BETA, 0.0)

    class Other:
        num_prompts, num_responses = 1, 16

        def fit(self, prompts, responses, weights=None):
            return None

    with pytest.raises(TypeError, match="supports LinearSoftmaxClass and TabularClass, got Other"):
        xpo_sharpen(jax.random.PRNGKey(0), oracle, Other(), 3, BETA, 0.0)


def test_autoregressive_base_is_refused():
    from sharpsim.instances.autoregressive import bitstring

    base = bitstring(horizon=2, coverage=2.0, key=jax.random.PRNGKey(0), num_prompts=1)
    with pytest.raises(TypeError, match=r"xpo_sharpen needs a base over a finite response set .* autoregressive"):
        xpo_sharpen(jax.random.PRNGKey(0), Oracle(base), TabularClass.like(base.to_tabular()), 3, BETA, 0.0,
                    reward_range=1.0, value_range=1.0)
