"""Exact-in-law simulation of SFT-Sharpening (Theorem 4.1) and adaptive SFT-Sharpening (Eq. 10, Theorem D.1).

Why this is exact. The MLE of every class here depends on the data only through the training pairs
(x_i, y_i^BoN), which are i.i.d. with x ∼ μ and y ∼ π^BoN_N(·|x), the exact law ``best_of_n_law``. So one run of
SFT-Sharpening at (n, N) is simulated exactly, in law, by drawing n pairs from that law instead of n·N oracle
samples (N times cheaper); the queries it is charged are still m = n·N. The number of prompts is traced: the
prompts are padded to ``max_prompts`` and the first n get weight 1 (``fit(..., weights)``), and N enters only
through the law, so one compilation serves every budget.

For adaptive SFT with the tabular class, sharpness depends only on whether each pick lands in y*(x), so a pick
is drawn as a hit with the exact probability ``adaptive_hit_law`` of the stopping rule of Eq. (10), whose
expected number of draws E[N_μ(x)] (Lemma I.1) is exact too. The tests check both engines against the
oracle-based algorithms (``sft_sharpen``, ``adaptive_sft_sharpen``) and against ``exact_sft``.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from sharpsim.algorithms.best_of_n import best_of_n_law
from sharpsim.core.policy import as_tabular
from sharpsim.core.sampling import sample_categorical_rows
from sharpsim.core.validation import check_positive_int
from sharpsim.referee.quantities import argmax_mask, sharpening_error
from sharpsim.core.jit import counted_jit


@counted_jit(static_argnames=("max_prompts",))
def pairs_success_law(policy, model_class, law, keys, num_prompts, eps, delta, max_prompts: int):
    """bool [seeds]: is the MLE on n i.i.d. pairs x ∼ μ, y ∼ law(·|x) (ε, δ)-sharp (Definition 3.1)?

    The training set of SFT-Sharpening with ``law`` = π^BoN_N, or of adaptive SFT with ``law`` = the AdaBoN
    pick law (``adaptive_pick_law``). ``num_prompts`` = n ≤ ``max_prompts`` (traced; the padding is masked).
    ``pairs_success_law.trace_count`` counts its compilations."""
    weights = (jnp.arange(max_prompts) < num_prompts).astype(jnp.float64)

    def one(key):
        key_prompts, key_picks = jax.random.split(key)
        prompts = policy.sample_prompts(key_prompts, max_prompts)
        picks = sample_categorical_rows(key_picks, law, prompts, 1)[..., 0]
        fitted = as_tabular(model_class.fit(prompts, picks, weights))
        return sharpening_error(fitted, policy, delta) <= eps

    return jax.vmap(one)(keys)


@jax.jit
def _bon_law(policy, num_samples):
    return best_of_n_law(policy, num_samples).probs


def sft_success_law(policy, model_class, keys, num_prompts, num_samples, eps, delta, max_prompts: int):
    """bool [seeds]: is SFT-Sharpening at (n, N) (ε, δ)-sharp? Training pairs drawn from their exact law π^BoN_N
    (Theorem 4.1's algorithm, one run per key)."""
    check_positive_int(max_prompts, "max_prompts")
    return pairs_success_law(policy, model_class, _bon_law(policy, jnp.asarray(num_samples, jnp.float64)), keys,
                             num_prompts, eps, delta, max_prompts)


def adaptive_hit_law(policy, mu, cap: int, max_cap: int | None = None) -> tuple[jax.Array, jax.Array]:
    """Per prompt: (P[AdaBoN pick ∈ y*(x)], E[min(N_μ(x), cap)]) for the stopping rule of Eq. (10), exactly.

    Order the responses by decreasing π(y|x) (F_i = mass of the i best) and let L_u be the rank of the best of
    u draws, P(L_u = i) = (1 − F_{i−1})^u − (1 − F_i)^u; k_i = ⌈μ/π(y_i|x)⌉. The rule stops after u draws iff
    u ≥ k_{L_u} (monotone in u), so P(N_μ > u) = Σ_i P(L_u = i)·1{u < k_i}; the pick misses the j = |y*|
    argmaxes iff no argmax is drawn before stopping:
        P(miss) = (1 − F_j)^cap + F_j Σ_{u=1}^{cap−1} Σ_{i>j} P(L_u = i)·1{u ≥ k_i}.

    ``max_cap`` ≥ cap fixes the shapes (the tape is padded and masked), so one compilation serves every cap.
    """
    cap = check_positive_int(cap, "cap")
    max_cap = cap if max_cap is None else check_positive_int(max_cap, "max_cap")
    if cap > max_cap:
        raise ValueError(f"cap must lie in [1, max_cap={max_cap}], got {cap}")
    return _adaptive_hit_law(as_tabular(policy), jnp.asarray(mu, jnp.float64), jnp.asarray(cap, jnp.float64), max_cap)


@partial(jax.jit, static_argnames=("max_cap",))
def _adaptive_hit_law(policy, mu, cap, max_cap: int):
    policy = as_tabular(policy)
    probs = -jnp.sort(-policy.probs, axis=-1)  # descending
    cumulative = jnp.minimum(jnp.cumsum(probs, axis=-1), 1.0)
    previous = jnp.concatenate([jnp.zeros_like(cumulative[:, :1]), cumulative[:, :-1]], axis=-1)
    # the 1e-12 keeps μ/p from rounding just above an integer k and charging one draw too many
    thresholds = jnp.where(probs > 0, jnp.ceil(mu / jnp.where(probs > 0, probs, 1.0) - 1e-12), jnp.inf)
    draws = jnp.arange(1, max_cap, dtype=jnp.float64)[:, None, None]  # u = 1..cap−1 (masked beyond)
    rank_law = (jnp.exp(draws * jnp.log1p(-previous)) - jnp.exp(draws * jnp.log1p(-cumulative)))  # [u, X, Y]
    rank_law = jnp.where(draws < cap, rank_law, 0.0)
    still_running = rank_law * (draws < thresholds)
    expected = 1.0 + jnp.sum(still_running, axis=(0, 2))
    num_argmax = jnp.sum(argmax_mask(policy), axis=-1)
    beyond = jnp.arange(probs.shape[-1])[None, :] >= num_argmax[:, None]  # ranks i > j
    mass_top = jnp.take_along_axis(cumulative, (num_argmax - 1)[:, None], axis=-1)[:, 0]
    stopped_early = jnp.sum(rank_law * (draws >= thresholds) * beyond[None], axis=(0, 2))
    miss = jnp.exp(cap * jnp.log1p(-jnp.minimum(mass_top, 1.0))) + mass_top * stopped_early
    return 1.0 - miss, expected


@jax.jit
def adaptive_pick_law(policy, hit) -> jax.Array:
    """[X, Y]: a pick law with the AdaBoN hit probabilities: mass ``hit[x]`` on one argmax response of x, the rest
    on one non-argmax response. Exact in law for classes whose sharpness depends only on hits (tabular)."""
    policy = as_tabular(policy)
    mask = argmax_mask(policy)
    top = jnp.argmax(mask, axis=-1)
    below = jnp.argmax(~mask & (policy.probs > 0), axis=-1)  # used only when hit < 1, i.e. a non-argmax exists
    rows = jnp.arange(policy.num_prompts)
    law = jnp.zeros(policy.probs.shape).at[rows, below].add(1.0 - hit)
    return law.at[rows, top].add(hit)


def adaptive_success_law(policy, model_class, hit, keys, num_prompts, eps, delta, max_prompts: int):
    """bool [seeds]: is adaptive SFT-Sharpening (Theorem D.1) with n prompts (ε, δ)-sharp? Picks are hits w.p.
    ``hit`` [X] (``adaptive_hit_law``; exact for classes whose sharpness depends only on hits, e.g. the tabular
    class). Shares ``pairs_success_law``'s compilation with ``sft_success_law``."""
    check_positive_int(max_prompts, "max_prompts")
    return pairs_success_law(policy, model_class, adaptive_pick_law(policy, hit), keys, num_prompts, eps, delta,
                             max_prompts)
