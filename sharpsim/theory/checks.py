"""Argument checks shared by the bound functions of ``sharpsim.theory``.

Every check is vectorized (scalars or arrays), returns the argument as a float64 array and raises ``ValueError``
naming the argument, the first offending value and the allowed interval. Conventions: ``log_class_size`` is
log|Π| (natural log, ≥ 0), so log(|Π|/ρ) = log|Π| + log(1/ρ); ``coverage`` is a coverage coefficient (C_cov,
C_cov,γ or C_cov,γ,p, whichever the theorem names), always ≥ 1.
"""

from __future__ import annotations

import numpy as np

from sharpsim.core.validation import as_float_array


def check_range(value, name: str, low: float, high: float, closed_low: bool, closed_high: bool,
                integer: bool = False) -> np.ndarray:
    """``value`` in the interval from ``low`` to ``high`` (closed at each end as told; ``integer`` also
    requires whole numbers)."""
    array = as_float_array(value, name)
    if np.isnan(array).any():
        raise ValueError(f"{name} must not be NaN, got {value!r}")
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
