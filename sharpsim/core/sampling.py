"""Vectorized sampling from many categorical rows by inverse CDF.

``jax.random.categorical`` draws by Gumbel-max, which costs O(|Y|) per sample; best-of-N with N in the
thousands over thousands of responses then needs |Y|·N work per prompt. Inverse-CDF sampling with a
branch-free binary search costs O(log |Y|) per sample and never materializes a [samples, |Y|] array.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

INT32_LIMIT = 2**31 - 1


def normalized_cdf(probs: jax.Array) -> jax.Array:
    """Cumulative sums along the last axis, divided by the total so the last entry is exactly 1."""
    cumulative = jnp.cumsum(probs, axis=-1)
    return cumulative / cumulative[..., -1:]


# rows per block of ``table_cdf``: blocks of about 32 MiB
CDF_BLOCK_ENTRIES = 2**22


def table_cdf(probs: jax.Array) -> jax.Array:
    """``normalized_cdf`` of a concrete [X, Y] table, computed a block of rows at a time into one output buffer, so
    the only full-size arrays are the table and its CDF (the cumulative sum of the whole table at once takes
    intermediates of the table's size). Each row's values are those of ``normalized_cdf``: rows are independent."""
    num_rows, num_responses = probs.shape
    rows = max(1, CDF_BLOCK_ENTRIES // num_responses)
    if rows >= num_rows:
        return _cdf_jit(probs)
    cdf = jnp.zeros_like(probs)
    for start in range(0, num_rows, rows):
        # the last block is shifted back to keep one block shape (one compilation); its overlap is recomputed
        cdf = _write_cdf_block(cdf, probs, min(start, num_rows - rows), rows)
    return cdf


_cdf_jit = jax.jit(normalized_cdf)


@partial(jax.jit, donate_argnums=0, static_argnums=3)
def _write_cdf_block(cdf, probs, start, rows):
    block = jax.lax.dynamic_slice_in_dim(probs, start, rows, axis=0)
    return jax.lax.dynamic_update_slice_in_dim(cdf, normalized_cdf(block), start, axis=0)


# the largest table that gets a guide table (Chen and Asau's indexed search): an extra int32 [X, K + 1] array with K
# about |Y|/2 (an eighth of the table's bytes), worth it in the Monte Carlo regime and left out for huge tables
GUIDE_MAX_ENTRIES = 2**24


@dataclass(frozen=True)
class Guide:
    """Where the search for u starts: with K buckets (a power of two), ``starts[x, k]`` = #{y : cdf[x, y] ≤ k/K},
    so a u in [k/K, (k+1)/K) has its answer in [starts[x, k], starts[x, k+1]]; ``steps`` halvings cover the widest
    such range. Built on the host from a concrete CDF (``guide_table``)."""

    starts: jax.Array
    buckets: int
    steps: int


def guide_table(cdf) -> Guide | None:
    """The ``Guide`` of a concrete [X, Y] CDF, or None for a table over ``GUIDE_MAX_ENTRIES`` entries or |Y| < 4."""
    num_rows, num_responses = cdf.shape
    if num_rows * num_responses > GUIDE_MAX_ENTRIES or num_responses < 4:
        return None
    buckets = 1 << (num_responses.bit_length() - 2)  # the largest power of two ≤ Y/2
    values = np.asarray(cdf)
    if not np.isfinite(values).all():
        return None  # a NaN row (a diverged table from a transformation): the plain search, as before guides
    # cdf ≤ k/K ⇔ cdf·K ≤ k ⇔ ⌈cdf·K⌉ ≤ k (K a power of two: cdf·K is exact); count the entries per ⌈cdf·K⌉
    levels = np.clip(np.ceil(values * buckets), 0, buckets + 1).astype(np.int64)
    width = buckets + 2
    histogram = np.bincount((levels + width * np.arange(num_rows)[:, None]).ravel(), minlength=num_rows * width)
    histogram = histogram.reshape(num_rows, width)
    starts = np.cumsum(histogram, axis=1)[:, : buckets + 1]
    widest = int(np.max(starts[:, 1:] - starts[:, :-1]))
    return Guide(jnp.asarray(starts, jnp.int32), buckets, max(1, widest).bit_length())


def search_cdf(cdf: jax.Array, rows: jax.Array, uniforms: jax.Array, guide: Guide | None = None) -> jax.Array:
    """For each u in ``uniforms`` (in [0, 1)), the smallest y with cdf[row, y] > u (int64).

    ``cdf`` is [R, Y]; ``rows`` (indices in [0, R)) broadcasts against ``uniforms``. Responses of zero
    probability are never returned: their interval [cdf[y−1], cdf[y]) is empty. ``guide`` (``guide_table(cdf)``)
    starts each search in its bucket: the same answers in fewer halvings.
    """
    if guide is None:
        return _search(cdf, rows, uniforms, None, 0, 0)
    return _search(cdf, rows, uniforms, guide.starts, guide.buckets, guide.steps)


@partial(jax.jit, static_argnums=(4, 5))  # compiled once per shape: eagerly, a fresh loop body per call recompiles
def _search(cdf, rows, uniforms, starts, buckets, guide_steps):
    num_rows, num_responses = cdf.shape
    # the answer is the count of entries ≤ u (capped at Y − 1), found by halvings of powers of two, one gather each;
    # flat int32 indices into the raveled table gather markedly faster on XLA CPU than (row, column) pairs of int64
    index = jnp.int32 if num_rows * (num_responses + 2) < INT32_LIMIT else jnp.int64
    rows = jnp.asarray(rows)
    rows = jnp.clip(jnp.where(rows < 0, rows + num_rows, rows), 0, num_rows - 1)  # as cdf[rows] would read them
    rows = jnp.broadcast_to(rows.astype(index), uniforms.shape)
    start = rows * num_responses
    flat = cdf.reshape(-1)
    if starts is None:
        steps = math.ceil(math.log2(num_responses)) if num_responses > 1 else 0
        count = jnp.zeros(uniforms.shape, index)
    else:
        steps = guide_steps
        bucket = jnp.clip(jnp.floor(uniforms * buckets), 0, buckets - 1).astype(index)
        count = starts.reshape(-1).astype(index).at[rows * (buckets + 1) + bucket].get(mode="promise_in_bounds")

    def halve(step, count):
        candidate = count + jnp.left_shift(jnp.ones((), index), (steps - 1 - step).astype(index))
        inside = candidate <= num_responses
        entry = flat.at[start + jnp.minimum(candidate, num_responses) - 1].get(mode="promise_in_bounds")
        return jnp.where(inside & (entry <= uniforms), candidate, count)

    count = jax.lax.fori_loop(0, steps, halve, count)
    return jnp.minimum(count, num_responses - 1).astype(jnp.int64)


def sample_categorical_rows(key: jax.Array, probs: jax.Array, rows: jax.Array, num_samples: int,
                            cdf: jax.Array | None = None, guide: Guide | None = None) -> jax.Array:
    """Draw ``num_samples`` indices from row ``probs[r]`` for every r in ``rows``: shape [*rows.shape, num_samples].

    ``cdf``, ``guide``: ``normalized_cdf(probs)`` and its ``guide_table`` when the caller has them (a policy keeps
    its own)."""
    cdf = normalized_cdf(probs) if cdf is None else cdf
    uniforms = jax.random.uniform(key, (*rows.shape, num_samples), dtype=jnp.float64)
    return search_cdf(cdf, rows[..., None], uniforms, guide)
