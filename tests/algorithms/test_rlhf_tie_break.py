"""The minimum-norm tie-break of offline RLHF-Sharpening (Eq. 8): the tabular rule against a union-find construction
and numpy's least squares, exactness (loss 0) and the least-norm property among exact minimizers; the linear class's
pseudo-inverse fit against numpy, projected gradient from θ = 0 reaching the same point, the ball flag, and
validation of ``tie_break``."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sharpsim import TabularPolicy
from sharpsim.algorithms.rlhf import (linear_rlhf_fit, linear_rlhf_min_norm_fit, rlhf_sharpen,
                                      tabular_rlhf_min_norm_logits)
from sharpsim.classes import LinearSoftmaxClass, TabularClass
from sharpsim.core.oracle import Oracle
from sharpsim.referee.kl_regularized import power_policy

run_rlhf = jax.jit(rlhf_sharpen, static_argnames=("num_prompts", "tie_break"))


def np_components_rule(prompts, responses, log_probs, beta, num_prompts, num_responses):
    """Union-find over each prompt's pair graph; θ = (1 + 1/β)(log π_base − component mean), 0 elsewhere."""
    parent = {}

    def find(node):
        while parent.setdefault(node, node) != node:
            node = parent[node]
        return node

    base = {}
    for x, (y, y2), (l, l2) in zip(prompts, responses, log_probs):
        base[(x, y)], base[(x, y2)] = l, l2
        parent[find((x, y))] = find((x, y2))
    groups = {}
    for node in base:
        groups.setdefault(find(node), []).append(node)
    logits = np.zeros((num_prompts, num_responses))
    for members in groups.values():
        mean = np.mean([base[node] for node in members])
        for x, y in members:
            logits[x, y] = (1.0 + 1.0 / beta) * (base[(x, y)] - mean)
    return logits


def np_design(prompts, responses, num_prompts, num_responses):
    design = np.zeros((len(prompts), num_prompts * num_responses))
    for i, (x, (y, y2)) in enumerate(zip(prompts, responses)):
        design[i, x * num_responses + y] += 1.0
        design[i, x * num_responses + y2] -= 1.0
    return design


def random_data(seed, num_prompts=3, num_responses=6, num_pairs=7):
    rng = np.random.default_rng(seed)
    base = np.log(rng.dirichlet(np.ones(num_responses), size=num_prompts))
    prompts = rng.integers(0, num_prompts, num_pairs)
    responses = rng.integers(0, num_responses, (num_pairs, 2))
    return prompts, responses, base[prompts[:, None], responses]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("beta", [0.05, 1.0])
def test_tabular_min_norm_is_the_component_centered_rule(seed, beta):
    prompts, responses, log_probs = random_data(seed)
    logits = np.asarray(tabular_rlhf_min_norm_logits(prompts, responses, log_probs, beta, 3, 6))
    np.testing.assert_allclose(logits, np_components_rule(prompts, responses, log_probs, beta, 3, 6), atol=1e-9)
    design = np_design(prompts, responses, 3, 6)
    target = (1.0 + 1.0 / beta) * (log_probs[:, 0] - log_probs[:, 1])
    np.testing.assert_allclose(logits.ravel(), np.linalg.lstsq(design, target, rcond=None)[0], atol=1e-9)
    # exact: every residual of Eq. 8 vanishes (logit differences = log-prob differences)
    residual = beta * (design @ logits.ravel()) - (1.0 + beta) * (log_probs[:, 0] - log_probs[:, 1])
    np.testing.assert_allclose(residual, 0.0, atol=1e-9)
    # least norm: moving along the null space of the design keeps the loss 0 and increases the norm
    null = np.linalg.svd(design)[2][np.linalg.matrix_rank(design):]
    rng = np.random.default_rng(seed + 100)
    for _ in range(5):
        other = logits.ravel() + null.T @ rng.normal(size=null.shape[0])
        np.testing.assert_allclose(design @ other, design @ logits.ravel(), atol=1e-9)
        assert np.linalg.norm(other) > np.linalg.norm(logits)


def test_rlhf_sharpen_min_norm_tabular_fit_and_loss():
    base = TabularPolicy([[0.4, 0.3, 0.2, 0.05, 0.03, 0.02], [0.1, 0.1, 0.5, 0.1, 0.1, 0.1]])
    key = jax.random.PRNGKey(3)
    result, oracle = run_rlhf(key, Oracle(base), TabularClass.like(base), 5, 0.2, tie_break="min_norm")
    prompts, responses, log_probs = (np.asarray(a) for a in (result.prompts, result.responses, result.log_probs))
    logits = np_components_rule(prompts, responses, log_probs, 0.2, 2, 6)
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(np.asarray(result.policy.probs), expected / expected.sum(axis=1, keepdims=True),
                               atol=1e-9)
    assert float(result.loss) == pytest.approx(0.0, abs=1e-12)
    assert int(oracle.queries.samples) == 10
    # unsampled responses share the logit 0 of π_zero (neither −∞ as under "pessimistic" nor π_base's value)
    sampled = np.zeros((2, 6), bool)
    sampled[np.repeat(prompts, 2), responses.ravel()] = True
    seen = sampled.any(axis=1)
    probs = np.asarray(result.policy.probs)
    for x in np.flatnonzero(seen):
        unsampled = probs[x, ~sampled[x]]
        np.testing.assert_allclose(unsampled, unsampled[0] if unsampled.size else unsampled)


def test_min_norm_and_pessimistic_agree_when_every_response_is_connected():
    """With one component covering all of Y, the rules differ only by a constant logit: same policy π*_β."""
    base = TabularPolicy([[0.5, 0.3, 0.2]])
    prompts = np.zeros(3, int)
    responses = np.array([[0, 1], [1, 2], [2, 2]])
    log_probs = np.log(np.asarray(base.probs))[0][responses]
    logits = np.asarray(tabular_rlhf_min_norm_logits(prompts, responses, log_probs, 0.5, 1, 3))
    probs = (np.exp(logits) / np.exp(logits).sum())[0]
    np.testing.assert_allclose(probs, np.asarray(power_policy(base, 0.5).probs)[0], rtol=1e-10)


def _linear(dimension=4, responses=12, radius=1e6, seed=0):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(1, responses, dimension))
    theta_star = rng.normal(size=dimension) * 0.5
    model_class = LinearSoftmaxClass(features, radius, max_steps=20000, tolerance=1e-10)
    return model_class, theta_star, model_class.policy(theta_star)


@pytest.mark.slow
@pytest.mark.parametrize("num_pairs", [2, 3, 10])
def test_linear_min_norm_matches_numpy_pinv_and_projected_gradient(num_pairs):
    model_class, theta_star, base = _linear()
    rng = np.random.default_rng(num_pairs)
    responses = rng.integers(0, 12, (num_pairs, 2))
    prompts = np.zeros(num_pairs, int)
    log_probs = np.log(np.asarray(base.probs))[0][responses]
    beta = 0.5
    features = np.asarray(model_class.features)[0]
    difference = features[responses[:, 0]] - features[responses[:, 1]]
    expected = np.linalg.pinv(beta * difference) @ ((1.0 + beta) * (log_probs[:, 0] - log_probs[:, 1]))
    fit = linear_rlhf_min_norm_fit(model_class, prompts, responses, log_probs, beta)
    np.testing.assert_allclose(np.asarray(fit.theta), expected, atol=1e-8)
    assert bool(fit.converged) and float(fit.loss) == pytest.approx(0.0, abs=1e-16)
    if num_pairs >= 4:  # the differences span R^d: the minimizer is π*_β itself
        np.testing.assert_allclose(np.asarray(fit.theta), (1.0 + 1.0 / beta) * theta_star, atol=1e-8)


@pytest.mark.slow
def test_projected_gradient_from_zero_reaches_the_min_norm_point():
    """Projected gradient from θ = 0 stays in the row space of the differences: it converges to D⁺t (numpy)."""
    model_class, theta_star, base = _linear()
    responses = np.array([[0, 1], [2, 3]])  # rank 2 < d = 4: a whole affine set of exact minimizers
    log_probs = np.log(np.asarray(base.probs))[0][responses]
    features = np.asarray(model_class.features)[0]
    difference = features[responses[:, 0]] - features[responses[:, 1]]
    expected = np.linalg.pinv(0.5 * difference) @ (1.5 * (log_probs[:, 0] - log_probs[:, 1]))
    gradient_fit = linear_rlhf_fit(model_class, np.zeros(2, int), responses, log_probs, 0.5)
    assert bool(gradient_fit.converged)
    np.testing.assert_allclose(np.asarray(gradient_fit.theta), expected, atol=1e-5)


def test_linear_min_norm_flags_a_binding_ball():
    model_class, theta_star, base = _linear(radius=0.5)
    responses = np.array([[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]])
    log_probs = np.log(np.asarray(base.probs))[0][responses]
    fit = linear_rlhf_min_norm_fit(model_class, np.zeros(5, int), responses, log_probs, 0.1)
    assert not bool(fit.converged)
    assert float(jnp.linalg.norm(fit.theta)) == pytest.approx(0.5)


@pytest.mark.slow
def test_rlhf_sharpen_min_norm_linear_is_jittable_and_exact():
    model_class, theta_star, base = _linear()
    result, _ = run_rlhf(jax.random.PRNGKey(0), Oracle(base), model_class, 30, 0.25, tie_break="min_norm")
    np.testing.assert_allclose(np.asarray(result.policy.theta), 5.0 * theta_star, atol=1e-7)
    assert bool(result.policy.converged)


def test_bad_tie_break_raises():
    base = TabularPolicy([[0.5, 0.5]])
    with pytest.raises(ValueError, match=r"tie_break must be one of \('pessimistic', 'min_norm'\), got 'optimistic'"):
        rlhf_sharpen(jax.random.PRNGKey(0), Oracle(base), TabularClass.like(base), 2, 0.5, tie_break="optimistic")
