"""The engines of ``sharpsim explore`` against numpy references written here."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sharpsim as ss
from sharpsim.explore.engines import best_of_n_error, least_sharp_best_of_n, tabular_rlhf_success


def _numpy_least_n(probs, prompt_probs, eps, delta):
    """Least N with Σ_x μ_x 1{1 − (1 − p*_x)^N < 1 − δ} ≤ ε for unique argmaxes: prompt x is sharp from
    N_x = ⌈log δ / log(1 − p*_x)⌉ on (N_x = 1 when p*_x ≥ 1 − δ)."""
    p_star = probs.max(axis=1)
    needed = np.where(p_star >= 1 - delta, 1, np.ceil(np.log(delta) / np.log1p(-p_star) - 1e-12))
    for n in range(1, int(needed.max()) + 1):
        if prompt_probs[needed > n].sum() <= eps + 1e-12:
            return n
    return int(needed.max())


@pytest.mark.parametrize("eps", [0.05, 0.3, 0.6])
@pytest.mark.parametrize("delta", [0.1, 0.25])
def test_least_sharp_best_of_n_matches_numpy(eps, delta):
    policy = ss.make("two_type", num_prompts=4, num_responses=16, p_hi=0.4, p_lo=0.08, weight_lo=0.4)
    probs, mu = np.asarray(policy.probs), np.asarray(policy.prompt_probs)
    estimate, errors = least_sharp_best_of_n(policy, eps, delta)
    assert estimate == _numpy_least_n(probs, mu, eps, delta)
    for n, error in errors.items():  # each evaluated error is the exact law's
        p_star = probs.max(axis=1)
        assert error == pytest.approx(mu[(1 - (1 - p_star) ** n) < 1 - delta].sum(), abs=1e-12)


def test_best_of_n_search_reports_unreachable_and_bad_arguments():
    policy = ss.make("needle", num_prompts=4, num_responses=16, coverage=12.0)
    assert least_sharp_best_of_n(policy, 0.0, 0.1, max_samples=16) == (math.inf, pytest.approx(
        {n: 1.0 for n in (1, 2, 4, 8, 16)}))  # 1 − (11/12)^16 < 0.9: not sharp within 16 samples
    assert least_sharp_best_of_n(policy, 0.0, 0.1)[0] == math.ceil(math.log(0.1) / math.log(11 / 12))
    with pytest.raises(ValueError, match="eps"):
        least_sharp_best_of_n(policy, 1.5, 0.1)
    with pytest.raises(ValueError, match="num_samples"):
        best_of_n_error(policy, 0, 0.1)


MAX_PAIRS = 32


@jax.jit
def _draws(policy, keys):
    """The prompts and pairs ``tabular_rlhf_success`` draws per key (rlhf_sharpen's key split, through the oracle)."""
    def one(key):
        key_prompts, key_pairs = jax.random.split(key)
        oracle = ss.Oracle(policy)
        prompts, oracle = oracle.draw_prompts(key_prompts, MAX_PAIRS)
        batch, _ = oracle.sample(key_pairs, prompts, 2)
        return prompts, batch.responses

    return jax.vmap(one)(keys)


def _numpy_rlhf_success(policy, prompts, responses, num_pairs, beta, eps, delta):
    """The pessimistic Eq. 8 minimizer on the first ``num_pairs`` pairs, judged in numpy: π̂(·|x) = π*_β on the
    sampled set S_x (π*_β ∝ π_base^(1+1/β)), uniform where x was not drawn."""
    prompts, responses = np.asarray(prompts)[:num_pairs], np.asarray(responses)[:num_pairs]
    probs, mu = np.asarray(policy.probs), np.asarray(policy.prompt_probs)
    error = 0.0
    for x in range(probs.shape[0]):
        sampled = np.unique(responses[prompts == x])
        top = int(np.argmax(probs[x]))
        if sampled.size == 0:
            mass = 1.0 / probs.shape[1]
        else:
            log_power = (1 + 1 / beta) * np.log(probs[x, sampled])
            weights = np.exp(log_power - log_power.max())
            mass = float(weights[sampled == top].sum() / weights.sum()) if top in sampled else 0.0
        error += mu[x] * (mass < 1 - delta)
    return error <= eps


POLICY = dict(num_prompts=3, num_responses=8, coverage=3.0, margin=0.5)
SEEDS = 16  # one batch size for every call: one compilation of the engine


@pytest.mark.parametrize("beta", [1e-4, 0.3])
@pytest.mark.slow  # compiles the RLHF engine (about 25 s)
def test_tabular_rlhf_success_matches_numpy_on_prefixes(beta):
    policy = ss.make("needle", **POLICY)
    keys = jax.random.split(jax.random.PRNGKey(3), SEEDS)
    prompts, responses = _draws(policy, keys)
    for num_pairs in (1, 4, 9, 32):
        got = np.asarray(tabular_rlhf_success(policy, keys, jnp.asarray(num_pairs), jnp.asarray(beta), 0.34, 0.25,
                                              MAX_PAIRS))
        want = [_numpy_rlhf_success(policy, p, r, num_pairs, beta, 0.34, 0.25) for p, r in zip(prompts, responses)]
        assert got.tolist() == want


@pytest.mark.slow  # compiles rlhf_sharpen itself; the numpy reference above checks the engine by default
def test_tabular_rlhf_success_at_the_padding_is_rlhf_sharpen():
    policy = ss.make("needle", **POLICY)
    keys = jax.random.split(jax.random.PRNGKey(0), SEEDS)
    got = np.asarray(tabular_rlhf_success(policy, keys, jnp.asarray(MAX_PAIRS), jnp.asarray(0.1), 0.0, 0.25,
                                          MAX_PAIRS))
    model_class = ss.TabularClass.like(policy)
    want = jax.jit(jax.vmap(lambda key: ss.is_sharpened(
        ss.rlhf_sharpen(key, ss.Oracle(policy), model_class, MAX_PAIRS, 0.1)[0].policy, policy, 0.0, 0.25)))(keys)
    assert got.tolist() == np.asarray(want).tolist()


def test_pessimistic_rlhf_is_never_worse_at_smaller_beta():
    """The reason explore searches RLHF at its smallest β only: on the same draws, success at a smaller β."""
    policy = ss.make("needle", **{**POLICY, "margin": 0.05})
    keys = jax.random.split(jax.random.PRNGKey(7), SEEDS)
    outcomes = [np.asarray(tabular_rlhf_success(policy, keys, jnp.asarray(12), jnp.asarray(beta), 0.34, 0.25,
                                                MAX_PAIRS)) for beta in (1e-4, 1e-2, 0.1, 1.0)]
    for smaller, larger in zip(outcomes, outcomes[1:]):
        assert np.all(smaller >= larger)
    assert outcomes[0].sum() > outcomes[-1].sum()  # the margin matters at large β: the check can fail
