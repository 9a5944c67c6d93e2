"""Tests for the exact-in-law SFT engines (sharpsim.referee.sft_laws): against the exact success probability
(exact_sft), against the oracle-based algorithms, and the AdaBoN hit law against a closed form by hand."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sharpsim.algorithms.adaptive_sft import adaptive_sft_sharpen
from sharpsim.algorithms.sft import sft_sharpen
from sharpsim.classes import TabularClass
from sharpsim.core.oracle import Oracle
from sharpsim.instances.rare_prompt import rare_prompt_instance
from sharpsim.measure.statistics import wilson_interval
from sharpsim.referee import sft_laws
from sharpsim.referee.exact_sft import exact_sft_success_probability
from sharpsim.referee.quantities import sharpening_error

EPS, DELTA = 0.1, 0.25


def rare_instance():
    return rare_prompt_instance(4, 10, 2 * EPS)


@pytest.mark.slow
def test_law_engine_matches_exact_and_oracle():
    """The law engine's success fraction agrees with the exact P[err ≤ ε] (exact_sft) and with sft_sharpen
    run through the oracle."""
    policy = rare_instance()
    model_class = TabularClass.like(policy)
    n, big_n, seeds = 40, 6, 600
    exact = exact_sft_success_probability(policy, n, big_n, DELTA, EPS)
    assert 0.2 < exact < 0.95  # an informative budget
    keys = jax.random.split(jax.random.PRNGKey(0), seeds)
    law = np.asarray(sft_laws.sft_success_law(policy, model_class, keys, jnp.asarray(n), jnp.asarray(float(big_n)),
                                              EPS, DELTA, 64))
    low, high = wilson_interval(law.sum(), seeds, confidence=0.999)
    assert low <= exact <= high
    run = jax.jit(jax.vmap(lambda k: sharpening_error(sft_sharpen(k, Oracle(policy), model_class, n, big_n)[0].policy,
                                                      policy, DELTA) <= EPS))
    oracle = np.asarray(run(jax.random.split(jax.random.PRNGKey(1), seeds)))
    low, high = wilson_interval(oracle.sum(), seeds, confidence=0.999)
    assert low <= exact <= high


@pytest.mark.slow  # compile-heavy (seconds): the slow suite runs it
def test_law_engine_masks_padding():
    # only the first n of the max_prompts padded pairs count (same compilation as the test above)
    policy = rare_instance()
    model_class = TabularClass.like(policy)
    keys = jax.random.split(jax.random.PRNGKey(2), 600)  # 600 seeds, like the test above: no recompilation
    small = sft_laws.sft_success_law(policy, model_class, keys, jnp.asarray(30), jnp.asarray(8.0), EPS, DELTA, 64)
    exact = exact_sft_success_probability(policy, 30, 8, DELTA, EPS)
    low, high = wilson_interval(int(np.sum(small)), 600, confidence=0.999)
    assert low <= exact <= high
    # n = 0 prompts would leave every rare prompt unseen: never sharp
    none = sft_laws.sft_success_law(policy, model_class, keys, jnp.asarray(0), jnp.asarray(8.0), EPS, DELTA, 64)
    assert not np.any(np.asarray(none))


def test_adaptive_hit_law_closed_form_and_lemma_i1():
    policy = rare_instance()
    mu = math.log(2 / DELTA)
    hit, expected = sft_laws.adaptive_hit_law(policy, mu, 400)
    hit, expected = np.asarray(hit), np.asarray(expected)
    m = 10
    q = (1 - 2 / m) / (m - 1)
    # x0 is deterministic: stops at ⌈μ⌉ with a sure hit; a rare prompt misses iff y* is unseen in ⌈μ/q⌉ draws
    assert hit[0] == pytest.approx(1.0) and expected[0] == pytest.approx(math.ceil(mu))
    assert hit[1:] == pytest.approx(1 - (1 - 2 / m) ** math.ceil(mu / q), rel=1e-12)
    # E[N_μ] = Σ_k P(N_μ > k) by hand: N_μ = min(max(T, ⌈μ/p*⌉), ⌈μ/q⌉), T geometric(p*)
    k_star, k_q = math.ceil(mu / (2 / m)), math.ceil(mu / q)
    by_hand = sum(1.0 if k < k_star else (1 - 2 / m) ** k for k in range(k_q))
    assert expected[1:] == pytest.approx(by_hand, rel=1e-12)
    # Lemma I.1: E[N_μ] ≤ (μ + 1/|y*|)/P*, miss ≤ e^{−μ}
    assert np.all(expected[1:] <= (mu + 1) / (2 / m)) and np.all(1 - hit <= math.exp(-mu))


@pytest.mark.slow
def test_adaptive_hit_law_matches_algorithm():
    policy = rare_prompt_instance(2, 6, 0.5)
    mu, cap, seeds, n = 1.5, 64, 200, 60
    hit, expected = sft_laws.adaptive_hit_law(policy, mu, cap)
    run = jax.jit(jax.vmap(lambda k: adaptive_sft_sharpen(k, Oracle(policy), TabularClass.like(policy), n, mu, cap)[0]))
    result = run(jax.random.split(jax.random.PRNGKey(3), seeds))
    prompts = np.asarray(result.prompts).ravel()
    responses = np.asarray(result.responses).ravel()
    used = np.asarray(result.samples_per_prompt).ravel()
    top = np.asarray(policy.probs).argmax(axis=1)
    for x in range(3):
        chosen = prompts == x
        hits = int(np.sum(responses[chosen] == top[x]))
        low, high = wilson_interval(hits, int(chosen.sum()), confidence=0.999)
        assert low - 1e-12 <= float(hit[x]) <= high + 1e-12
        spread = used[chosen].std(ddof=1) / math.sqrt(chosen.sum()) + 1e-9
        assert abs(used[chosen].mean() - float(expected[x])) <= 5 * spread


def test_adaptive_pick_law():
    policy = rare_instance()
    hit = jnp.array([1.0, 0.9, 0.8, 0.7, 0.6])
    law = np.asarray(sft_laws.adaptive_pick_law(policy, hit))
    assert np.allclose(law.sum(axis=1), 1)
    top = np.asarray(policy.probs).argmax(axis=1)
    assert np.allclose(law[np.arange(5), top], hit)
    # the rest sits on a response outside the argmax set that the base can produce
    for x in range(1, 5):
        other = np.flatnonzero((law[x] > 0) & (np.arange(law.shape[1]) != top[x]))
        assert other.size == 1 and np.asarray(policy.probs)[x, other[0]] > 0


def test_adaptive_success_law_all_hits_is_sure_success():
    # every pick a hit (hit = 1) and enough prompts to see all of them: the tabular MLE is sharp on every prompt
    # drawn, so success is exactly "every rare prompt drawn", P = 1 − P[some rare prompt unseen] (inclusion-exclusion)
    policy = rare_instance()
    keys = jax.random.split(jax.random.PRNGKey(6), 600)
    n, d, mass = 40, 4, 2 * EPS
    wins = np.asarray(sft_laws.adaptive_success_law(policy, TabularClass.like(policy), jnp.ones(5), keys,
                                                    jnp.asarray(n), 0.0, DELTA, 64))
    # ε = 0: every positive-mass prompt must be sharp; unseen prompts are not
    unseen = sum((-1) ** (k + 1) * math.comb(d, k) * (1 - k * mass / d) ** n for k in range(1, d + 1))
    low, high = wilson_interval(int(wins.sum()), 600, confidence=0.999)
    assert low <= 1 - unseen <= high


def test_adaptive_hit_law_padding_and_cap():
    policy = rare_instance()
    mu = math.log(2 / DELTA)
    for cap in (3, 17, 60):
        plain = sft_laws.adaptive_hit_law(policy, mu, cap)
        padded = sft_laws.adaptive_hit_law(policy, mu, cap, max_cap=90)
        np.testing.assert_allclose(np.asarray(plain[0]), np.asarray(padded[0]), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(np.asarray(plain[1]), np.asarray(padded[1]), rtol=1e-12)
        assert np.all(np.asarray(plain[1]) <= cap + 1e-12)
    with pytest.raises(ValueError, match=r"cap must lie in \[1, max_cap=10\], got 20"):
        sft_laws.adaptive_hit_law(policy, mu, 20, max_cap=10)
    with pytest.raises(ValueError, match="cap must be an integer >= 1, got 0"):
        sft_laws.adaptive_hit_law(policy, mu, 0)
    with pytest.raises(TypeError, match="max_prompts must be an integer"):
        sft_laws.sft_success_law(policy, TabularClass.like(policy), jax.random.split(jax.random.PRNGKey(0), 2),
                                 jnp.asarray(3), jnp.asarray(2.0), EPS, DELTA, 64.0)
