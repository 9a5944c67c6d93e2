"""Every bound of the paper as a function named by its theorem (digest §3, §6.1 item 9).

All functions are plain, vectorised numpy: every argument may be a scalar or an array, they broadcast,
and the result is a float64 array (0-d for scalar inputs). They are *reference curves* for plots and
tests, never called inside traced code, so inputs are validated eagerly and a bad value raises
``ValueError`` naming the argument, the value and the allowed range.

Absolute constants. The paper states its rates with unspecified absolute constants c, C (and ≲, ≳, O(·)).
Each function takes ``constant=1.0``, a multiplicative factor applied to the whole bound (for the
prescriptions of Thm 4.1, to each prescribed quantity separately, as the theorem writes ``c·…``). The
bounds whose constants *are* explicit in the paper (Prop. C.1, Lemma I.1, Lemma F.1, Thm D.1's E[m]) are
exact at ``constant=1``. Experiments therefore compare slopes, and may report the constant they measure.

Conventions: ``log_class_size`` is log|Π| (natural log, ≥ 0); log(|Π|/ρ) = log|Π| + log(1/ρ).
``coverage`` is C_cov (or C_cov,γ, C_cov,γ,p: whichever the theorem names), always ≥ 1.
"""

from __future__ import annotations

import numpy as np

from sharpsim.core.validation import as_float_array

__all__ = [
    "prop_c1_num_samples",
    "prop_c1_miss_probability",
    "thm_3_1_lower_bound",
    "thm_3_1_prime_lower_bound",
    "thm_d2_lower_bound",
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
    "thm_4_2_sample_complexity",
    "thm_4_3_sample_complexity",
]


# --- input checks (vectorised; report the first offending entry) -----------------------------------

def _check(value, name: str, low: float, high: float, closed_low: bool, closed_high: bool,
           integer: bool = False) -> np.ndarray:
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


def _unit(value, name):  # ε, δ, ρ ∈ (0, 1)
    return _check(value, name, 0.0, 1.0, False, False)


def _coverage(value, name="coverage"):  # C ≥ 1 (coverage coefficients are ≥ 1)
    return _check(value, name, 1.0, np.inf, True, False)


def _log_size(value):  # log|Π| ≥ 0
    return _check(value, "log_class_size", 0.0, np.inf, True, False)


def _positive(value, name):
    return _check(value, name, 0.0, np.inf, False, False)


def _constant(value):
    return _positive(value, "constant")


def _log_class_over_rho(log_class_size, rho):
    return _log_size(log_class_size) + np.log(1.0 / _unit(rho, "rho"))


# --- Prop. C.1: inference-time best-of-N -------------------------------------------------------------

def prop_c1_num_samples(p_star, rho, constant=1.0):
    """Prop. C.1: N ≥ log(1/ρ) / π_base(y*_γ(x)|x) samples make best-of-N return ŷ ∈ y*_γ(x) w.p. ≥ 1 − ρ.

    ``p_star`` = π_base(y*_γ(x)|x) ∈ (0, 1], ρ ∈ (0, 1). The constant is explicit (1): the bound follows from
    (1 − p*)^N ≤ exp(−N p*) ≤ ρ. Returns the real-valued N (round up for a sample count).
    """
    p_star = _check(p_star, "p_star", 0.0, 1.0, False, True)
    return _constant(constant) * np.log(1.0 / _unit(rho, "rho")) / p_star


def prop_c1_miss_probability(p_star, num_samples):
    """Prop. C.1 (proof): P[BoN_N ∉ y*_γ(x)] = (1 − p*)^N ≤ exp(−N p*). Returns the exact (1 − p*)^N."""
    p_star = _check(p_star, "p_star", 0.0, 1.0, False, True)
    num_samples = _check(num_samples, "num_samples", 1.0, np.inf, True, False, integer=True)
    with np.errstate(divide="ignore"):  # p* = 1 gives log 0 = −inf and a miss probability of exactly 0
        return np.exp(num_samples * np.log1p(-p_star))


# --- Lower bounds: Thm 3.1, 3.1′, D.2 (App. H) ------------------------------------------------------

def thm_3_1_prime_lower_bound(coverage, log_class_size, eps, p=1, adaptive=False, constant=1.0):
    """Thm 3.1′ (general lower bound; γ = 1/2). There is a class Π with sup_π C_cov,γ,p(π) ≲ C and
    log|Π| ≍ d(1 + log(C ε^(−1/p))) on which any algorithm reaching E[P_x[π̂(y*_γ(x)|x) > 1/2]] ≥ 1 − ε needs

        sample-and-evaluate oracle:  m ≳ C log|Π| / ( ε^(1 + 1/p) · (1 + log(C ε^(−1/p))) ),
        adaptive oracle (Def. D.1):  E[m] ≳ C log|Π| / ( ε^(1/p) · (1 + log(C ε^(−1/p))) ).

    ``coverage`` = C ≥ 1, ``log_class_size`` = log|Π| ≥ 0, ε ∈ (0, 1), integer p ≥ 1. The absolute constant
    in ≳ is unspecified (``constant`` multiplies the bound).
    """
    coverage = _coverage(coverage)
    log_class_size = _log_size(log_class_size)
    eps = _unit(eps, "eps")
    p = _check(p, "p", 1.0, np.inf, True, False, integer=True)
    eps_power = eps ** (1.0 / p) if adaptive else eps ** (1.0 + 1.0 / p)
    log_factor = 1.0 + np.log(coverage * eps ** (-1.0 / p))
    return _constant(constant) * coverage * log_class_size / (eps_power * log_factor)


def thm_3_1_lower_bound(coverage, log_class_size, eps, constant=1.0):
    """Thm 3.1 (minimax lower bound, sample-and-evaluate oracle). With sup_π C_cov(π) ≲ C, y^π(x) singletons
    and log|Π| ≍ d(1 + log(C/ε)), any algorithm with E[P_x[π̂(y*(x)|x) > 1/2]] ≥ 1 − ε for all π_base ∈ Π
    needs

        m = n·N ≳ C log|Π| / ( ε² (1 + log(C/ε)) ).

    C ≥ 1, log|Π| ≥ 0, ε ∈ (0, 1). The absolute constant is unspecified (``constant``). This is Thm 3.1′
    with p = 1.
    """
    return thm_3_1_prime_lower_bound(coverage, log_class_size, eps, p=1, adaptive=False, constant=constant)


def thm_d2_lower_bound(coverage, log_class_size, eps, constant=1.0):
    """Thm D.2 (lower bound, adaptive sample-and-evaluate oracle of Def. D.1):

        E[m] ≳ C log|Π| / ( ε (1 + log(C/ε)) ).

    Same instance family and conditions as Thm 3.1; the absolute constant is unspecified (``constant``).
    """
    return thm_3_1_prime_lower_bound(coverage, log_class_size, eps, p=1, adaptive=True, constant=constant)


# --- Thm 4.1 / 4.1′: SFT-Sharpening -------------------------------------------------------------------

def thm_4_1_num_prompts(log_class_size, eps, delta, rho, constant=1.0):
    """Thm 4.1 (prescribed number of prompts):  n = c · log(|Π|/ρ) / (δ ε).

    ε, δ, ρ ∈ (0, 1), log|Π| ≥ 0; c = ``constant`` is unspecified in the paper. Real-valued (round up).
    Under Assumption 4.1 (π^BoN_N ∈ Π), with this n and the N of ``thm_4_1_num_samples``, SFT-Sharpening
    returns π̂ with P_x[π̂(y*(x)|x) ≤ 1 − δ] ≤ ε with probability ≥ 1 − ρ.
    """
    return _constant(constant) * _log_class_over_rho(log_class_size, rho) / (_unit(delta, "delta") * _unit(eps, "eps"))


def thm_4_1_num_samples(coverage, eps, delta, constant=1.0):
    """Thm 4.1 (prescribed responses per prompt):  N = c · C_cov · log(2/δ) / ε  (= N*·log(2/δ), N* = c C_cov/ε).

    C_cov ≥ 1 (use C_cov,γ for Thm 4.1′), ε, δ ∈ (0, 1); c = ``constant`` is unspecified. Real-valued (round up).
    """
    return _constant(constant) * _coverage(coverage) * np.log(2.0 / _unit(delta, "delta")) / _unit(eps, "eps")


def thm_4_1_sample_complexity(coverage, log_class_size, eps, delta, rho, constant=1.0):
    """Thm 4.1, Eq. (7):  m = O( C_cov · log(|Π|/ρ) · log(1/δ) / (δ ε²) ).

    C_cov ≥ 1, log|Π| ≥ 0, ε, δ, ρ ∈ (0, 1); the O(·) constant is ``constant``. Note the product of the
    prescribed n·N is c²·C_cov log(|Π|/ρ) log(2/δ)/(δ ε²): the theorem states log(1/δ) (δ is a constant; the
    two differ by the additive log 2), and this function returns the theorem's form.
    """
    return (_constant(constant) * _coverage(coverage) * _log_class_over_rho(log_class_size, rho)
            * np.log(1.0 / _unit(delta, "delta")) / (_unit(delta, "delta") * _unit(eps, "eps") ** 2))


def thm_4_1_prime_num_samples(effective_samples, delta):
    """Thm 4.1′: responses per prompt N = N* · log(2/δ) for a target N* > 0 (exact relation, no constant)."""
    return _positive(effective_samples, "effective_samples") * np.log(2.0 / _unit(delta, "delta"))


def thm_4_1_prime_error_terms(log_class_size, num_prompts, effective_samples, coverage, delta, rho, constant=1.0):
    """Thm 4.1′, the two terms of the error bound, returned as (statistical, coverage):

        P_x[ π̂(y*_γ(x)|x) ≤ 1 − 2δ ] ≲ (1/δ) · log(|Π|/ρ) / n   +   C_cov,γ / N*,

    valid for any n with N = N*·log(2/δ) responses per prompt, with probability ≥ 1 − ρ, for any γ ∈ (0, 1),
    under Assumption 4.1. The first term is the MLE's statistical error (Lemma F.1 and data processing);
    the second bounds, by Markov, the mass of prompts with 1/π_base(y*_γ(x)|x) > N*. ``coverage`` is C_cov,γ
    ≥ 1, ``num_prompts`` = n > 0, ``effective_samples`` = N* > 0; the constant in ≲ is ``constant`` (applied
    to both terms).
    """
    constant = _constant(constant)
    statistical = constant * _log_class_over_rho(log_class_size, rho) / (
        _unit(delta, "delta") * _positive(num_prompts, "num_prompts"))
    coverage_term = constant * _coverage(coverage) / _positive(effective_samples, "effective_samples")
    return statistical, coverage_term


def thm_4_1_prime_error_bound(log_class_size, num_prompts, effective_samples, coverage, delta, rho, constant=1.0):
    """Thm 4.1′:  c·[ (1/δ) log(|Π|/ρ)/n + C_cov,γ/N* ], the sum of ``thm_4_1_prime_error_terms`` (may exceed 1)."""
    statistical, coverage_term = thm_4_1_prime_error_terms(
        log_class_size, num_prompts, effective_samples, coverage, delta, rho, constant)
    return statistical + coverage_term


# --- Thm D.1 and Lemma I.1: adaptive SFT-Sharpening ---------------------------------------------------

def thm_d1_stopping_parameter(delta):
    """Thm D.1: the stopping parameter of Eq. (10) is μ = ln(2/δ), so that Lemma I.1's miss ≤ e^(−μ) = δ/2."""
    return np.log(2.0 / _unit(delta, "delta"))


def thm_d1_num_prompts(log_class_size, eps, delta, rho, constant=1.0):
    """Thm D.1: n ≳ log(|Π|/ρ) / (δ ε) prompts make the error bound ≤ ε. ``constant`` is the unspecified c."""
    return thm_4_1_num_prompts(log_class_size, eps, delta, rho, constant)


def thm_d1_expected_samples(num_prompts, mode_coverage, delta, constant=1.0):
    """Thm D.1 (proof, via Lemma I.1):  E[m] ≤ n · (1 + μ) · C̄_cov with μ = ln(2/δ).

    The theorem's text writes "n·C_cov log(δ^(−1))"; the proof gives (1 + μ)·C̄_cov (digest §7). Lemma I.1's
    bound E[N_μ] ≤ (μ + 1/|y*|)/P* ≤ (μ + 1)/P* is explicit, so ``constant=1`` is the bound itself.
    ``mode_coverage`` = C̄_cov = E_x[1/max_y π_base(y|x)] ≥ 1, n > 0, δ ∈ (0, 1).
    """
    return (_constant(constant) * _positive(num_prompts, "num_prompts") * (1.0 + thm_d1_stopping_parameter(delta))
            * _coverage(mode_coverage, "mode_coverage"))


def thm_d1_error_bound(log_class_size, num_prompts, delta, rho, constant=1.0):
    """Thm D.1: with μ = ln(2/δ), under Assumption D.1, w.p. ≥ 1 − ρ,

        P_x[ π̂(y*(x)|x) ≤ 1 − δ ] ≲ log(|Π|/ρ) / (δ n).

    There is no coverage term: the stopping rule makes the AdaBoN law δ/2-sharp on every prompt.
    The constant in ≲ is unspecified (``constant``).
    """
    return _constant(constant) * _log_class_over_rho(log_class_size, rho) / (
        _unit(delta, "delta") * _positive(num_prompts, "num_prompts"))


def thm_d1_sample_complexity(mode_coverage, log_class_size, eps, delta, rho, constant=1.0):
    """Thm D.1:  E[m] = O( C̄_cov · log(|Π|/ρ) · log(1/δ) / (δ ε) ) — linear in 1/ε, against 1/ε² for Thm 4.1.

    C̄_cov ≥ 1, log|Π| ≥ 0, ε, δ, ρ ∈ (0, 1); the O(·) constant is ``constant`` (unspecified in the paper).
    """
    return (_constant(constant) * _coverage(mode_coverage, "mode_coverage") * _log_class_over_rho(log_class_size, rho)
            * np.log(1.0 / _unit(delta, "delta")) / (_unit(delta, "delta") * _unit(eps, "eps")))


def lemma_i1_expected_stopping_time(p_star, num_argmax, mu, constant=1.0):
    """Lemma I.1:  E[N_μ] ≤ (μ + 1/|y*|) / P*,  for N_μ = inf{k : 1/max_{j≤k} P(y_j) ≤ k/μ} (Eq. 10).

    ``p_star`` = P* = max_y P(y) ∈ (0, 1] (the mass of ONE maximiser), ``num_argmax`` = |y*| ≥ 1 (an integer),
    μ > 0. The constant is explicit (1).
    """
    p_star = _check(p_star, "p_star", 0.0, 1.0, False, True)
    num_argmax = _check(num_argmax, "num_argmax", 1.0, np.inf, True, False, integer=True)
    if np.any(num_argmax * p_star > 1.0 + 1e-12):
        raise ValueError("num_argmax · p_star must be ≤ 1 (the argmax set cannot carry more than all the mass)")
    return _constant(constant) * (_positive(mu, "mu") + 1.0 / num_argmax) / p_star


def lemma_i1_miss_probability(num_argmax, mu, constant=1.0):
    """Lemma I.1:  P[ŷ_τ ∉ y*] ≤ exp(−|y*| μ) for any stopping time τ ≥ N_μ (explicit constant 1).

    With μ = ln(2/δ) (Thm D.1) this gives π_{N_μ}(y*(x)|x) ≥ 1 − δ/2. ``num_argmax`` = |y*| ≥ 1, μ > 0.
    """
    num_argmax = _check(num_argmax, "num_argmax", 1.0, np.inf, True, False, integer=True)
    return _constant(constant) * np.exp(-num_argmax * _positive(mu, "mu"))


# --- Lemma F.1: MLE generalisation ----------------------------------------------------------------------

def lemma_f1_hellinger_bound(log_class_size, num_prompts, rho, constant=1.0):
    """Lemma F.1 (MLE, finite realizable class): w.p. ≥ 1 − ρ,

        E_{x∼μ}[ D_H²(π̂(·|x), π*(·|x)) ] ≤ 2 log(|Π|/ρ) / n,

    with D_H² = Σ_y (√p − √q)² (no 1/2). The constant 2 is explicit; ``constant`` multiplies the bound.
    """
    return 2.0 * _constant(constant) * _log_class_over_rho(log_class_size, rho) / _positive(num_prompts, "num_prompts")


# --- RLHF rates (Thm 4.2, Thm 4.3), for completeness --------------------------------------------------

def thm_4_2_sample_complexity(concentrability, loss_concentrability, log_class_size, margin, eps, delta, rho,
                              constant=1.0):
    """Thm 4.2 (DPO-style RLHF-Sharpening, β ≲ γ_margin δ ε):

        m = Õ( C_conc · log³(C_loss |Π| / ρ) / (γ_margin² δ² ε²) ).

    C_conc ≥ 1, C_loss ≥ 1, log|Π| ≥ 0, γ_margin > 0, ε, δ, ρ ∈ (0, 1). Constant and the polylog factors hidden
    by Õ are unspecified (``constant``).
    """
    log_term = (np.log(_coverage(loss_concentrability, "loss_concentrability"))
                + _log_class_over_rho(log_class_size, rho))
    return (_constant(constant) * _coverage(concentrability, "concentrability") * log_term ** 3
            / (_positive(margin, "margin") ** 2 * _unit(delta, "delta") ** 2 * _unit(eps, "eps") ** 2))


def thm_4_3_sample_complexity(sec, log_class_size, margin, eps, delta, rho, constant=1.0):
    """Thm 4.3 (informal; XPO with exploration, β = γ_margin / (2 log(2|Y|/δ))):

        m = Õ( SEC(Π) · log(|Π|/ρ) / (γ_margin² δ² ε²) ),

    with no dependence on C_cov. SEC > 0, log|Π| ≥ 0, γ_margin > 0, ε, δ, ρ ∈ (0, 1); constant and hidden
    polylogs (R_max², log²(|Y|/δ) in Thm J.2) unspecified (``constant``).
    """
    return (_constant(constant) * _positive(sec, "sec") * _log_class_over_rho(log_class_size, rho)
            / (_positive(margin, "margin") ** 2 * _unit(delta, "delta") ** 2 * _unit(eps, "eps") ** 2))
