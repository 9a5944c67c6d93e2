"""Argument checks shared by the bound functions of ``sharpsim.theory``.

Every check is vectorized (scalars or arrays), returns the argument as a float64 array and raises ``ValueError``
naming the argument, the first offending value and the allowed interval. Conventions: ``log_class_size`` is
log|Π| (natural log, ≥ 0), so log(|Π|/ρ) = log|Π| + log(1/ρ); ``coverage`` is a coverage coefficient (C_cov,
C_cov,γ or C_cov,γ,p, whichever the theorem names), always ≥ 1.

Two more shared pieces: ``broadcasting`` (a decorator: the numeric arguments of a bound must broadcast together,
checked before anything is computed, with an error naming both arguments and shapes) and ``stable`` (a bound as
written, or its logarithm exponentiated where the formula as written over- or underflows in an intermediate, so
that extreme valid inputs such as C_cov = 1e300 or ε = 1e-300 give the correctly rounded value: finite whenever
the bound is below the largest float64, ``inf`` only when the bound itself exceeds it).
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from sharpsim.core.shapes import broadcast_shape
from sharpsim.core.validation import as_float_array


def check_range(value, name: str, low: float, high: float, closed_low: bool, closed_high: bool,
                integer: bool = False) -> np.ndarray:
    """``value`` in the interval from ``low`` to ``high`` (closed at each end as told; ``integer`` also
    requires whole numbers)."""
    array = _real_array(value, name)
    if np.isnan(array).any():
        where = f" at index {tuple(int(i) for i in np.argwhere(np.isnan(array))[0])}" if array.ndim else ""
        raise ValueError(f"{name} must not be NaN, got nan{where}")
    ok = (array >= low if closed_low else array > low) & (array <= high if closed_high else array < high)
    if not np.isposinf(high):
        ok &= np.isfinite(array)
    if integer:
        ok &= np.isfinite(array) & (array == np.round(array))
    if not ok.all():
        bad = float(array[~ok].ravel()[0]) if array.ndim else float(array)
        interval = f"{'[' if closed_low else '('}{low:g}, {high:g}{']' if closed_high else ')'}"
        kind = "an integer in" if integer else "in"
        raise ValueError(f"{name} must be {kind} {interval}, got {bad!r}")
    return array


def _real_array(value, name: str) -> np.ndarray:
    """``value`` as float64 (``as_float_array``); booleans are refused too (True is not a number of samples)."""
    try:
        is_boolean = np.asarray(value).dtype == np.bool_
    except (ValueError, TypeError):
        is_boolean = False  # a ragged list: as_float_array names it
    if is_boolean:
        raise TypeError(f"{name} must hold real numbers, got booleans ({value!r})")
    return as_float_array(value, name)


def check_unit(value, name):
    """ε, δ, ρ ∈ (0, 1)."""
    return check_range(value, name, 0.0, 1.0, False, False)


def check_coverage(value, name="coverage"):
    """A coverage (or concentrability) coefficient, ≥ 1."""
    return check_range(value, name, 1.0, np.inf, True, False)


def check_log_size(value, name="log_class_size"):
    """log|Π| ≥ 0 (or the log of a covering number)."""
    return check_range(value, name, 0.0, np.inf, True, False)


def check_positive(value, name):
    """A finite number > 0."""
    return check_range(value, name, 0.0, np.inf, False, False)


def check_constant(value):
    """The multiplicative ``constant`` of a bound, > 0."""
    return check_positive(value, "constant")


def log_class_over_rho(log_class_size, rho):
    """log(|Π|/ρ) = log|Π| + log(1/ρ), both checked."""
    return check_log_size(log_class_size) + np.log(1.0 / check_unit(rho, "rho"))


def check_flag(value, name: str) -> bool:
    """A Python or numpy bool (not a truthy string or number)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")
    return bool(value)


def broadcasting(function=None, *, flags: tuple[str, ...] = ()):
    """Decorator for a bound whose arguments broadcast: before the body runs, every argument but ``flags`` must have a
    shape that broadcasts with the others (``ValueError`` naming two that do not, with their shapes), and the
    broadcast result must fit in memory."""
    if function is None:
        return functools.partial(broadcasting, flags=flags)
    signature = inspect.signature(function)

    @functools.wraps(function)
    def bound(*args, **kwargs):
        arguments = signature.bind(*args, **kwargs)
        arguments.apply_defaults()
        broadcast_shape({name: value for name, value in arguments.arguments.items() if name not in flags},
                        f"{function.__name__}'s result")
        return function(*args, **kwargs)

    return bound


def quiet():
    """Silence numpy's overflow/underflow warnings while a bound and its logarithm are evaluated (``stable`` picks
    whichever is right, so the warnings would only be noise)."""
    return np.errstate(all="ignore")


LOG_AGREEMENT = 1e-12  # |log(direct) − log_value| above this: the formula as written lost the value


def stable(direct, log_value):
    """``direct`` (a bound ≥ 0 evaluated as the paper writes it) wherever its logarithm agrees with ``log_value`` (the
    same bound computed as a sum of logarithms) to ``LOG_AGREEMENT``; ``exp(log_value)`` elsewhere, i.e. where an
    intermediate of the formula overflowed, underflowed or went subnormal. Values that were right are returned
    unchanged, bit for bit; a bound beyond the float64 range is ``inf`` (or 0 below it), never NaN."""
    with quiet():
        agree = np.isfinite(direct) & (np.abs(np.log(direct) - log_value) <= LOG_AGREEMENT)
        agree |= (direct == 0) & (log_value == -np.inf)
        if np.all(agree):
            return direct
        return np.where(agree, direct, np.exp(log_value))[()]


def log_log_inverse(value):
    """log(log(1/x)) for x ∈ (0, 1), without forming 1/x (which overflows for subnormal x)."""
    with quiet():
        return np.log(-np.log(value))


def log_log_class_over_rho(log_class_size, rho):
    """log(log(|Π|/ρ)) = log(log|Π| − log ρ), without forming 1/ρ."""
    with quiet():
        return np.log(log_class_size - np.log(rho))
