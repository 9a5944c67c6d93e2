"""Input checks shared by every public constructor and algorithm.

Each check raises ``ValueError``/``TypeError`` naming the argument, the bad value and what is allowed, so
that a user sees what to fix rather than a silent NaN further down. Checks run only on concrete values:
inside ``jit``/``vmap`` the inputs are tracers and the caller is trusted (it was validated outside).
"""

from __future__ import annotations

import numbers
import os

import jax
import numpy as np

SIMPLEX_TOLERANCE = 1e-9


def is_concrete(*values) -> bool:
    """True when none of ``values`` is a JAX tracer (i.e. we are not inside a transformation)."""
    return not any(isinstance(v, jax.core.Tracer) for v in jax.tree_util.tree_leaves(values))


def as_float_array(value, name: str) -> np.ndarray:
    """``value`` as a float64 numpy array, or a TypeError naming ``name``."""
    try:
        array = np.asarray(value)
    except Exception as error:  # pragma: no cover - exotic objects
        raise TypeError(f"{name} must be array-like of numbers, got {type(value).__name__}") from error
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.bool_)
    ):
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    if np.iscomplexobj(array):
        raise TypeError(f"{name} must hold real numbers, got complex dtype {array.dtype}")
    return array.astype(np.float64)


def check_finite_nonnegative(array: np.ndarray, name: str) -> None:
    bad = ~np.isfinite(array)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} must be finite; entry {index} is {array[index]}")
    negative = array < 0
    if negative.any():
        index = tuple(int(i) for i in np.argwhere(negative)[0])
        raise ValueError(f"{name} must be non-negative; entry {index} is {array[index]}")


def check_rows_on_simplex(array: np.ndarray, name: str, row_name: str = "row") -> None:
    """Every slice along the last axis must sum to 1 within ``SIMPLEX_TOLERANCE``."""
    check_finite_nonnegative(array, name)
    sums = array.sum(axis=-1)
    bad = np.abs(sums - 1.0) > SIMPLEX_TOLERANCE
    if np.ndim(sums) == 0:
        if bad:
            raise ValueError(f"{name} must sum to 1 (within {SIMPLEX_TOLERANCE:g}); it sums to {float(sums)!r}")
        return
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        shown = index[0] if len(index) == 1 else index
        raise ValueError(
            f"{name} {row_name} {shown} must sum to 1 (within {SIMPLEX_TOLERANCE:g}); it sums to {float(sums[index])!r}"
        )


def check_positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, (np.ndarray, jax.Array)) and np.ndim(value) == 0 and np.issubdtype(
            np.asarray(value).dtype, np.integer
        ):
            value = int(value)
        else:
            raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def check_in_interval(value, name: str, low: float, high: float, closed_low: bool, closed_high: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        if isinstance(value, (np.ndarray, jax.Array)) and np.ndim(value) == 0:
            value = float(value)
        else:
            raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    ok_low = value >= low if closed_low else value > low
    ok_high = value <= high if closed_high else value < high
    if not (np.isfinite(value) or (high == np.inf and value == np.inf and closed_high)) or not (ok_low and ok_high):
        interval = f"{'[' if closed_low else '('}{low:g}, {high:g}{']' if closed_high else ')'}"
        raise ValueError(f"{name} must lie in {interval}, got {value!r}")
    return value


def check_gamma(gamma) -> float:
    """γ of the approximate argmax set y*_γ (Definition F.1) lies in [0, 1)."""
    if not is_concrete(gamma):
        return gamma
    return check_in_interval(gamma, "gamma", 0.0, 1.0, closed_low=True, closed_high=False)


MEMORY_ENVIRONMENT_VARIABLE = "SHARPSIM_MAX_ARRAY_BYTES"


def max_array_bytes() -> int:
    """The largest array sharpsim agrees to allocate: half of this machine's physical memory, or the byte count in
    the environment variable ``SHARPSIM_MAX_ARRAY_BYTES``. A request beyond it would swap or be killed by the
    operating system minutes later; refusing it up front names the size instead."""
    override = os.environ.get(MEMORY_ENVIRONMENT_VARIABLE)
    if override is not None:
        try:
            return int(override)
        except ValueError:
            raise ValueError(f"{MEMORY_ENVIRONMENT_VARIABLE} must be a whole number of bytes, got {override!r}") from None
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (ValueError, OSError, AttributeError):  # pragma: no cover - platforms without sysconf
        return 8 * 2**30


def check_allocation(shape, name: str, itemsize: int = 8) -> None:
    """Refuse an array of ``shape`` (``itemsize`` bytes an entry) that would not fit in memory, before allocating
    it: ``ValueError`` naming ``name``, the shape, its size and the limit (``max_array_bytes``)."""
    entries = 1
    for length in shape:
        entries *= int(length)  # Python ints: the product never overflows
    size = entries * itemsize
    limit = max_array_bytes()
    if size > limit:
        raise ValueError(
            f"{name} would need an array of shape {tuple(int(s) for s in shape)} ({size / 2**30:.3g} GiB), more "
            f"than sharpsim allocates ({limit / 2**30:.3g} GiB: half this machine's memory, or "
            f"{MEMORY_ENVIRONMENT_VARIABLE}); use a smaller size"
        )
