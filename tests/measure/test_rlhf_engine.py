"""measure.rlhf_engine: Theorem J.2's constants against the formulas written here, the pair-dropping identity and
offline RLHF's noiseless solution against numpy, and XPO's success curves against separate runs of XPO."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sharpsim.algorithms.rlhf import linear_rlhf_fit
from sharpsim.algorithms.xpo import xpo_sharpen
from sharpsim.core.oracle import Oracle
from sharpsim.instances.sphere import sphere
from sharpsim.measure.rlhf_engine import offline_rlhf_success, xpo_constants, xpo_success_curves

DELTA = 0.1


@pytest.mark.parametrize("dimension,rounds,eps", [(8, 40, 0.1), (5, 7, 0.3)])
def test_xpo_constants_follow_the_theorems(dimension, rounds, eps):
    instance = sphere(dimension, delta=DELTA)
    got = xpo_constants(instance, rounds, DELTA, eps)
    size, radius, d = instance.num_responses, instance.radius, dimension
    beta = instance.margin / (2 * math.log(2 * size / DELTA))  # Theorem J.2 (γ_margin < 2.5 here)
    reward = math.sqrt(4 * beta**2 * radius**2 + (2 * radius + math.log(size)) ** 2)  # Theorem J.3
    sec = d * math.log(rounds + 1)  # Lemma J.5
    eps_disc = eps * DELTA / math.sqrt(sec * rounds)
    log_net = d * math.log(6 * radius / eps_disc)  # Lemma J.4
    alpha = beta / reward * math.sqrt((math.log(2) + log_net + math.log(rounds) + math.log(1 / DELTA)) / (sec * rounds))
    assert got["beta"] == pytest.approx(beta, rel=1e-12)
    assert got["reward_range"] == pytest.approx(reward, rel=1e-12)
    assert got["sec"] == pytest.approx(sec, rel=1e-12)
    assert got["log_net_size"] == pytest.approx(log_net, rel=1e-12)
    assert got["alpha_thm"] == pytest.approx(alpha, rel=1e-12)
    assert instance.realizes(beta)


@pytest.mark.parametrize("name,value,pattern", [("num_rounds", 0, "num_rounds must be an integer >= 1, got 0"),
                                                ("delta", 1.5, r"delta must lie in \(0, 1\), got 1.5"),
                                                ("eps", 0.0, r"eps must lie in \(0, 1\), got 0.0")])
def test_xpo_constants_refuse_bad_arguments(name, value, pattern):
    arguments = {"num_rounds": 10, "delta": DELTA, "eps": 0.1, name: value}
    with pytest.raises(ValueError, match=pattern):
        xpo_constants(sphere(4), **arguments)


@pytest.mark.slow
def test_dropped_pairs_are_exactly_absent_from_the_offline_fit():
    """Replacing pair (y, y') by (y, y) zeroes its residual for every θ, so the masked fit equals the fit on the
    kept pairs (the identity ``offline_rlhf_success`` relies on)."""
    instance = sphere(6, scale=2.0)
    beta = 0.2
    oracle = Oracle(instance.policy)
    prompts, oracle = oracle.draw_prompts(jax.random.PRNGKey(1), 20)
    batch, _ = oracle.sample(jax.random.PRNGKey(2), prompts, 2)
    kept = 9
    keep = (jnp.arange(20) < kept)[:, None]
    masked = linear_rlhf_fit(instance.model_class, prompts, jnp.where(keep, batch.responses, batch.responses[:, :1]),
                             jnp.where(keep, batch.log_probs, batch.log_probs[:, :1]), beta)
    truncated = linear_rlhf_fit(instance.model_class, prompts[:kept], batch.responses[:kept],
                                batch.log_probs[:kept], beta)
    assert bool(masked.converged) and bool(truncated.converged)
    np.testing.assert_allclose(masked.policy.probs, truncated.policy.probs, atol=1e-5)


def _numpy_target_mass(instance, beta):
    """π_{(1+1/β)θ*}(y*): the noiseless regression's solution once the pair differences span R^d."""
    logits = np.asarray(instance.features[0]) @ ((1 + 1 / beta) * np.asarray(instance.theta_star))
    return float(np.exp(logits[instance.optimum] - np.logaddexp.reduce(logits)))


@pytest.mark.slow
@pytest.mark.parametrize("scale", [0.5, 2.0])
def test_offline_rlhf_success_with_no_pairs_and_with_many(scale):
    """0 pairs: θ = 0, the uniform policy, never sharp. 48 pairs in d = 6: the fit identifies π*_β, so success is
    numpy's π_{(1+1/β)θ*}(y*) ≥ 1 − δ."""
    instance = sphere(6, scale=scale, delta=DELTA)
    beta = xpo_constants(instance, 10, DELTA, 0.1)["beta"]
    assert instance.realizes(beta)
    keys = jax.random.split(jax.random.PRNGKey(7), 6)
    none = np.asarray(offline_rlhf_success(instance.policy, instance.model_class, keys, beta, instance.optimum, 0,
                                           48, DELTA))
    many = np.asarray(offline_rlhf_success(instance.policy, instance.model_class, keys, beta, instance.optimum, 48,
                                           48, DELTA))
    assert not none.any()
    expected = _numpy_target_mass(instance, beta) >= 1 - DELTA
    assert abs(_numpy_target_mass(instance, beta) - (1 - DELTA)) > 1e-3  # not a borderline case
    assert np.all(many == expected)
    assert offline_rlhf_success.trace_count >= 1


def test_offline_rlhf_success_refuses_bad_sizes():
    instance = sphere(4)
    keys = jax.random.split(jax.random.PRNGKey(0), 2)
    with pytest.raises(ValueError, match="max_pairs must be an integer >= 1, got 0"):
        offline_rlhf_success(instance.policy, instance.model_class, keys, 0.1, instance.optimum, 0, 0, DELTA)
    with pytest.raises(ValueError, match=r"delta must lie in \(0, 1\), got 0.0"):
        offline_rlhf_success(instance.policy, instance.model_class, keys, 0.1, instance.optimum, 1, 4, 0.0)


def _separate_runs(instance, keys, beta, alpha, reward_range, rounds):
    """π̂(y*) of separate ``rounds``-round runs of XPO, with β, α and R_max traced as in the engine (XPO's Adam steps
    on near-zero gradients amplify rounding, so a constant-folded β would follow a different trajectory)."""

    def mass(key, beta, alpha, reward_range):
        result, _ = xpo_sharpen(key, Oracle(instance.policy), instance.model_class, rounds, beta, alpha, num_steps=5,
                                num_validation=4, learning_rate=0.5, reward_range=reward_range, value_range=0.0)
        return result.policy.probs[0, instance.optimum]

    run = jax.jit(jax.vmap(mass, in_axes=(0, None, None, None)))
    return np.asarray(run(keys, beta, jnp.asarray(alpha), reward_range))


@pytest.mark.slow
def test_xpo_success_curves_match_separate_runs_and_count_queries():
    """Column T of the curves is the output of a separate T-round run of XPO; α is traced (one compilation)."""
    instance = sphere(4, delta=DELTA)
    fixed = xpo_constants(instance, 6, DELTA, 0.1)
    keys = jax.random.split(jax.random.PRNGKey(11), 3)
    settings = dict(delta=DELTA, num_steps=5, num_validation=4, learning_rate=0.5)
    before = xpo_success_curves.trace_count
    curves = [xpo_success_curves(instance.policy, instance.model_class, keys, fixed["beta"], jnp.asarray(alpha),
                                 fixed["reward_range"], instance.optimum, 6, **settings) for alpha in (0.0, 1e-4)]
    assert xpo_success_curves.trace_count - before <= 1
    success = np.asarray(curves[0].success)
    assert success.shape == (3, 7)
    for rounds in (1, 4):
        separate = _separate_runs(instance, keys, fixed["beta"], 0.0, fixed["reward_range"], rounds)
        np.testing.assert_array_equal(success[:, rounds], separate >= 1 - DELTA)
    # Thm J.2's accounting: one sample and one evaluation per round; validation: V evaluations per iterate
    np.testing.assert_array_equal(np.asarray(curves[0].training_queries), 2 * 6)
    np.testing.assert_array_equal(np.asarray(curves[0].charged_queries), 2 * 6 + 7 * 4)
    assert np.all((np.asarray(curves[0].last_iterate_mass) > 0) & (np.asarray(curves[0].last_iterate_mass) < 1))
