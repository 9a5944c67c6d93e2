"""exact_sft against a brute-force enumeration written here, and Monte Carlo of sft_sharpen against exact_sft."""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom, chisquare, multinomial

import sharpsim  # noqa: F401  (float64)
from sharpsim.algorithms.sft import sft_sharpen
from sharpsim.classes import TabularClass
from sharpsim.referee.exact_sft import (
    exact_sft_error_distribution,
    exact_sft_expected_error,
    exact_sft_success_probability,
)
from sharpsim.core.oracle import Oracle
from sharpsim.core.policy import TabularPolicy
from sharpsim.referee.quantities import sharpening_error


def compositions(total, parts):
    if parts == 1:
        yield (total,)
        return
    for first in range(total + 1):
        for rest in compositions(total - first, parts - 1):
            yield (first,) + rest


def brute_force_error_law(probs, mu, n, big_n, delta, gamma):
    """Enumerate every prompt-count vector and every per-prompt pass/fail pattern."""
    num_prompts, num_responses = probs.shape
    in_argmax = probs >= (1 - gamma) * probs.max(axis=1, keepdims=True)
    hit = 1 - (1 - (probs * in_argmax).sum(axis=1)) ** big_n
    law, mean = {}, 0.0
    for counts in compositions(n, num_prompts):
        weight = multinomial.pmf(counts, n, mu) if n else 1.0
        if weight == 0:
            continue
        fail = []
        for x, c in enumerate(counts):
            if c == 0:
                fail.append(float(in_argmax[x].sum() / num_responses < 1 - delta))
            else:
                fail.append(sum(binom.pmf(k, c, hit[x]) for k in range(c + 1) if k / c < 1 - delta))
        for pattern in itertools.product([0, 1], repeat=num_prompts):
            p = weight * np.prod([f if b else 1 - f for f, b in zip(fail, pattern)])
            mean += p * float(np.dot(pattern, mu))
            value = round(float(np.dot(pattern, mu)), 9)
            law[value] = law.get(value, 0.0) + p
    values = np.array(sorted(law))
    return values, np.array([law[v] for v in values]), mean


def distribution_as_dict(values, probabilities):
    law = {}
    for v, p in zip(values, probabilities):
        law[round(float(v), 9)] = law.get(round(float(v), 9), 0.0) + p
    return law


@settings(deadline=None, max_examples=30, derandomize=True)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.sampled_from([2, 7]),  # few distinct n: each n compiles the incomplete-beta table once
    big_n=st.sampled_from([1, 2, 5, 40]),
    delta=st.sampled_from([0.5, 0.3, 0.05, 0.75, 1 / 3]),
    gamma=st.sampled_from([0.0, 0.3]),
    tie=st.booleans(),
    zero_mass_prompt=st.booleans(),
)
@pytest.mark.slow
def test_exact_law_equals_brute_force_enumeration(seed, n, big_n, delta, gamma, tie, zero_mass_prompt):
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.full(3, 0.7), size=3)
    if tie:
        probs[1] = [0.4, 0.4, 0.2]  # a two-way argmax set
    mu = rng.dirichlet(np.ones(3))
    if zero_mass_prompt:
        mu = np.array([0.0, mu[1], mu[0] + mu[2]])
    base = TabularPolicy(probs, mu)
    values, probabilities = exact_sft_error_distribution(base, n, big_n, delta, gamma)
    ref_values, ref_probabilities, ref_mean = brute_force_error_law(probs, mu, n, big_n, delta, gamma)
    ours, reference = distribution_as_dict(values, probabilities), distribution_as_dict(ref_values, ref_probabilities)
    for value in set(ours) | set(reference):
        assert ours.get(value, 0.0) == pytest.approx(reference.get(value, 0.0), abs=1e-11)
    expected = float(exact_sft_expected_error(base, n, big_n, delta, gamma))
    assert expected == pytest.approx(ref_mean, abs=1e-11)
    for eps in (0.0, 0.2, 0.5):
        assert exact_sft_success_probability(base, n, big_n, delta, eps, gamma) == pytest.approx(
            float(ref_probabilities[ref_values <= eps + 1e-9].sum()), abs=1e-11
        )


INSTANCES = {
    "skewed_mu": (np.array([[0.5, 0.3, 0.2], [0.2, 0.2, 0.6], [0.1, 0.45, 0.45]]), np.array([0.6, 0.3, 0.1]), 0.0),
    "gamma_and_zero_mass": (np.array([[0.4, 0.35, 0.25], [0.7, 0.2, 0.1], [0.3, 0.3, 0.4]]), np.array([0.5, 0.5, 0.0]), 0.2),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(INSTANCES))
def test_monte_carlo_of_sft_sharpen_matches_the_exact_law(name):
    probs, mu, gamma = INSTANCES[name]
    base, n, big_n, delta, seeds = TabularPolicy(probs, mu), 6, 2, 0.3, 4000
    model_class = TabularClass.like(base)

    @jax.jit
    def errors_of(keys):
        results = jax.vmap(lambda key: sft_sharpen(key, Oracle(base), model_class, n, big_n)[0])(keys)
        return jax.vmap(lambda policy: sharpening_error(policy, base, delta, gamma))(results.policy)

    errors = np.asarray(errors_of(jax.random.split(jax.random.PRNGKey(11), seeds)))
    values, probabilities = exact_sft_error_distribution(base, n, big_n, delta, gamma)
    index = np.abs(errors[:, None] - values[None, :]).argmin(axis=1)
    assert np.abs(errors - values[index]).max() < 1e-9  # every Monte Carlo error is a value the exact law allows
    observed = np.bincount(index, minlength=values.size)
    expected_counts = seeds * probabilities
    z = (observed - expected_counts) / np.sqrt(np.maximum(expected_counts * (1 - probabilities), 1e-12))
    assert np.all(np.abs(z[expected_counts > 5]) < 4.5)
    assert np.all(observed[expected_counts < 1e-6] == 0)
    keep = expected_counts > 5
    pooled_obs, pooled_exp = observed[keep], expected_counts[keep]
    if expected_counts[~keep].sum() > 0:  # pool the rare values into one bin
        pooled_obs = np.append(pooled_obs, observed[~keep].sum())
        pooled_exp = np.append(pooled_exp, expected_counts[~keep].sum())
    assert chisquare(pooled_obs, pooled_exp * pooled_obs.sum() / pooled_exp.sum()).pvalue > 1e-4
    mean = float(exact_sft_expected_error(base, n, big_n, delta, gamma))
    assert abs(errors.mean() - mean) < 4.5 * errors.std() / math.sqrt(seeds)


@pytest.mark.slow
def test_expected_error_is_jittable_and_vmaps_over_N_and_delta():
    base = TabularPolicy(INSTANCES["skewed_mu"][0], INSTANCES["skewed_mu"][1])
    big_ns = jnp.array([1, 4, 16, 64, 8, 8, 8])
    deltas = jnp.array([0.2, 0.2, 0.2, 0.2, 0.1, 0.3, 0.6])
    batched = np.asarray(jax.jit(jax.vmap(lambda b, d: exact_sft_expected_error(base, 7, b, d)))(big_ns, deltas))
    for big_n, delta, value in zip([1, 4, 16, 64, 8, 8, 8], [0.2, 0.2, 0.2, 0.2, 0.1, 0.3, 0.6], batched):
        assert value == pytest.approx(float(exact_sft_expected_error(base, 7, big_n, delta)), abs=1e-12)
    assert np.all(np.diff(batched[:4]) < 0)  # more samples per prompt, sharper picks
    assert np.all(np.diff(batched[4:]) <= 1e-15)  # the error is non-increasing in δ


@pytest.mark.slow
def test_large_n_and_N_drive_the_expected_error_to_zero_and_match_the_law_expectation():
    base = TabularPolicy(INSTANCES["skewed_mu"][0], INSTANCES["skewed_mu"][1])
    values, probabilities = exact_sft_error_distribution(base, 400, 50, 0.1)
    expected = float(exact_sft_expected_error(base, 400, 50, 0.1))
    assert expected == pytest.approx(float(values @ probabilities), abs=1e-12)
    assert expected < 1e-6


def test_exact_sft_bad_inputs():
    base = TabularPolicy(INSTANCES["skewed_mu"][0], INSTANCES["skewed_mu"][1])
    with pytest.raises(ValueError, match=r"delta must lie in \(0, 1\), got 0.0"):
        exact_sft_expected_error(base, 5, 2, 0.0)
    with pytest.raises(ValueError, match=r"delta must lie in \(0, 1\), got 1.0"):
        exact_sft_error_distribution(base, 5, 2, 1.0)
    with pytest.raises(ValueError, match="num_prompts must be an integer >= 1, got 0"):
        exact_sft_expected_error(base, 0, 2, 0.5)
    with pytest.raises(ValueError, match="num_samples must be an integer >= 1, got 0"):
        exact_sft_error_distribution(base, 3, 0, 0.5)
    with pytest.raises(ValueError, match=r"eps must lie in \[0, 1\), got 1.0"):
        exact_sft_success_probability(base, 3, 2, 0.5, 1.0)
    with pytest.raises(ValueError, match=r"gamma must lie in \[0, 1\)"):
        exact_sft_expected_error(base, 3, 2, 0.5, gamma=1.0)
    wide = TabularPolicy(np.full((12, 2), 0.5), np.random.default_rng(0).dirichlet(np.ones(12)))
    with pytest.raises(ValueError, match="more than max_states=64 distinct values"):
        exact_sft_error_distribution(wide, 3, 1, 0.9, max_states=64)
