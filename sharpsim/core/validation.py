"""Input checks shared by every public constructor and algorithm.

Each check raises ``ValueError``/``TypeError`` naming the argument, the bad value and what is allowed, so
that a user sees what to fix rather than a silent NaN further down. On concrete values a check raises at once.
Inside ``jit``/``vmap``/``lax.scan`` the values are tracers: there the same checks are emitted as
``jax.experimental.checkify`` checks when the transformed function runs under ``sharpsim.checked`` (checked mode,
which raises the same ``ValueError`` after the computation), and are skipped otherwise (the caller is trusted,
and the compiled code carries no checks). A check about a type or a shape is static and raises at trace time in
every mode.
"""

from __future__ import annotations

import numbers
import os

import jax
import jax.numpy as jnp
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


def traced_check(ok, message: str, **values) -> None:
    """In checked mode, a check that raises ``ValueError(message.format(**values))`` when any entry of ``ok`` is
    False once the computation has run; outside checked mode nothing is emitted. ``values`` are traced arrays."""
    from sharpsim.core.checked import VALUE_TAG, checks_functionalized  # checked.py imports this module

    if checks_functionalized():
        from jax.experimental import checkify

        checkify.check(jnp.all(ok), VALUE_TAG + message, **values)


def _first_entry(bad):
    """The index (an int array) of the first True entry of a traced boolean array, and its flat position."""
    flat = jnp.argmax(jnp.ravel(bad))
    if jnp.ndim(bad) == 0:
        return jnp.zeros(0, jnp.int64), flat
    return jnp.stack(jnp.unravel_index(flat, jnp.shape(bad))), flat


def check_finite_nonnegative(array, name: str) -> None:
    if not is_concrete(array):
        array = jnp.asarray(array)
        for bad, what in ((~jnp.isfinite(array), "finite"), (array < 0, "non-negative")):
            index, flat = _first_entry(bad)
            traced_check(~bad, f"{name} must be {what}; entry {{index}} is {{value}}", index=index,
                         value=jnp.ravel(array)[flat])
        return
    array = np.asarray(array)  # numpy: inside a trace, jnp operations on a concrete array would give tracers
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
    if not is_concrete(array):
        sums = jnp.sum(jnp.asarray(array), axis=-1)
        bad = jnp.abs(sums - 1.0) > SIMPLEX_TOLERANCE
        index, flat = _first_entry(bad)
        where = f" {row_name} {{index}}" if jnp.ndim(sums) else ""
        traced_check(~bad, f"{name}{where} must sum to 1 (within {SIMPLEX_TOLERANCE:g}); it sums to {{total}}",
                     index=index, total=jnp.ravel(sums)[flat])
        return
    array = np.asarray(array)
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
    """An integer ≥ ``minimum``. A traced value passes through (checked in checked mode: a float dtype must hold
    a whole number, since callers pass n beyond int64 as a float)."""
    if not is_concrete(value):
        dtype = jnp.result_type(value)
        if not (jnp.issubdtype(dtype, jnp.integer) or jnp.issubdtype(dtype, jnp.floating)):
            raise TypeError(f"{name} must be an integer >= {minimum}, got a traced array of dtype {dtype}")
        whole = True if jnp.issubdtype(dtype, jnp.integer) else jnp.floor(value) == value
        traced_check((value >= minimum) & whole, f"{name} must be an integer >= {minimum}, got {{value}}",
                     value=value)
        return value
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


def concrete_numbers(value, name: str, allowed: str) -> np.ndarray:
    """A concrete value as a numpy array, or ``TypeError`` naming ``name`` for strings, None, mappings, sets and
    ragged or object data (``allowed`` says what is wanted)."""
    if value is None or isinstance(value, (str, bytes, dict, set, frozenset)):
        raise TypeError(f"{name} must be {allowed}, got {type(value).__name__} {value!r:.40}")
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        raise TypeError(f"{name} must be a rectangular array of {allowed}, got a ragged "
                        f"{type(value).__name__}") from None
    if array.dtype == object or array.dtype.kind in "USV":
        raise TypeError(f"{name} must be {allowed}, got dtype {array.dtype}")
    return array


def check_index_array(value, name: str, size: int, what: str = ""):
    """Integer indices into a set of ``size`` elements (``what``: prompt, response, token): an integer array (or
    scalar) with every entry in [0, size). ``TypeError`` naming ``name`` for anything that is not integer data
    (floats, bools, strings, None, objects), ``ValueError`` naming the first entry out of range; a traced array
    has its dtype checked always and its entries in checked mode only (no cost otherwise). Returns the indices as
    a JAX integer array, so that a JAX gather never clamps an out-of-range index into a silently wrong answer."""
    allowed = f"integer {what + ' ' if what else ''}indices in [0, {size})"
    # "targets tokens must lie in [0, 3)", but "prompts must lie in [0, 2)" (the name already says what)
    subject = name if not what or name.rstrip("s").endswith(what) else f"{name} {what}s"
    out_of_range = f"{subject} must lie in [0, {size})"
    if not is_concrete(value):
        dtype = jnp.result_type(value)
        if not jnp.issubdtype(dtype, jnp.integer):
            raise TypeError(f"{name} must be {allowed}, got a traced array of dtype {dtype}")
        array = jnp.asarray(value)
        from sharpsim.core.checked import checks_functionalized  # checked.py imports this module

        if checks_functionalized():
            bad = (array < 0) | (array >= size)
            index, flat = _first_entry(bad)
            traced_check(~bad, out_of_range + "; entry {index} is {value}", index=index,
                         value=jnp.ravel(array)[flat])
        return array
    array = concrete_numbers(value, name, allowed)
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} must be {allowed}, got dtype {array.dtype}")
    if array.size and (array.min() < 0 or array.max() >= size):  # two passes, no boolean temporaries
        bad = (array < 0) | (array >= size)
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f"entry {index} is " if index else "got "
        raise ValueError(f"{out_of_range}; {where}{array[index]}")
    return value if isinstance(value, jax.Array) else jnp.asarray(array)  # a device array is not copied back


def check_real_array(value, name: str, finite: bool = True):
    """Real-valued array data (log-probabilities, rewards, weights, parameters): ``TypeError`` naming ``name`` for
    strings, None, objects or complex data, ``ValueError`` for NaN (or ±inf when ``finite``). ``-inf`` is allowed
    when not ``finite`` (a log-probability of zero). A traced array has its dtype checked always and its entries
    in checked mode only. Returns a float64 JAX array."""
    what = "finite" if finite else "a number below +inf (not NaN)"
    if not is_concrete(value):
        dtype = jnp.result_type(value)
        if not (jnp.issubdtype(dtype, jnp.floating) or jnp.issubdtype(dtype, jnp.integer)):
            raise TypeError(f"{name} must hold real numbers, got a traced array of dtype {dtype}")
        array = jnp.asarray(value, jnp.float64)
        from sharpsim.core.checked import checks_functionalized  # checked.py imports this module

        if checks_functionalized():
            bad = ~jnp.isfinite(array) if finite else jnp.isnan(array) | (array == jnp.inf)
            index, flat = _first_entry(bad)
            traced_check(~bad, f"{name} must be {what}; entry {{index}} is {{value}}", index=index,
                         value=jnp.ravel(array)[flat])
        return array
    array = as_float_array(concrete_numbers(value, name, "array-like of real numbers"), name)
    bad = ~np.isfinite(array) if finite else np.isnan(array) | np.isposinf(array)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f"entry {index} is " if index else "got "
        raise ValueError(f"{name} must be {what}; {where}{array[index]}")
    return jnp.asarray(array)


def check_in_interval(value, name: str, low: float, high: float, closed_low: bool, closed_high: bool) -> float:
    """A real number in the interval; a traced value passes through (checked in checked mode)."""
    interval = f"{'[' if closed_low else '('}{low:g}, {high:g}{']' if closed_high else ')'}"
    if not is_concrete(value):
        ok_low = value >= low if closed_low else value > low
        ok_high = value <= high if closed_high else value < high
        finite = jnp.isfinite(value) | ((value == jnp.inf) & (high == np.inf) & closed_high)
        traced_check(ok_low & ok_high & finite, f"{name} must lie in {interval}, got {{value}}", value=value)
        return value
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        if isinstance(value, (np.ndarray, jax.Array)) and np.ndim(value) == 0:
            value = float(value)
        else:
            raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    ok_low = value >= low if closed_low else value > low
    ok_high = value <= high if closed_high else value < high
    if not (np.isfinite(value) or (high == np.inf and value == np.inf and closed_high)) or not (ok_low and ok_high):
        raise ValueError(f"{name} must lie in {interval}, got {value!r}")
    return value


def check_gamma(gamma) -> float:
    """γ of the approximate argmax set y*_γ (Definition F.1) lies in [0, 1)."""
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
        # beyond float range (sizes like 10**400) the size is shown as a power of two
        amount = f"{size / 2**30:.3g} GiB" if size < 2**1000 else f"2^{size.bit_length() - 1} bytes"
        raise ValueError(
            f"{name} is too large: arrays of shape {tuple(int(s) for s in shape)} would need about {amount}, more "
            f"than sharpsim allocates ({limit / 2**30:.3g} GiB: half this machine's memory, or "
            f"{MEMORY_ENVIRONMENT_VARIABLE}); use a smaller size"
        )
