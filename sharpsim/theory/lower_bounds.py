"""The lower bounds on sample complexity (Theorem 3.1, Theorem 3.1′, Theorem D.2; Appendix H), as functions.

Plain, vectorized numpy: every argument may be a scalar or an array, they broadcast, and the result is a float64
array (0-d for scalar inputs). They are reference curves for plots and tests, never called inside traced code, so
inputs are validated eagerly (``theory/checks.py``) and a bad value raises ``ValueError`` naming the argument,
the value and the allowed range (``TypeError`` for non-numbers; arguments that do not broadcast are named with their
shapes). Extreme valid inputs are evaluated in log space where the formula as written would overflow
(``checks.stable``).

Absolute constants. The paper states its rates with unspecified absolute constants (≲, ≳, O(·), Õ(·)); each
function takes ``constant=1.0``, a multiplicative factor applied to the whole bound. Experiments therefore compare
slopes, and may report the constant they measure. ``coverage`` is C (C_cov or C_cov,γ,p) ≥ 1 and
``log_class_size`` is log|Π| ≥ 0.
"""

from __future__ import annotations

import numpy as np

from sharpsim.theory.checks import (
    broadcasting,
    check_constant,
    check_coverage,
    check_flag,
    check_log_size,
    check_range,
    check_unit,
    quiet,
    stable,
)

__all__ = ["thm_3_1_lower_bound", "thm_3_1_prime_lower_bound", "thm_d2_lower_bound"]


@broadcasting(flags=("adaptive",))
def thm_3_1_prime_lower_bound(coverage, log_class_size, eps, p=1, adaptive=False, constant=1.0):
    """Theorem 3.1′ (general lower bound; γ = 1/2). There is a class Π with sup_π C_cov,γ,p(π) ≲ C and
    log|Π| ≍ d(1 + log(C ε^(−1/p))) on which any algorithm reaching E[P_x[π̂(y*_γ(x)|x) > 1/2]] ≥ 1 − ε needs

        sample-and-evaluate oracle:  m ≳ C log|Π| / ( ε^(1 + 1/p) · (1 + log(C ε^(−1/p))) ),
        adaptive oracle (Definition D.1):  E[m] ≳ C log|Π| / ( ε^(1/p) · (1 + log(C ε^(−1/p))) ).

    ``coverage`` = C ≥ 1, ``log_class_size`` = log|Π| ≥ 0, ε ∈ (0, 1), integer p ≥ 1. The absolute constant
    in ≳ is unspecified (``constant`` multiplies the bound).
    """
    coverage = check_coverage(coverage)
    log_class_size = check_log_size(log_class_size)
    eps = check_unit(eps, "eps")
    p = check_range(p, "p", 1.0, np.inf, True, False, integer=True)
    adaptive = check_flag(adaptive, "adaptive")
    constant = check_constant(constant)
    with quiet():
        eps_power = eps ** (1.0 / p) if adaptive else eps ** (1.0 + 1.0 / p)
        log_factor = 1.0 + np.log(coverage * eps ** (-1.0 / p))
        direct = constant * coverage * log_class_size / (eps_power * log_factor)
        log_eps = np.log(eps)
        log_value = (np.log(constant) + np.log(coverage) + np.log(log_class_size)
                     - (1.0 / p if adaptive else 1.0 + 1.0 / p) * log_eps
                     - np.log(1.0 + np.log(coverage) - log_eps / p))
    return stable(direct, log_value)


@broadcasting
def thm_3_1_lower_bound(coverage, log_class_size, eps, constant=1.0):
    """Theorem 3.1 (minimax lower bound, sample-and-evaluate oracle). With sup_π C_cov(π) ≲ C, y^π(x) singletons
    and log|Π| ≍ d(1 + log(C/ε)), any algorithm with E[P_x[π̂(y*(x)|x) > 1/2]] ≥ 1 − ε for all π_base ∈ Π
    needs

        m = n·N ≳ C log|Π| / ( ε² (1 + log(C/ε)) ).

    C ≥ 1, log|Π| ≥ 0, ε ∈ (0, 1). The absolute constant is unspecified (``constant``). This is Theorem 3.1′
    with p = 1.
    """
    return thm_3_1_prime_lower_bound(coverage, log_class_size, eps, p=1, adaptive=False, constant=constant)


@broadcasting
def thm_d2_lower_bound(coverage, log_class_size, eps, constant=1.0):
    """Theorem D.2 (lower bound, adaptive sample-and-evaluate oracle of Definition D.1):

        E[m] ≳ C log|Π| / ( ε (1 + log(C/ε)) ).

    Same instance family and conditions as Theorem 3.1; the absolute constant is unspecified (``constant``).
    """
    return thm_3_1_prime_lower_bound(coverage, log_class_size, eps, p=1, adaptive=True, constant=constant)
