"""The Bayes learner on App. H's hard family: its posterior against brute force over all of [M]^d, its
error against an exact numpy computation, Lemma H.3 as a statistical property, and "never worse than SFT on
the same data"."""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sharpsim  # noqa: F401
from sharpsim.algorithms.bayes_hard import (adaptive_bayes_hard_learner, bayes_hard_learner, hard_posterior,
                                            observation_sets)
from sharpsim.algorithms.sft import sft_sharpen
from sharpsim.instances.hard import HardClass
from sharpsim.core.oracle import Oracle
from sharpsim.measure.statistics import wilson_interval

TINY = HardClass(2, 4, 0.6)  # a = 1/2, b = 1/6: [M]^d has 16 members
TINY_N, TINY_SAMPLES = 5, 2


@jax.jit
def _tiny_data(key):
    key_index, key_prompts, key_samples = jax.random.split(key, 3)
    oracle = Oracle(TINY.random_member(key_index))
    prompts, oracle = oracle.draw_prompts(key_prompts, TINY_N)
    batch, _ = oracle.sample(key_samples, prompts, TINY_SAMPLES)
    posterior = hard_posterior(TINY, prompts, batch.responses, batch.log_probs)
    return prompts, batch.responses, batch.log_probs, posterior


def brute_force_posterior(d, M, gamma, prompts, responses, log_probs):
    """Enumerate every I ∈ [M]^d, multiply π^I(y|x)·1{ℓ = log π^I(y|x)} over the answers, normalize."""
    a = 1.0 / ((1.0 - gamma) * M)
    b = (1.0 - a) / (M - 1)
    members = list(itertools.product(range(M), repeat=d))
    likelihood = np.ones(len(members))
    for k, member in enumerate(members):
        for x, ys, ls in zip(prompts, responses, log_probs):
            for y, ell in zip(ys, ls):
                if x == 0:
                    p = 1.0 if y == 0 else 0.0
                else:
                    p = a if y == member[x - 1] + 1 else (b if 1 <= y <= M else 0.0)
                consistent = p > 0 and math.isclose(ell, math.log(p), rel_tol=1e-12, abs_tol=1e-12)
                likelihood[k] *= p if consistent else 0.0
    joint = likelihood / likelihood.sum()
    marginals = np.zeros((d, M))
    for k, member in enumerate(members):
        for i in range(d):
            marginals[i, member[i]] += joint[k]
    return members, joint, marginals


@settings(deadline=None, max_examples=40, derandomize=True)
@given(st.integers(0, 2**31 - 1))
def test_posterior_matches_brute_force_over_all_members(seed):
    prompts, responses, log_probs, posterior = map(np.asarray, _tiny_data(jax.random.PRNGKey(seed)))
    members, joint, marginals = brute_force_posterior(2, 4, 0.5, prompts, responses, log_probs)
    np.testing.assert_allclose(posterior, marginals, atol=1e-12)
    product = np.array([posterior[0, i] * posterior[1, j] for i, j in members])
    np.testing.assert_allclose(product, joint, atol=1e-12)  # the posterior factorizes over prompts


def test_posterior_cases_written_out():
    """Revealed argmax → point mass; only non-argmax draws → uniform on the unseen; unseen prompt → uniform."""
    model_class = HardClass(3, 5, 0.5)  # a = 2/5, b = 3/20
    a, b = math.log(2 / 5), math.log(3 / 20)
    prompts = jnp.array([1, 1, 2, 0])
    responses = jnp.array([[2, 4], [5, 2], [3, 1], [0, 0]])
    log_probs = jnp.array([[b, a], [b, b], [b, b], [0.0, 0.0]])
    posterior = np.asarray(hard_posterior(model_class, prompts, responses, log_probs))
    np.testing.assert_allclose(posterior[0], [0, 0, 0, 1, 0])
    np.testing.assert_allclose(posterior[1], [0, 1 / 3, 0, 1 / 3, 1 / 3])
    np.testing.assert_allclose(posterior[2], [1 / 5] * 5)
    masked = np.asarray(hard_posterior(model_class, prompts, responses, log_probs, weights=jnp.array([0, 1, 1, 1])))
    np.testing.assert_allclose(masked[0], [1 / 3, 0, 1 / 3, 1 / 3, 0])  # the reveal was in a masked prompt


def exact_bayes_error(d, M, delta, m):
    """Coordinate error of the N = 1 Bayes learner after m samples, in numpy: K ~ Bin(m, Δ/d) draws at x_i;
    none is the argmax w.p. (1 − a)^K, and then the K draws are uniform on the M − 1 others with D distinct
    (occupancy recursion), and the posterior mode is right w.p. 1/(M − D)."""
    a = 2.0 / M
    k = np.arange(m + 1)
    log_binom = np.array([math.lgamma(m + 1) - math.lgamma(j + 1) - math.lgamma(m - j + 1) for j in k])
    weights = np.exp(log_binom + k * math.log(delta / d) + (m - k) * math.log1p(-delta / d))
    occupancy = np.zeros(M)  # P(D = j) for j = 0..M−1
    occupancy[0] = 1.0
    error = 0.0
    for draws in range(m + 1):
        conditional = np.sum(occupancy * (1.0 - 1.0 / (M - np.arange(M))))
        error += weights[draws] * (1.0 - a) ** draws * conditional
        stay = occupancy * np.arange(M) / (M - 1)
        move = np.concatenate([[0.0], occupancy[:-1] * (M - 1 - np.arange(M - 1)) / (M - 1)])
        occupancy = stay + move
    return error


LEMMA = HardClass(4, 16, 0.25)  # M ≥ 8 as Lemma H.3 requires; dM/Δ = 256


@jax.jit
def _coordinate_errors(keys, budget):
    """[seeds, d] errors of the Bayes learner with n = budget/N prompts of N samples (n_max = 512 prompts)."""
    def one(key):
        key_index, key_run = jax.random.split(key)
        base = LEMMA.random_member(key_index)
        result, _ = bayes_hard_learner(key_run, Oracle(base), LEMMA, 512, 1, budget)
        return result.index != base.index
    return jax.vmap(one)(keys)


@pytest.mark.slow
def test_bayes_error_matches_the_exact_computation():
    keys = jax.random.split(jax.random.PRNGKey(11), 1500)
    for m in (64, 256):
        errors = np.asarray(_coordinate_errors(keys, m))
        exact = exact_bayes_error(4, 16, 0.25, m)
        standard_error = math.sqrt(exact * (1 - exact) / errors.size) * 2.0  # coordinates of a seed correlate
        assert abs(errors.mean() - exact) < 4 * standard_error, (m, errors.mean(), exact)


@pytest.mark.slow
def test_lemma_h3_error_at_least_one_eighth_below_c_dM_over_delta():
    """Lemma H.3 (M ≥ 8): with m ≤ c·dM/Δ every coordinate has error ≥ 1/8. Here c = 1/2, for the Bayes
    learner (the best non-adaptive learner, N = 1, at m and at c = 1/4) and for the split N = 8 samples per
    prompt (Bayes on that data): the 95% Wilson lower bound of the error must clear 1/8. At m = 8·dM/Δ the
    exact error is far below 1/8, so the lemma's regime is not vacuous."""
    keys = jax.random.split(jax.random.PRNGKey(5), 600)
    for m in (64, 128):  # c = 1/4, 1/2
        errors = np.asarray(_coordinate_errors(keys, m))
        low, _ = wilson_interval(int(errors.sum()), errors.size)
        assert float(low) >= 1 / 8, (m, errors.mean())
    split = np.asarray(_split_errors(keys))
    low, _ = wilson_interval(int(split.sum()), split.size)
    assert float(low) >= 1 / 8, split.mean()
    assert exact_bayes_error(4, 16, 0.25, 8 * 256) < 1 / 64


@jax.jit
def _split_errors(keys):
    """m = 128 = (dM/Δ)/2 spent as 16 prompts × 8 samples."""
    def one(key):
        key_index, key_run = jax.random.split(key)
        base = LEMMA.random_member(key_index)
        result, _ = bayes_hard_learner(key_run, Oracle(base), LEMMA, 16, 8)
        return result.index != base.index
    return jax.vmap(one)(keys)


@pytest.mark.slow
@pytest.mark.parametrize("num_prompts,num_samples", [(40, 1), (12, 6), (6, 20)])
def test_bayes_never_worse_than_sft_on_the_same_data(num_prompts, num_samples):
    """Same key ⇒ same prompts and samples; wherever SFT's MLE (over the realizable BoN class) is right, so is
    the Bayes learner — pathwise, not just on average."""
    model_class = HardClass(3, 8, 0.5)
    fit_class = model_class.bon_class(num_samples)

    def one(key):
        key_index, key_run = jax.random.split(key)
        base = model_class.random_member(key_index)
        oracle = Oracle(base)
        bayes, _ = bayes_hard_learner(key_run, oracle, model_class, num_prompts, num_samples)
        sft, _ = sft_sharpen(key_run, oracle, fit_class, num_prompts, num_samples)
        truth = base.index
        sft_right = (sft.policy.index == truth) & (fit_class.top_mass > 0.5)
        visits = jnp.zeros(model_class.num_prompts, jnp.int64).at[sft.prompts].add(num_samples)[1:]
        return bayes.index == truth, sft_right, visits, bayes.samples_per_prompt

    bayes_right, sft_right, sft_visits, bayes_visits = map(
        np.asarray, jax.jit(jax.vmap(one))(jax.random.split(jax.random.PRNGKey(3), 400)))
    assert np.array_equal(sft_visits, bayes_visits)  # the same data
    assert not np.any(sft_right & ~bayes_right)
    assert bayes_right.mean() >= sft_right.mean()


@pytest.mark.slow
def test_adaptive_learner_samples_until_revealed():
    """Visited coordinates are always right (the argmax is revealed), unvisited ones cost nothing, and the
    samples at a visited prompt are geometric with mean 1/a = M/2 (Lemma H.4's E[m_i] ≳ M)."""
    model_class = HardClass(4, 16, 0.25)

    def one(key):
        key_index, key_run = jax.random.split(key)
        base = model_class.random_member(key_index)
        result, charged = adaptive_bayes_hard_learner(key_run, Oracle(base), model_class, 20, 400)
        return (result.index == base.index, result.samples_per_prompt, result.queries.samples,
                charged.queries.samples, result.hit_cap)

    right, spent, samples, charged, hit_cap = map(np.asarray, jax.jit(jax.vmap(one))(
        jax.random.split(jax.random.PRNGKey(9), 1000)))
    visited = spent > 0
    assert np.all(right[visited]) and not hit_cap.any()
    assert np.array_equal(samples, spent.sum(axis=1)) and np.array_equal(samples, charged)
    mean, count = spent[visited].mean(), visited.sum()
    assert abs(mean - 8.0) < 4 * math.sqrt(8.0 * 7.0 / count)  # geometric(1/8): mean 8, variance 56


def test_one_compilation_serves_every_budget_and_size():
    padded = HardClass(2, 5, 0.5, max_rare=4, max_candidates=10)

    @jax.jit
    def run(d, M, budget, key):
        model_class = HardClass(d, M, 0.5, max_rare=4, max_candidates=10)
        result, _ = bayes_hard_learner(key, Oracle(model_class.random_member(key)), model_class, 64, 1, budget)
        return result.queries.samples

    assert int(run(2, 5, 10, jax.random.PRNGKey(0))) == 10
    assert int(run(4, 10, 33, jax.random.PRNGKey(1))) == 33
    assert run._cache_size() == 1
    assert padded.max_rare == 4


def test_bad_inputs_are_refused():
    model_class = HardClass(2, 5, 0.5)
    oracle = Oracle(model_class.random_member(jax.random.PRNGKey(0)))
    key = jax.random.PRNGKey(1)
    with pytest.raises(TypeError, match="model_class must be the hard family's HardClass, got str"):
        bayes_hard_learner(key, oracle, "tabular", 4)
    with pytest.raises(ValueError, match="num_prompts must be an integer >= 1, got 0"):
        bayes_hard_learner(key, oracle, model_class, 0)
    with pytest.raises(ValueError, match="num_active must be <= num_prompts=4, got 5"):
        bayes_hard_learner(key, oracle, model_class, 4, 1, 5)
    with pytest.raises(ValueError, match="num_active must be <= num_prompts=4, got 9"):
        adaptive_bayes_hard_learner(key, oracle, model_class, 4, 10, 9)
    with pytest.raises(ValueError, match="max_samples must be an integer >= 1, got 0"):
        adaptive_bayes_hard_learner(key, oracle, model_class, 4, 0)
    with pytest.raises(ValueError, match=r"need prompts \[n\] and responses, log_probs \[n, N\]"):
        observation_sets(model_class, jnp.array([1, 2]), jnp.array([[1, 2]]), jnp.array([[0.0, 0.0]]))
