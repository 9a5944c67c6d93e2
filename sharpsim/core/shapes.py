"""Shape checks shared by public functions: named arguments that must broadcast together, and batches of PRNG keys.

Each check raises ``ValueError``/``TypeError`` naming the arguments involved and their shapes, instead of numpy's
"operands could not be broadcast together" from deep inside a computation, and refuses a broadcast result too large
for memory (``validation.check_allocation``) before anything of that size is allocated. Only shapes and dtypes are
read, so the checks also work on JAX tracers.
"""

from __future__ import annotations

from typing import Mapping

import jax
import numpy as np

from sharpsim.core.validation import check_allocation


def shape_of(value, name: str) -> tuple[int, ...]:
    """The shape of an array-like ``value``, or a ``TypeError`` naming ``name`` when it has none (a ragged list)."""
    try:
        return tuple(int(s) for s in np.shape(value))
    except (ValueError, TypeError):
        raise TypeError(f"{name} must be a rectangular array-like of numbers, got a ragged "
                        f"{type(value).__name__}") from None


def broadcast_shape(arrays: Mapping[str, object], what: str = "the result") -> tuple[int, ...]:
    """The shape that the named array-likes broadcast to.

    Raises ``ValueError`` naming the first two arguments whose shapes do not broadcast together, with both shapes,
    and refuses a common shape whose float64 array would not fit in memory (``what`` names that array).
    """
    shapes = {name: shape_of(value, name) for name, value in arrays.items()}
    common: tuple[int, ...] = ()
    seen: list[str] = []
    for name, shape in shapes.items():
        try:
            common = np.broadcast_shapes(common, shape)
        except ValueError:
            for other in seen:
                try:
                    np.broadcast_shapes(shapes[other], shape)
                except ValueError:
                    raise ValueError(f"{other} and {name} must have shapes that broadcast together, got {other} of "
                                     f"shape {shapes[other]} and {name} of shape {shape}") from None
            described = ", ".join(f"{other} {shapes[other]}" for other in seen)
            raise ValueError(f"{name} of shape {shape} does not broadcast with the other arguments ({described}), "
                             f"which broadcast to {common}") from None
        seen.append(name)
    check_allocation(common, what)
    return tuple(common)


def check_key_batch(keys, name: str = "keys") -> int:
    """The number of seeds in a batch of PRNG keys: raw keys of shape [seeds, 2] (``uint32``; any numeric dtype is let
    through for callers whose success function ignores its keys) or typed keys of shape [seeds]
    (``jax.random.split(key, seeds)``), at least one. ``TypeError`` for data that are not numbers, ``ValueError`` for a
    wrong shape or an empty batch."""
    dtype = getattr(keys, "dtype", None)
    if dtype is None:
        try:
            dtype = np.asarray(keys).dtype
        except (ValueError, TypeError):
            dtype = np.dtype(object)
    shape = shape_of(keys, name)
    usage = "(jax.random.split(key, seeds))"
    if jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        if len(shape) != 1:
            raise ValueError(f"{name} must be a batch of PRNG keys [seeds] {usage}, got typed keys of shape {shape}")
    elif not (np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating)):
        # integer (uint32) key data; a search whose success ignores its keys may pass float placeholders
        raise TypeError(f"{name} must be a batch of PRNG keys [seeds, 2] of dtype uint32 {usage}, got dtype {dtype}")
    elif len(shape) != 2:
        raise ValueError(f"{name} must be a batch of PRNG keys [seeds, 2] {usage}, got shape {shape}")
    if shape[0] == 0:
        raise ValueError(f"{name} must be a batch of PRNG keys [seeds, 2] holding at least one key {usage}, got shape "
                         f"{shape}")
    return shape[0]
