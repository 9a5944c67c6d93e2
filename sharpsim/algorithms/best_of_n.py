"""Best-of-N with the log-likelihood self-reward: inference-time sharpening (Section 3.2, Proposition C.1).

Draw y_1, …, y_N ∼ π_base(·|x) and return the one with the largest log π_base(y|x). Ties between
equally likely samples are broken by taking the first; because the samples are i.i.d. this returns a
uniformly random member of the tied level set, the tie rule of the exact law below.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.core.validation import (
    SIMPLEX_TOLERANCE, check_positive_int, check_real_array, is_concrete, traced_check,
)
from sharpsim.algorithms.base import check_oracle, queries_used
from sharpsim.core.oracle import Oracle
from sharpsim.core.policy import TabularPolicy, as_tabular
from sharpsim.core.results import Result


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class BestOfNResult(Result):
    """``policy`` None (inference-time sharpening returns picks, not a policy); ``queries``: what this run was
    charged (prompts.size·N samples); ``responses`` [n]: the BoN pick per prompt; ``log_probs`` [n]: its
    log π_base."""

    responses: jax.Array
    log_probs: jax.Array


def best_of_n(key: jax.Array, oracle: Oracle, prompts: jax.Array, num_samples: int) -> tuple[BestOfNResult, Oracle]:
    """y^BoN_N(x) = argmax{ log π_base(y_i|x) : y_1..y_N ∼ π_base(·|x) } for every x in ``prompts``.

    Uses exactly ``prompts.size · N`` sample queries. Returns the result and the charged oracle.
    """
    start = check_oracle(oracle)
    batch, oracle = oracle.sample(key, prompts, num_samples)
    best = first_argmax(batch.log_probs)
    log_probs = jnp.take_along_axis(batch.log_probs, best[..., None], axis=-1)[..., 0]
    # responses are [..., N] indices, or [..., N, H] token sequences for autoregressive bases
    index = best.reshape(best.shape + (1,) * (batch.responses.ndim - best.ndim))
    responses = jnp.take_along_axis(batch.responses, index, axis=best.ndim).squeeze(best.ndim)
    return BestOfNResult(None, queries_used(start, oracle), responses, log_probs), oracle


# working memory a seed's draw may take before best_of_n_over_seeds splits the seeds into batches
SEED_BATCH_BYTES = 2**28
_BYTES_PER_DRAW = 6 * 8  # as the oracle counts a draw: uniform, search bounds and row, response, log-likelihood


def best_of_n_over_seeds(keys: jax.Array, oracle: Oracle, prompts, num_samples: int, *,
                         seed_batch: int | None = None) -> BestOfNResult:
    """``best_of_n(key, oracle, prompts, N)`` for every key in ``keys`` [S], stacked on a leading seed axis: the
    Monte Carlo of Proposition C.1 over many seeds with bounded memory.

    Seeds run ``seed_batch`` at a time (``jax.lax.map``): the working memory is that of one batch of draws,
    seed_batch·|prompts|·N of them, not S·|prompts|·N (``jax.vmap`` over 10⁴ seeds × 10³ prompts × N = 10³ would
    hold 10¹⁰ draws). The default batch fills ``SEED_BATCH_BYTES``. Each seed's result equals its ``best_of_n``
    (same key, same draws); ``queries`` holds each seed's charge. Usable under ``jit`` (``num_samples`` and
    ``seed_batch`` static).
    """
    check_oracle(oracle)
    num_samples = check_positive_int(num_samples, "num_samples")
    keys = jnp.asarray(keys) if not isinstance(keys, jax.Array) else keys
    if keys.ndim < 1 or keys.shape[0] == 0:
        raise ValueError(f"keys must be a non-empty batch of PRNG keys [S, ...], got shape {tuple(keys.shape)}")
    num_seeds = keys.shape[0]
    if seed_batch is None:
        per_seed = max(1, int(np.prod(jnp.shape(prompts), dtype=np.int64)) * num_samples * _BYTES_PER_DRAW)
        seed_batch = max(1, SEED_BATCH_BYTES // per_seed)
    seed_batch = min(check_positive_int(seed_batch, "seed_batch"), num_seeds)
    return _best_of_n_over_seeds(keys, oracle, prompts, num_samples, seed_batch)


@partial(jax.jit, static_argnums=(3, 4))
def _best_of_n_over_seeds(keys, oracle, prompts, num_samples, seed_batch):
    return jax.lax.map(lambda key: best_of_n(key, oracle, prompts, num_samples)[0], keys, batch_size=seed_batch)


def first_argmax(values: jax.Array) -> jax.Array:
    """``jnp.argmax(values, axis=-1)`` (the first maximum; the first NaN if any) by plain max/min reductions, which
    XLA vectorizes on CPU where its argmax (a reduction over value-index pairs) is not."""
    size = values.shape[-1]
    positions = jnp.arange(size, dtype=jnp.int32)
    top = jnp.max(values, axis=-1, keepdims=True)
    first_top = jnp.min(jnp.where(values == top, positions, size), axis=-1)
    first_nan = jnp.min(jnp.where(jnp.isnan(values), positions, size), axis=-1)
    return jnp.where(first_nan < size, first_nan, first_top).astype(jnp.int64)


def check_log_probs(log_probs, name: str = "log_probs") -> jax.Array:
    """A tape of log-probabilities [..., K], K ≥ 1: real, not NaN, at most 0 (``-inf`` allowed: a probability of
    zero, or a masked sample). Concrete values are checked at once; a traced tape only in checked mode (its dtype
    and shape always). Returns it as a float64 array."""
    array = check_real_array(log_probs, name, finite=False)
    if array.ndim == 0 or array.shape[-1] == 0:
        raise ValueError(f"{name} must be an array [..., K] of log-probabilities with K >= 1 samples on its last "
                         f"axis, got shape {tuple(array.shape)}")
    limit = SIMPLEX_TOLERANCE  # log of a probability ≤ 1, up to rounding
    if is_concrete(array):
        values = np.asarray(array)
        above = values > limit
        if above.any():
            index = tuple(int(i) for i in np.argwhere(above)[0])
            raise ValueError(f"{name} must hold log-probabilities (<= 0); entry {index} is {float(values[index])!r}")
    else:
        traced_check(array <= limit, f"{name} must hold log-probabilities (<= 0); its largest entry is {{value}}",
                     value=jnp.max(array))
    return array


def running_best_index(log_probs: jax.Array) -> jax.Array:
    """int [..., N]: entry k is the index of the best-of-(k+1) pick among the first k+1 samples.

    Lets one batch of N_max samples answer best-of-N for every N ≤ N_max at once (as the paper's
    experiments do by subsampling their 50 generations). The pick is the first sample to reach the
    running maximum, i.e. the last strict record. ``log_probs`` is checked by ``check_log_probs``.
    """
    log_probs = check_log_probs(log_probs)
    previous_best = jnp.concatenate(
        [jnp.full(log_probs.shape[:-1] + (1,), -jnp.inf), jax.lax.cummax(log_probs, axis=log_probs.ndim - 1)[..., :-1]],
        axis=-1,
    )
    is_record = log_probs > previous_best
    is_record = is_record.at[..., 0].set(True)
    positions = jnp.broadcast_to(jnp.arange(log_probs.shape[-1]), log_probs.shape)
    return jax.lax.cummax(jnp.where(is_record, positions, 0), axis=log_probs.ndim - 1)


def best_of_n_law(policy, n) -> TabularPolicy:
    """The exact law π^BoN_N of best-of-n under the log-likelihood self-reward (Assumption 4.1's π^BoN_N).

    Sort responses by π(y|x); with F(t) = π({y : π(y|x) ≤ t}) the pick lands in the level set
    {y : π(y|x) = t} with probability F(t)^n − F(t⁻)^n, shared equally by its members (ties broken
    uniformly). Responses of zero probability get zero. ``n`` may be a traced integer inside ``jit``.
    Computed as F^n − F⁻^n = F^n·(1 − exp(n·(log F⁻ − log F))), with F summed from the bottom where F < ½ and
    log F = log1p(−mass above) elsewhere: full relative precision for F near 1 and large n, and for masses far
    below float64's epsilon (no 0 − 0 = NaN when the mass above rounds to 1).
    """
    if is_concrete(n) and not isinstance(n, bool) and np.ndim(n) == 0 and np.asarray(n).dtype.kind == "f":
        # a whole float is a count (n beyond int64, as traced callers pass it); a fractional one is not
        if not (np.isfinite(n) and float(n) == np.floor(n)):
            raise ValueError(f"n must be an integer >= 1, got {float(n)!r}")
        n = int(n)
    n = check_positive_int(n, "n")
    if is_concrete(n):
        # as a float: the law is finite for any n, also beyond int64 (n = 10**30 gives the argmax law); beyond
        # 1e300 the law is the argmax law to float64 precision, and float(10**400) would overflow
        n = float(min(n, 10**300))
    policy = as_tabular(policy)
    law = jax.vmap(lambda row: _best_of_n_row(row, n))(policy.probs)
    return TabularPolicy.tree_unflatten(None, (law, policy.prompt_probs))


def _best_of_n_row(row: jax.Array, n) -> jax.Array:
    ascending = jnp.sort(row)
    # F at every level two ways: summed from the bottom (exact when F is small) and as one minus the mass above
    # (exact when F is near 1); each is used where it keeps full relative precision
    head = jnp.concatenate([jnp.zeros(1), jnp.cumsum(ascending)])  # head[i] = Σ_{j < i} ascending[j]
    tail_from = jnp.concatenate([jnp.cumsum(ascending[::-1])[::-1], jnp.zeros(1)])  # Σ_{j ≥ i} ascending[j]
    first = jnp.searchsorted(ascending, row, side="left")  # index of the first response tied with y
    after = jnp.searchsorted(ascending, row, side="right")  # one past the last response tied with y

    def log_f(index):
        small = head[index] < 0.5
        return jnp.where(small, jnp.log(jnp.where(small, head[index], 1.0)),
                         jnp.log1p(-jnp.minimum(tail_from[index], 1.0)))

    log_f_upto, log_f_below = log_f(after), log_f(first)  # log F(t), log F(t⁻); F(t) ≥ π(y|x) > 0 where used
    log_f_upto = jnp.where(row > 0, log_f_upto, 0.0)  # zero-mass responses: keep the masked branch finite
    level_mass = jnp.exp(n * log_f_upto) * -jnp.expm1(n * (log_f_below - log_f_upto))
    level_mass = jnp.where(row > 0, level_mass, 0.0)
    return level_mass / (after - first)
