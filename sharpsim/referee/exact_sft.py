"""The exact law of the sharpening error of SFT-Sharpening with the tabular class (Section 2.1,
Theorem 4.1).

With Π_tab (``TabularClass``: empirical distribution per prompt, uniform on unseen prompts) and n prompts,
N samples per prompt, the learned sharpness at x is π̂(y*_γ(x)|x) = K_x / c_x, where

    (c_x)_x ∼ Multinomial(n, μ)                     (how many of the n prompts are x),
    K_x | c_x ∼ Binomial(c_x, q_x),  q_x = 1 − (1 − π_base(y*_γ(x)|x))^N,

because a best-of-N pick lands in y*_γ(x) exactly when one of the N samples does (y*_γ(x) holds every
response at least as likely as any outside it), independently across the n prompt draws. Prompt x fails
(counts towards the error) when K_x / c_x < 1 − δ, evaluated in float64 exactly as the referee does
(``TabularClass.fit`` computes K/c as one division); an unseen prompt (c_x = 0) fails when the uniform row's
mass on y*_γ(x), |y*_γ(x)|/|Y|, is < 1 − δ. The error is err = Σ_x μ_x 1{x fails} (``sharpening_error``).

* ``exact_sft_expected_error``: E[err] = Σ_x μ_x Σ_c Binom(c; n, μ_x) · f_x(c) by linearity, with the marginal
  c_x ∼ Binomial(n, μ_x) and f_x(c) = P[Binomial(c, q_x) ≤ k_x(c)], k_x(c) the largest k with k/c < 1 − δ
  (a regularized incomplete beta). Pure JAX: jit-able, vmappable over N, δ and instances; n is static.
* ``exact_sft_error_distribution``: the full law of err. The prompts fail dependently only through the
  multinomial counts; writing the multinomial as a chain of conditional binomials,
  c_x | c_{<x} ∼ Binomial(n − Σ_{<x} c, μ_x / Σ_{≥x} μ), a dynamic programme over prompts carries the joint
  law of (prompts used so far, error so far) and is exact. Cost O(X · n² · S), S the number of distinct error
  values (≤ 2^X; X + 1 when μ is uniform). NumPy/SciPy, for the referee and tests.
* ``exact_sft_success_probability``: P[err ≤ ε] from the distribution (P[π̂ is (ε, δ, γ)-sharpened]).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import betainc
from jax.scipy.stats import binom as jax_binom

from sharpsim.core.validation import check_allocation, check_gamma, check_in_interval, check_positive_int
from sharpsim.core.policy import as_tabular
from sharpsim.referee.quantities import argmax_mask, argmax_mass

_ERROR_VALUE_TOLERANCE = 1e-12


def _check_arguments(num_prompts, num_samples, delta):
    num_prompts = check_positive_int(num_prompts, "num_prompts")
    num_samples = check_positive_int(num_samples, "num_samples")
    if isinstance(num_samples, int):
        # N enters only through (1 − p)^N in float64: as a float, N beyond int64 (10**30) is a valid, exact-enough
        # argument instead of an overflow when passed to the jitted table
        num_samples = float(num_samples)
    delta = check_in_interval(delta, "delta", 0.0, 1.0, closed_low=False, closed_high=False)
    return num_prompts, num_samples, delta


def largest_failing_count(counts: jax.Array, delta) -> jax.Array:
    """k(c) = max{k ∈ {−1, 0, …, c} : k/c < 1 − δ} in float64 (−1 when even k = 0 passes); c ≥ 1."""
    threshold = 1.0 - delta
    guess = jnp.ceil(threshold * counts) - 1.0
    # float rounding can put the guess one off the referee's comparison k/c < 1 − δ; settle it both ways
    guess = jnp.where((guess + 1.0) / counts < threshold, guess + 1.0, guess)
    guess = jnp.where((guess >= 0) & (guess / counts >= threshold), guess - 1.0, guess)
    return jnp.clip(guess, -1.0, counts)


def prompt_failure_probabilities(base, num_prompts: int, num_samples, delta, gamma=0.0) -> jax.Array:
    """[X, n+1]: f_x(c) = P[prompt x fails | c_x = c] for c = 0..n (c = 0: the uniform-unseen rule)."""
    num_prompts, num_samples, delta = _check_arguments(num_prompts, num_samples, delta)
    gamma = check_gamma(gamma)
    base = as_tabular(base, "base")
    _check_table_size(base, num_prompts, "prompt_failure_probabilities(num_prompts)")
    return _failure_table(as_tabular(base, "base"), num_prompts, num_samples, delta, gamma)


@partial(jax.jit, static_argnums=1)
def _failure_table(base, num_prompts, num_samples, delta, gamma):
    mask = argmax_mask(base, gamma)
    mass = argmax_mass(base, gamma)  # π_base(y*_γ(x)|x)
    hit = -jnp.expm1(num_samples * jnp.log1p(-jnp.minimum(mass, 1.0)))  # q_x = 1 − (1 − p)^N, accurate for tiny p
    counts = jnp.arange(num_prompts + 1, dtype=jnp.float64)
    safe_counts = jnp.maximum(counts, 1.0)
    k = largest_failing_count(safe_counts, delta)  # [n+1]
    # P[Binomial(c, q) ≤ k] = I_{1−q}(c − k, k + 1) for 0 ≤ k < c; 0 for k = −1; k = c never happens (c/c = 1).
    a = jnp.maximum(safe_counts - k, 1.0)
    b = jnp.maximum(k + 1.0, 1.0)
    cdf = betainc(a[None, :], b[None, :], 1.0 - hit[:, None])
    cdf = jnp.where(k[None, :] < 0, 0.0, jnp.where(k[None, :] >= safe_counts[None, :], 1.0, cdf))
    unseen_mass = jnp.sum(jnp.where(mask, 1.0 / base.num_responses, 0.0), axis=-1)
    unseen_fails = (unseen_mass < 1.0 - delta).astype(jnp.float64)
    return jnp.concatenate([unseen_fails[:, None], cdf[:, 1:]], axis=1)


def exact_sft_expected_error(base, num_prompts: int, num_samples, delta, gamma=0.0) -> jax.Array:
    """E[sharpening_error(π̂, π_base, δ, γ)] for SFT-Sharpening with Π_tab, n prompts and N samples, exactly."""
    num_prompts, num_samples, delta = _check_arguments(num_prompts, num_samples, delta)
    base = as_tabular(base, "base")
    _check_table_size(base, num_prompts, "exact_sft_expected_error(num_prompts)")
    return _expected_error(base, num_prompts, num_samples, delta, check_gamma(gamma))


def _check_table_size(base, num_prompts: int, name: str) -> None:
    # the [X, n+1] failure and count tables, a few float64 working copies each
    check_allocation((base.num_prompts, num_prompts + 1), name, itemsize=6 * 8)


@partial(jax.jit, static_argnums=1)  # one program per n: eagerly, the pmf's dozens of small ops compile one by one
def _expected_error(base, num_prompts, num_samples, delta, gamma):
    failure = _failure_table(base, num_prompts, num_samples, delta, gamma)
    counts = jnp.arange(num_prompts + 1)
    count_law = jax_binom.pmf(counts[None, :], num_prompts, base.prompt_probs[:, None])  # [X, n+1]
    # the pmf goes through log-gamma of numbers up to n, whose rounding (relative ~1e-16 · n log n) lets a row sum
    # to 1 ± 1e-10 at n = 10**5: renormalize each row (it is a probability law), and clip the expectation, a
    # probability, into [0, 1] against the last rounding of the sums
    count_law = count_law / jnp.sum(count_law, axis=1, keepdims=True)
    return jnp.clip(jnp.sum(base.prompt_probs * jnp.sum(count_law * failure, axis=1)), 0.0, 1.0)


def exact_sft_error_distribution(
    base, num_prompts: int, num_samples: int, delta, gamma=0.0, max_states: int = 1 << 16
) -> tuple[np.ndarray, np.ndarray]:
    """The law of err = sharpening_error(π̂, π_base, δ, γ): (values ascending, probabilities), exactly.

    Error values within 1e-12 of each other are merged (sums of the same μ_x in another order). Raises
    ``ValueError`` if more than ``max_states`` distinct error values arise (use the expectation instead).
    """
    num_prompts, num_samples, delta = _check_arguments(num_prompts, num_samples, delta)
    max_states = check_positive_int(max_states, "max_states")
    base = as_tabular(base, "base")
    # the dynamic program's [n+1, n+1] transition matrices (steps, binomial law, failures, products)
    check_allocation((num_prompts + 1, num_prompts + 1), "exact_sft_error_distribution(num_prompts)", itemsize=5 * 8)
    _check_table_size(base, num_prompts, "exact_sft_error_distribution(num_prompts)")
    from scipy.stats import binom  # imported here: scipy.stats takes a second or more to load

    failure = np.asarray(_failure_table(base, num_prompts, num_samples, delta, check_gamma(gamma)))
    mu = np.asarray(base.prompt_probs)
    support = np.flatnonzero(mu > 0)  # prompts of mass 0 are never drawn and weigh nothing
    remaining = np.cumsum(mu[support][::-1])[::-1]  # Σ_{≥x} μ, summed from the tail: no cancellation
    used = np.arange(num_prompts + 1)
    steps = used[None, :] - used[:, None]  # steps[r, s] = s − r, the count given to this prompt
    values = np.zeros(1)
    law = np.zeros((num_prompts + 1, 1))
    law[0, 0] = 1.0  # before any prompt: 0 prompts used, error 0
    for position, x in enumerate(support):
        share = 1.0 if position == len(support) - 1 else min(mu[x] / remaining[position], 1.0)
        transition = binom.pmf(steps, num_prompts - used[:, None], share)  # [r, s]; 0 where s < r
        fail_given_count = failure[x][np.clip(steps, 0, num_prompts)]
        passed = (transition * (1.0 - fail_given_count)).T @ law
        failed = (transition * fail_given_count).T @ law
        check_allocation((num_prompts + 1, 2 * values.size), "exact_sft_error_distribution's state table", itemsize=3 * 8)
        values, law = _merge(np.concatenate([values, values + mu[x]]), np.concatenate([passed, failed], axis=1))
        if values.size > max_states:
            raise ValueError(
                f"the error takes more than max_states={max_states} distinct values (X={base.num_prompts}); "
                "use exact_sft_expected_error, raise max_states, or estimate by Monte Carlo"
            )
    probabilities = law[num_prompts]
    return values, probabilities / probabilities.sum()


def _merge(values: np.ndarray, law: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(values, kind="stable")
    values, law = values[order], law[:, order]
    new_group = np.concatenate([[True], np.diff(values) > _ERROR_VALUE_TOLERANCE])
    group = np.cumsum(new_group) - 1
    merged = np.zeros((law.shape[0], group[-1] + 1))
    np.add.at(merged.T, group, law.T)
    return values[new_group], merged


def exact_sft_success_probability(base, num_prompts: int, num_samples: int, delta, eps, gamma=0.0) -> float:
    """P[err ≤ ε] = P[π̂ is (ε, δ, γ)-sharpened] (Definition 3.1), exactly (error values within 1e-12 of ε count as ≤)."""
    eps = check_in_interval(eps, "eps", 0.0, 1.0, closed_low=True, closed_high=False)
    values, probabilities = exact_sft_error_distribution(base, num_prompts, num_samples, delta, gamma)
    return float(np.sum(probabilities[values <= eps + _ERROR_VALUE_TOLERANCE]))
