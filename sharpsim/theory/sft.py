"""The upper bounds of SFT-Sharpening and best-of-N, as functions: Proposition C.1 (inference-time best-of-N),
Theorem 4.1 and 4.1′ (SFT-Sharpening), Theorem D.1 and Lemma I.1 (adaptive SFT-Sharpening, Appendix D) and
Lemma F.1 (the MLE's error in Hellinger distance).

Plain, vectorized numpy: every argument may be a scalar or an array, they broadcast, and the result is a float64
array (0-d for scalar inputs). They are reference curves for plots and tests, never called inside traced code, so
inputs are validated eagerly (``theory/checks.py``) and a bad value raises ``ValueError`` naming the argument,
the value and the allowed range (``TypeError`` for non-numbers; arguments that do not broadcast are named with their
shapes). Extreme valid inputs are evaluated in log space where the formula as written would overflow
(``checks.stable``).

Absolute constants. The paper states its rates with unspecified absolute constants (≲, ≳, O(·), Õ(·)); each
function takes ``constant=1.0``, a multiplicative factor applied to the whole bound (for the prescriptions of
Theorem 4.1, to each prescribed quantity separately, as the theorem writes c·…). The bounds whose constants are
explicit in the paper (Proposition C.1, Lemma I.1, Lemma F.1, Theorem D.1's E[m]) are exact at ``constant=1``.
``log_class_size`` is log|Π| (natural log, ≥ 0); ``coverage`` is C_cov (or C_cov,γ: whichever the theorem names), always ≥ 1.
"""

from __future__ import annotations

import numpy as np

from sharpsim.theory.checks import (
    broadcasting,
    check_constant,
    check_coverage,
    check_log_size,
    check_positive,
    check_range,
    check_unit,
    log_log_class_over_rho,
    log_log_inverse,
    quiet,
    stable,
)

__all__ = [
    "prop_c1_num_samples",
    "prop_c1_miss_probability",
    "thm_4_1_num_prompts",
    "thm_4_1_num_samples",
    "thm_4_1_sample_complexity",
    "thm_4_1_prime_num_samples",
    "thm_4_1_prime_error_terms",
    "thm_4_1_prime_error_bound",
    "thm_d1_stopping_parameter",
    "thm_d1_num_prompts",
    "thm_d1_expected_samples",
    "thm_d1_error_bound",
    "thm_d1_sample_complexity",
    "lemma_i1_expected_stopping_time",
    "lemma_i1_miss_probability",
    "lemma_f1_hellinger_bound",
]


# --- Proposition C.1: inference-time best-of-N ------------------------------------------------------------------------

@broadcasting
def prop_c1_num_samples(p_star, rho, constant=1.0):
    """Proposition C.1: N ≥ log(1/ρ) / π_base(y*_γ(x)|x) samples make best-of-N return ŷ ∈ y*_γ(x) w.p. ≥ 1 − ρ.

    ``p_star`` = π_base(y*_γ(x)|x) ∈ (0, 1], ρ ∈ (0, 1). The constant is explicit (1): the bound follows from
    (1 − p*)^N ≤ exp(−N p*) ≤ ρ. Returns the real-valued N (round up for a sample count).
    """
    p_star = check_range(p_star, "p_star", 0.0, 1.0, False, True)
    constant, rho = check_constant(constant), check_unit(rho, "rho")
    with quiet():
        direct = constant * np.log(1.0 / rho) / p_star
        log_value = np.log(constant) + log_log_inverse(rho) - np.log(p_star)
    return stable(direct, log_value)


@broadcasting
def prop_c1_miss_probability(p_star, num_samples):
    """Proposition C.1 (proof): P[BoN_N ∉ y*_γ(x)] = (1 − p*)^N ≤ exp(−N p*). Returns the exact (1 − p*)^N."""
    p_star = check_range(p_star, "p_star", 0.0, 1.0, False, True)
    num_samples = check_range(num_samples, "num_samples", 1.0, np.inf, True, False, integer=True)
    with np.errstate(divide="ignore"):  # p* = 1 gives log 0 = −inf and a miss probability of exactly 0
        return np.exp(num_samples * np.log1p(-p_star))


# --- Theorem 4.1 / 4.1′: SFT-Sharpening -------------------------------------------------------------------------------

@broadcasting
def thm_4_1_num_prompts(log_class_size, eps, delta, rho, constant=1.0):
    """Theorem 4.1 (prescribed number of prompts):  n = c · log(|Π|/ρ) / (δ ε).

    ε, δ, ρ ∈ (0, 1), log|Π| ≥ 0; c = ``constant`` is unspecified in the paper. Real-valued (round up).
    Under Assumption 4.1 (π^BoN_N ∈ Π), with this n and the N of ``thm_4_1_num_samples``, SFT-Sharpening
    returns π̂ with P_x[π̂(y*(x)|x) ≤ 1 − δ] ≤ ε with probability ≥ 1 − ρ.
    """
    return _over_delta(log_class_size, rho, check_unit(delta, "delta"), check_unit(eps, "eps"), constant)


def _over_delta(log_class_size, rho, delta, divisor, constant):
    """c·log(|Π|/ρ)/(δ·divisor), the shape of Theorem 4.1's n, Theorem D.1's error bound and Theorem 4.1′'s
    statistical term (``divisor`` is ε, or n)."""
    constant, log_class_size, rho = check_constant(constant), check_log_size(log_class_size), check_unit(rho, "rho")
    with quiet():
        direct = constant * (log_class_size + np.log(1.0 / rho)) / (delta * divisor)
        log_value = (np.log(constant) + log_log_class_over_rho(log_class_size, rho) - np.log(delta)
                     - np.log(divisor))
    return stable(direct, log_value)


@broadcasting
def thm_4_1_num_samples(coverage, eps, delta, constant=1.0):
    """Theorem 4.1 (prescribed responses per prompt):  N = c · C_cov · log(2/δ) / ε  (= N*·log(2/δ), N* = c C_cov/ε).

    C_cov ≥ 1 (use C_cov,γ for Theorem 4.1′), ε, δ ∈ (0, 1); c = ``constant`` is unspecified. Real-valued (round up).
    """
    constant, coverage = check_constant(constant), check_coverage(coverage)
    delta, eps = check_unit(delta, "delta"), check_unit(eps, "eps")
    with quiet():
        direct = constant * coverage * np.log(2.0 / delta) / eps
        log_value = np.log(constant) + np.log(coverage) + _log_log_two_over(delta) - np.log(eps)
    return stable(direct, log_value)


def _log_log_two_over(delta):
    """log(log(2/δ)), without forming 2/δ."""
    with quiet():
        return np.log(np.log(2.0) - np.log(delta))


@broadcasting
def thm_4_1_sample_complexity(coverage, log_class_size, eps, delta, rho, constant=1.0):
    """Theorem 4.1, Eq. (7):  m = O( C_cov · log(|Π|/ρ) · log(1/δ) / (δ ε²) ).

    C_cov ≥ 1, log|Π| ≥ 0, ε, δ, ρ ∈ (0, 1); the O(·) constant is ``constant``. Note the product of the
    prescribed n·N is c²·C_cov log(|Π|/ρ) log(2/δ)/(δ ε²): the theorem states log(1/δ) (δ is a constant; the
    two differ by the additive log 2), and this function returns the theorem's form.
    """
    return _sample_complexity(coverage, "coverage", log_class_size, eps, 2.0, delta, rho, constant)


def _sample_complexity(coverage, coverage_name, log_class_size, eps, eps_power, delta, rho, constant):
    """c·C·log(|Π|/ρ)·log(1/δ)/(δ·ε^eps_power): Theorem 4.1's m (ε²) and Theorem D.1's E[m] (ε)."""
    constant, coverage = check_constant(constant), check_coverage(coverage, coverage_name)
    log_class_size, rho = check_log_size(log_class_size), check_unit(rho, "rho")
    delta, eps = check_unit(delta, "delta"), check_unit(eps, "eps")
    with quiet():
        denominator = delta * eps ** 2 if eps_power == 2.0 else delta * eps
        direct = constant * coverage * (log_class_size + np.log(1.0 / rho)) * np.log(1.0 / delta) / denominator
        log_value = (np.log(constant) + np.log(coverage) + log_log_class_over_rho(log_class_size, rho)
                     + log_log_inverse(delta) - np.log(delta) - eps_power * np.log(eps))
    return stable(direct, log_value)


@broadcasting
def thm_4_1_prime_num_samples(effective_samples, delta):
    """Theorem 4.1′: responses per prompt N = N* · log(2/δ) for a target N* > 0 (exact relation, no constant)."""
    effective_samples, delta = check_positive(effective_samples, "effective_samples"), check_unit(delta, "delta")
    with quiet():
        direct = effective_samples * np.log(2.0 / delta)
        log_value = np.log(effective_samples) + _log_log_two_over(delta)
    return stable(direct, log_value)


@broadcasting
def thm_4_1_prime_error_terms(log_class_size, num_prompts, effective_samples, coverage, delta, rho, constant=1.0):
    """Theorem 4.1′, the two terms of the error bound, returned as (statistical, coverage):

        P_x[ π̂(y*_γ(x)|x) ≤ 1 − 2δ ] ≲ (1/δ) · log(|Π|/ρ) / n   +   C_cov,γ / N*,

    valid for any n with N = N*·log(2/δ) responses per prompt, with probability ≥ 1 − ρ, for any γ ∈ (0, 1),
    under Assumption 4.1. The first term is the MLE's statistical error (Lemma F.1 and data processing);
    the second bounds, by Markov, the mass of prompts with 1/π_base(y*_γ(x)|x) > N*. ``coverage`` is C_cov,γ
    ≥ 1, ``num_prompts`` = n > 0, ``effective_samples`` = N* > 0; the constant in ≲ is ``constant`` (applied
    to both terms).
    """
    constant = check_constant(constant)
    statistical = _over_delta(log_class_size, rho, check_unit(delta, "delta"),
                              check_positive(num_prompts, "num_prompts"), constant)
    coverage, effective_samples = check_coverage(coverage), check_positive(effective_samples, "effective_samples")
    with quiet():
        coverage_term = stable(constant * coverage / effective_samples,
                               np.log(constant) + np.log(coverage) - np.log(effective_samples))
    return statistical, coverage_term


@broadcasting
def thm_4_1_prime_error_bound(log_class_size, num_prompts, effective_samples, coverage, delta, rho, constant=1.0):
    """Theorem 4.1′:  c·[ (1/δ) log(|Π|/ρ)/n + C_cov,γ/N* ], the sum of ``thm_4_1_prime_error_terms`` (may exceed 1)."""
    statistical, coverage_term = thm_4_1_prime_error_terms(
        log_class_size, num_prompts, effective_samples, coverage, delta, rho, constant)
    return statistical + coverage_term


# --- Theorem D.1 and Lemma I.1: adaptive SFT-Sharpening ---------------------------------------------------------------

@broadcasting
def thm_d1_stopping_parameter(delta):
    """Theorem D.1: the stopping parameter of Eq. (10) is μ = ln(2/δ), so that Lemma I.1's miss ≤ e^(−μ) = δ/2."""
    delta = check_unit(delta, "delta")
    with quiet():
        return stable(np.log(2.0 / delta), _log_log_two_over(delta))


@broadcasting
def thm_d1_num_prompts(log_class_size, eps, delta, rho, constant=1.0):
    """Theorem D.1: n ≳ log(|Π|/ρ) / (δ ε) prompts make the error bound ≤ ε. ``constant`` is the unspecified c."""
    return thm_4_1_num_prompts(log_class_size, eps, delta, rho, constant)


@broadcasting
def thm_d1_expected_samples(num_prompts, mode_coverage, delta, constant=1.0):
    """Theorem D.1 (proof, via Lemma I.1):  E[m] ≤ n · (1 + μ) · C̄_cov with μ = ln(2/δ).

    The theorem's statement writes "n·C_cov log(δ^(−1))"; its proof gives (1 + μ)·C̄_cov, returned here. Lemma I.1's
    bound E[N_μ] ≤ (μ + 1/|y*|)/P* ≤ (μ + 1)/P* is explicit, so ``constant=1`` is the bound itself.
    ``mode_coverage`` = C̄_cov = E_x[1/max_y π_base(y|x)] ≥ 1, n > 0, δ ∈ (0, 1).
    """
    constant, num_prompts = check_constant(constant), check_positive(num_prompts, "num_prompts")
    mode_coverage, delta = check_coverage(mode_coverage, "mode_coverage"), check_unit(delta, "delta")
    with quiet():
        direct = constant * num_prompts * (1.0 + thm_d1_stopping_parameter(delta)) * mode_coverage
        log_value = (np.log(constant) + np.log(num_prompts) + np.log(1.0 + np.log(2.0) - np.log(delta))
                     + np.log(mode_coverage))
    return stable(direct, log_value)


@broadcasting
def thm_d1_error_bound(log_class_size, num_prompts, delta, rho, constant=1.0):
    """Theorem D.1: with μ = ln(2/δ), under Assumption D.1, w.p. ≥ 1 − ρ,

        P_x[ π̂(y*(x)|x) ≤ 1 − δ ] ≲ log(|Π|/ρ) / (δ n).

    There is no coverage term: the stopping rule makes the AdaBoN law δ/2-sharp on every prompt.
    The constant in ≲ is unspecified (``constant``).
    """
    return _over_delta(log_class_size, rho, check_unit(delta, "delta"), check_positive(num_prompts, "num_prompts"),
                       constant)


@broadcasting
def thm_d1_sample_complexity(mode_coverage, log_class_size, eps, delta, rho, constant=1.0):
    """Theorem D.1:  E[m] = O( C̄_cov · log(|Π|/ρ) · log(1/δ) / (δ ε) ) — linear in 1/ε, against 1/ε² for Theorem 4.1.

    C̄_cov ≥ 1, log|Π| ≥ 0, ε, δ, ρ ∈ (0, 1); the O(·) constant is ``constant`` (unspecified in the paper).
    """
    return _sample_complexity(mode_coverage, "mode_coverage", log_class_size, eps, 1.0, delta, rho, constant)


@broadcasting
def lemma_i1_expected_stopping_time(p_star, num_argmax, mu, constant=1.0):
    """Lemma I.1:  E[N_μ] ≤ (μ + 1/|y*|) / P*,  for N_μ = inf{k : 1/max_{j≤k} P(y_j) ≤ k/μ} (Eq. 10).

    ``p_star`` = P* = max_y P(y) ∈ (0, 1] (the mass of ONE maximizer), ``num_argmax`` = |y*| ≥ 1 (an integer),
    μ > 0. The constant is explicit (1).
    """
    p_star = check_range(p_star, "p_star", 0.0, 1.0, False, True)
    num_argmax = check_range(num_argmax, "num_argmax", 1.0, np.inf, True, False, integer=True)
    over = num_argmax * p_star > 1.0 + 1e-12
    if np.any(over):
        index = tuple(int(i) for i in np.argwhere(over)[0]) if over.ndim else ()
        raise ValueError(f"num_argmax · p_star must be ≤ 1 (the argmax set cannot carry more than all the mass), got "
                         f"num_argmax = {float(np.broadcast_to(num_argmax, over.shape)[index])!r} and p_star = "
                         f"{float(np.broadcast_to(p_star, over.shape)[index])!r}")
    constant, mu = check_constant(constant), check_positive(mu, "mu")
    with quiet():
        direct = constant * (mu + 1.0 / num_argmax) / p_star
        log_value = np.log(constant) + np.logaddexp(np.log(mu), -np.log(num_argmax)) - np.log(p_star)
    return stable(direct, log_value)


@broadcasting
def lemma_i1_miss_probability(num_argmax, mu, constant=1.0):
    """Lemma I.1:  P[ŷ_τ ∉ y*] ≤ exp(−|y*| μ) for any stopping time τ ≥ N_μ (explicit constant 1).

    With μ = ln(2/δ) (Theorem D.1) this gives π_{N_μ}(y*(x)|x) ≥ 1 − δ/2. ``num_argmax`` = |y*| ≥ 1, μ > 0.
    """
    num_argmax = check_range(num_argmax, "num_argmax", 1.0, np.inf, True, False, integer=True)
    constant, mu = check_constant(constant), check_positive(mu, "mu")
    with quiet():
        return stable(constant * np.exp(-num_argmax * mu), np.log(constant) - num_argmax * mu)


# --- Lemma F.1: maximum likelihood in Hellinger distance --------------------------------------------------------------

@broadcasting
def lemma_f1_hellinger_bound(log_class_size, num_prompts, rho, constant=1.0):
    """Lemma F.1 (MLE, finite realizable class): w.p. ≥ 1 − ρ,

        E_{x∼μ}[ D_H²(π̂(·|x), π*(·|x)) ] ≤ 2 log(|Π|/ρ) / n,

    with D_H² = Σ_y (√p − √q)² (no 1/2). The constant 2 is explicit; ``constant`` multiplies the bound.
    """
    constant, num_prompts = check_constant(constant), check_positive(num_prompts, "num_prompts")
    log_class_size, rho = check_log_size(log_class_size), check_unit(rho, "rho")
    with quiet():
        direct = 2.0 * constant * (log_class_size + np.log(1.0 / rho)) / num_prompts
        log_value = np.log(2.0) + np.log(constant) + log_log_class_over_rho(log_class_size, rho) - np.log(num_prompts)
    return stable(direct, log_value)
