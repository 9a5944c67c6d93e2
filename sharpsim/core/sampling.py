"""Vectorized sampling from many categorical rows by inverse CDF.

``jax.random.categorical`` draws by Gumbel-max, which costs O(|Y|) per sample; best-of-N with N in the
thousands over thousands of responses then needs |Y|·N work per prompt. Inverse-CDF sampling with a
branch-free binary search costs O(log |Y|) per sample and never materializes a [samples, |Y|] array.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp


def normalized_cdf(probs: jax.Array) -> jax.Array:
    """Cumulative sums along the last axis, divided by the total so the last entry is exactly 1."""
    cumulative = jnp.cumsum(probs, axis=-1)
    return cumulative / cumulative[..., -1:]


@jax.jit  # compiled once per shape: eagerly, a fresh loop body per call would recompile the loop every time
def search_cdf(cdf: jax.Array, rows: jax.Array, uniforms: jax.Array) -> jax.Array:
    """For each u in ``uniforms`` (in [0, 1)), the smallest y with cdf[row, y] > u.

    ``rows`` broadcasts against ``uniforms``. Responses of zero probability are never returned: their
    interval [cdf[y−1], cdf[y]) is empty.
    """
    num_responses = cdf.shape[-1]
    rows = jnp.broadcast_to(rows, uniforms.shape)
    low = jnp.zeros(uniforms.shape, dtype=jnp.int64)
    high = jnp.full(uniforms.shape, num_responses - 1, dtype=jnp.int64)

    def halve(_, bounds):
        low, high = bounds
        middle = (low + high) // 2
        go_right = cdf[rows, middle] <= uniforms
        return jnp.where(go_right, middle + 1, low), jnp.where(go_right, high, middle)

    steps = max(1, math.ceil(math.log2(num_responses)) + 1)
    low, _ = jax.lax.fori_loop(0, steps, halve, (low, high))
    return low


def sample_categorical_rows(key: jax.Array, probs: jax.Array, rows: jax.Array, num_samples: int) -> jax.Array:
    """Draw ``num_samples`` indices from row ``probs[r]`` for every r in ``rows``: shape [*rows.shape, num_samples]."""
    cdf = normalized_cdf(probs)
    uniforms = jax.random.uniform(key, (*rows.shape, num_samples), dtype=jnp.float64)
    return search_cdf(cdf, rows[..., None], uniforms)
