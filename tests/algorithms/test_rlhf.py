"""Offline RLHF-Sharpening (Eq. 8): the regression loss against numpy, the exact tabular minimizer against a numpy
construction from the same data, recovery of π*_β with many pairs (tabular and linear softmax), query accounting,
jit/vmap, and validation messages."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sharpsim import TabularPolicy, kl_divergence
from sharpsim.algorithms import rlhf_regression_loss, rlhf_residuals, rlhf_sharpen
from sharpsim.classes import FiniteClass, LinearSoftmaxClass, TabularClass
from sharpsim.instances.registry import make
from sharpsim.referee.kl_regularized import power_policy
from sharpsim.core.oracle import Oracle

# one compilation per (shapes, n) instead of op-by-op dispatch; β is traced so it does not recompile
run_rlhf = jax.jit(rlhf_sharpen, static_argnames=("num_prompts",))


def np_loss(policy_lp, base_lp, beta, rewards=None, weights=None):
    """Σ_i w_i (β log(π(y)/π_b(y)) − β log(π(y')/π_b(y')) − (r(y) − r(y')))², by a loop."""
    rewards = base_lp if rewards is None else rewards
    total = 0.0
    for i in range(policy_lp.shape[0]):
        residual = (beta * (policy_lp[i, 0] - base_lp[i, 0]) - beta * (policy_lp[i, 1] - base_lp[i, 1])
                    - (rewards[i, 0] - rewards[i, 1]))
        total += (1.0 if weights is None else weights[i]) * residual**2
    return total


def test_regression_loss_matches_numpy():
    rng = np.random.default_rng(0)
    policy_lp, base_lp, rewards = (np.log(rng.dirichlet(np.ones(2), size=7)) for _ in range(3))
    weights = rng.uniform(size=7)
    for beta in (0.05, 1.0, 3.0):
        assert float(rlhf_regression_loss(policy_lp, base_lp, beta)) == pytest.approx(np_loss(policy_lp, base_lp, beta))
        assert float(rlhf_regression_loss(policy_lp, base_lp, beta, rewards, weights)) == pytest.approx(
            np_loss(policy_lp, base_lp, beta, rewards, weights))
    grad = jax.grad(lambda lp: rlhf_regression_loss(lp, base_lp, 0.5))(jnp.asarray(policy_lp))
    residuals = np.asarray(rlhf_residuals(policy_lp, base_lp, 0.5))
    np.testing.assert_allclose(np.asarray(grad), np.stack([2 * 0.5 * residuals, -2 * 0.5 * residuals], axis=1))


def test_regression_loss_is_zero_at_the_target():
    base = TabularPolicy([[0.5, 0.3, 0.2]])
    pairs = np.array([[0, 1], [2, 0], [1, 2], [1, 1]])
    base_lp = np.log(np.asarray(base.probs))[0][pairs]
    target_lp = np.log(np.asarray(power_policy(base, 0.3).probs))[0][pairs]
    assert float(rlhf_regression_loss(target_lp, base_lp, 0.3)) == pytest.approx(0.0, abs=1e-25)
    assert float(rlhf_regression_loss(base_lp, base_lp, 0.3)) > 0.1


def test_residuals_reject_mismatched_shapes():
    with pytest.raises(ValueError, match=r"must share a shape \[\.\.\., 2\] \(y, y'\); got \(3, 2\), \(3, 3\)"):
        rlhf_residuals(np.zeros((3, 2)), np.zeros((3, 3)), 0.5)


# ---- the tabular solver ------------------------------------------------------------------------------


def np_tabular_rule(prompts, responses, log_probs, beta, num_prompts, num_responses):
    """π*_β conditioned on the responses sampled at each prompt (uniform on prompts never drawn), from the data."""
    probs = np.full((num_prompts, num_responses), 1.0 / num_responses)
    for x in range(num_prompts):
        seen = {}
        for i in np.flatnonzero(prompts == x):
            for j in range(2):
                seen[int(responses[i, j])] = float(log_probs[i, j])
        if seen:
            top = max(seen.values())
            row = np.zeros(num_responses)
            for y, lp in seen.items():
                row[y] = np.exp((1 + 1 / beta) * (lp - top))
            probs[x] = row / row.sum()
    return probs


@pytest.mark.slow
@pytest.mark.parametrize("num_pairs,beta", [(40, 0.5), (40, 0.1), (40, 2.0), (40, 1e-3)])
def test_tabular_solution_is_the_conditioned_target(num_pairs, beta):
    base = make("dirichlet", key=jax.random.PRNGKey(1), num_prompts=5, num_responses=6)
    result, oracle = run_rlhf(jax.random.PRNGKey(2), Oracle(base), TabularClass.like(base), num_prompts=num_pairs,
                              beta=beta)
    prompts, responses, log_probs = (np.asarray(a) for a in (result.prompts, result.responses, result.log_probs))
    np.testing.assert_allclose(log_probs, np.log(np.asarray(base.probs))[prompts[:, None], responses], rtol=1e-12)
    expected = np_tabular_rule(prompts, responses, log_probs, beta, 5, 6)
    np.testing.assert_allclose(np.asarray(result.policy.probs), expected, rtol=1e-10, atol=1e-300)
    assert float(result.loss) == pytest.approx(0.0, abs=1e-20)
    assert (int(result.queries.prompts), int(result.queries.samples), int(result.queries.evaluations)) == (
        num_pairs, 2 * num_pairs, 0)
    assert int(oracle.queries.samples) == 2 * num_pairs


@pytest.mark.slow
def test_tabular_recovers_the_target_with_many_pairs():
    """Realizable tabular class: KL(π̂ ‖ π*_β) → 0 as n grows (here exactly 0 once every response is seen)."""
    base = make("near_tie", num_prompts=4, num_responses=8, coverage=3.0, margin=0.2)
    target = power_policy(base, 0.2)
    def mean_kl(n):
        run = jax.jit(jax.vmap(lambda key: kl_divergence(
            rlhf_sharpen(key, Oracle(base), TabularClass.like(base), n, 0.2)[0].policy, target)))
        return np.asarray(run(jax.random.split(jax.random.PRNGKey(0), 16)))

    kls = {n: mean_kl(n) for n in (4, 2048)}
    assert kls[4].mean() > kls[2048].mean()
    assert kls[4].mean() > 1e-2  # with 4 pairs some responses (or prompts) are unseen
    assert kls[2048].max() < 1e-12  # every response seen: π̂ = π*_β exactly


def test_tiny_beta_gives_no_nan():
    base = make("near_tie", num_prompts=5, num_responses=6, coverage=3.0, margin=1e-6)
    result, _ = run_rlhf(jax.random.PRNGKey(0), Oracle(base), TabularClass.like(base), num_prompts=200, beta=1e-300)
    probs = np.asarray(result.policy.probs)
    assert np.all(np.isfinite(probs)) and np.isfinite(float(result.loss))
    np.testing.assert_allclose(probs[:, 0], 1.0)


# ---- linear softmax ------------------------------------------------------------------------------------


def _linear_instance(max_steps=5000):
    features = np.asarray(jax.random.normal(jax.random.PRNGKey(7), (3, 10, 4))) / 2
    model_class = LinearSoftmaxClass(features, 10.0, max_steps=max_steps)
    theta_star = np.array([0.5, -0.3, 0.2, 0.1])
    return model_class, theta_star, model_class.policy(theta_star)


@pytest.mark.slow
def test_linear_softmax_recovers_scaled_theta():
    """π_base = π_θ*, so π*_β = π_{(1+1/β)θ*} ∈ Π_{φ,B} (‖·‖ = 3.1 ≤ B = 10): Eq. 8's minimizer is (1+1/β)θ*."""
    model_class, theta_star, base = _linear_instance()
    result, _ = run_rlhf(jax.random.PRNGKey(3), Oracle(base), model_class, num_prompts=512, beta=0.25)
    fit = result.policy
    assert bool(fit.converged) and int(fit.num_steps) < model_class.max_steps
    np.testing.assert_allclose(np.asarray(fit.theta), 5 * theta_star, atol=1e-5)
    assert float(kl_divergence(fit.to_tabular(), power_policy(base, 0.25))) < 1e-9
    features = np.asarray(model_class.features)
    logits = features @ np.asarray(fit.theta)
    log_pi = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    prompts, responses = np.asarray(result.prompts), np.asarray(result.responses)
    expected = np_loss(log_pi[prompts[:, None], responses], np.asarray(result.log_probs), 0.25)
    assert float(result.loss) == pytest.approx(expected, rel=1e-6, abs=1e-12)
    assert int(result.queries.samples) == 1024


@pytest.mark.slow  # compiles several jitted programs; the slow suite (CI) runs it
def test_linear_softmax_reports_non_convergence():
    model_class, _, base = _linear_instance(max_steps=2)
    result, _ = run_rlhf(jax.random.PRNGKey(3), Oracle(base), model_class, num_prompts=512, beta=0.25)
    assert not bool(result.policy.converged) and int(result.policy.num_steps) == 2
    assert float(result.policy.gradient_mapping_norm) > model_class.tolerance


# ---- validation ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(beta=0.0), ValueError, r"beta must lie in \(0, inf\), got 0.0"),
    (dict(beta=-2.0), ValueError, r"beta must lie in \(0, inf\), got -2.0"),
    (dict(beta=float("inf")), ValueError, r"beta must lie in \(0, inf\), got inf"),
    (dict(num_prompts=0), ValueError, "num_prompts must be an integer >= 1, got 0"),
    (dict(num_prompts=2.5), TypeError, r"num_prompts must be an integer >= 1, got 2.5"),
])
def test_bad_hyper_parameters_raise(kwargs, error, match):
    base = TabularPolicy([[0.6, 0.4]])
    args = dict(num_prompts=4, beta=0.5) | kwargs
    with pytest.raises(error, match=match):
        rlhf_sharpen(jax.random.PRNGKey(0), Oracle(base), TabularClass.like(base), **args)


def test_bad_classes_raise():
    base = TabularPolicy([[0.6, 0.4]])
    with pytest.raises(TypeError, match="rlhf_sharpen fits TabularClass .* or LinearSoftmaxClass .*; got FiniteClass"):
        rlhf_sharpen(jax.random.PRNGKey(0), Oracle(base), FiniteClass(np.asarray(base.probs)[None]), 4, 0.5)
    with pytest.raises(ValueError, match="model_class has num_responses=3 but the oracle's base policy has "
                                         "num_responses=2"):
        rlhf_sharpen(jax.random.PRNGKey(0), Oracle(base), TabularClass(3, num_prompts=1), 4, 0.5)


@pytest.mark.slow
def test_autoregressive_base_is_refused_with_the_fix():
    from sharpsim.instances.autoregressive import bitstring

    base = bitstring(horizon=2, coverage=2.0, key=jax.random.PRNGKey(0), num_prompts=1)
    with pytest.raises(TypeError, match=r"rlhf_sharpen needs a base over a finite response set .* "
                                        r"autoregressive .* Pass Oracle\(base.to_tabular\(\)\)"):
        rlhf_sharpen(jax.random.PRNGKey(0), Oracle(base), TabularClass.like(base.to_tabular()), 4, 0.5)
    tabular = base.to_tabular()  # the suggested fix runs
    result, _ = rlhf_sharpen(jax.random.PRNGKey(0), Oracle(tabular), TabularClass.like(tabular), 4, 0.5)
    np.testing.assert_allclose(np.asarray(result.policy.probs).sum(-1), 1.0, rtol=1e-12)
