"""The bounds of RLHF-Sharpening (Section 2.2, Appendix J), as functions: the rates of Theorem 4.2 and Theorem 4.3,
Theorem 4.2′, Theorem J.1, Theorem J.2, the β thresholds, Lemmas J.4 and J.5, Theorem J.3's constants, and an exact
evaluator of the sequential extrapolation coefficient (Definition J.1, in ``extrapolation``, re-exported here).

Same conventions as ``theory/sft.py`` and ``theory/lower_bounds.py``: vectorized numpy, eager validation
(``theory/checks.py``) with errors naming the argument, ``constant`` multiplying a bound whose absolute constant
(and, for Õ, polylog factors) the paper leaves unspecified; arguments that do not broadcast are named with their
shapes, and extreme valid inputs are evaluated in log space where the formula as written would overflow
(``checks.stable``). ``log_net_size`` is log N(Π, ε_disc) (natural log, ≥ 0);
``reward_range`` is R_max, ``log_ratio_range`` V_max, ``sec`` SEC(Π) (> 0), ``num_rounds`` T.
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
    quiet,
    stable,
)
from sharpsim.theory.extrapolation import sequential_extrapolation_coefficient

__all__ = [
    "thm_4_2_sample_complexity",
    "thm_4_3_sample_complexity",
    "thm_4_2_beta",
    "thm_4_2_prime_error_terms",
    "thm_4_2_prime_error_bound",
    "thm_j2_beta",
    "thm_j2_target_miss_bound",
    "thm_j1_alpha",
    "thm_j1_regret_bound",
    "thm_j2_alpha",
    "thm_j2_min_rounds",
    "thm_j2_eps_disc",
    "thm_j2_sample_complexity",
    "lemma_j4_log_net_size",
    "lemma_j5_sec_bound",
    "lemma_j5_min_lambda",
    "thm_j3_reward_range",
    "thm_j3_max_theta_norm",
    "sequential_extrapolation_coefficient",
]


def _nonnegative(value, name):
    return check_range(value, name, 0.0, np.inf, True, False)


def _margin(value):  # γ_margin ∈ (0, inf]: inf when no prompt has non-argmax mass
    return check_range(value, "margin", 0.0, np.inf, False, True)


def _num_responses(value):
    return check_range(value, "num_responses", 1.0, np.inf, True, False, integer=True)


# --- the rates of Theorem 4.2 and Theorem 4.3 -------------------------------------------------------------------------

@broadcasting
def thm_4_2_sample_complexity(concentrability, loss_concentrability, log_class_size, margin, eps, delta, rho,
                              constant=1.0):
    """Theorem 4.2 (DPO-style RLHF-Sharpening, β ≲ γ_margin δ ε):

        m = Õ( C_conc · log³(C_loss |Π| / ρ) / (γ_margin² δ² ε²) ).

    C_conc ≥ 1, C_loss ≥ 1, log|Π| ≥ 0, γ_margin > 0, ε, δ, ρ ∈ (0, 1). Constant and the polylog factors hidden
    by Õ are unspecified (``constant``).
    """
    loss_concentrability = check_coverage(loss_concentrability, "loss_concentrability")
    log_class_size, rho = check_log_size(log_class_size), check_unit(rho, "rho")
    constant, concentrability = check_constant(constant), check_coverage(concentrability, "concentrability")
    margin, delta, eps = check_positive(margin, "margin"), check_unit(delta, "delta"), check_unit(eps, "eps")
    with quiet():
        log_term = np.log(loss_concentrability) + (log_class_size + np.log(1.0 / rho))
        direct = constant * concentrability * log_term ** 3 / (margin ** 2 * delta ** 2 * eps ** 2)
        log_value = (np.log(constant) + np.log(concentrability)
                     + 3.0 * _log_log_term(loss_concentrability, log_class_size, rho)
                     - 2.0 * (np.log(margin) + np.log(delta) + np.log(eps)))
    return stable(direct, log_value)


def _log_log_term(loss_concentrability, log_class_size, rho):
    """log(log(C_loss|Π|/ρ)) = log(log C_loss + log|Π| − log ρ), without forming 1/ρ."""
    with quiet():
        return np.log(np.log(loss_concentrability) + log_class_size - np.log(rho))


@broadcasting
def thm_4_3_sample_complexity(sec, log_class_size, margin, eps, delta, rho, constant=1.0):
    """Theorem 4.3 (informal; XPO with exploration, β = γ_margin / (2 log(2|Y|/δ))):

        m = Õ( SEC(Π) · log(|Π|/ρ) / (γ_margin² δ² ε²) ),

    with no dependence on C_cov. SEC > 0, log|Π| ≥ 0, γ_margin > 0, ε, δ, ρ ∈ (0, 1); constant and hidden
    polylogs (R_max², log²(|Y|/δ) in Theorem J.2) unspecified (``constant``).
    """
    constant, sec = check_constant(constant), check_positive(sec, "sec")
    log_class_size, rho = check_log_size(log_class_size), check_unit(rho, "rho")
    margin, delta, eps = check_positive(margin, "margin"), check_unit(delta, "delta"), check_unit(eps, "eps")
    with quiet():
        direct = constant * sec * (log_class_size + np.log(1.0 / rho)) / (margin ** 2 * delta ** 2 * eps ** 2)
        log_value = (np.log(constant) + np.log(sec) + log_log_class_over_rho(log_class_size, rho)
                     - 2.0 * (np.log(margin) + np.log(delta) + np.log(eps)))
    return stable(direct, log_value)


# --- offline (Theorem 4.2 / 4.2′) -------------------------------------------------------------------------------------

@broadcasting
def thm_4_2_beta(margin, delta, eps, constant=1.0):
    """Theorem 4.2's regularization: β ≲ γ_margin·δ·ε (offline), returned as ``constant``·γ_margin·δ·ε."""
    constant, margin = check_constant(constant), _margin(margin)
    delta, eps = check_unit(delta, "delta"), check_unit(eps, "eps")
    with quiet():
        return stable(constant * margin * delta * eps, np.log(constant) + np.log(margin) + np.log(delta) + np.log(eps))


@broadcasting
def thm_4_2_prime_error_terms(concentrability, loss_concentrability, log_class_size, num_prompts, beta, margin,
                              delta, rho, gamma=0.0, constant=1.0):
    """Theorem 4.2′, the three terms of the bound (statistical, regularization, approximation), each already divided by
    γ_margin·δ:

        (1/(γ_margin δ))·[ √(C_conc log³(C_loss|Π|/ρ)/n) ,  β log C_conc ,  γ ].
    """
    constant, margin, delta = check_constant(constant), _margin(margin), check_unit(delta, "delta")
    loss_concentrability = check_coverage(loss_concentrability, "loss_concentrability")
    log_class_size, rho = check_log_size(log_class_size), check_unit(rho, "rho")
    conc = check_coverage(concentrability, "concentrability")
    num_prompts, beta = check_positive(num_prompts, "num_prompts"), check_positive(beta, "beta")
    approximation = check_range(gamma, "gamma", 0.0, 1.0, True, False)
    with quiet():
        scale = constant / (margin * delta)
        log_term = np.log(loss_concentrability) + (log_class_size + np.log(1.0 / rho))
        statistical = np.sqrt(conc * log_term**3 / num_prompts)
        regularization = beta * np.log(conc)
        log_scale = np.log(constant) - np.log(margin) - np.log(delta)
        log_statistical = 0.5 * (np.log(conc) + 3.0 * _log_log_term(loss_concentrability, log_class_size, rho)
                                 - np.log(num_prompts))
        return (stable(scale * statistical, log_scale + log_statistical),
                stable(scale * regularization, log_scale + np.log(beta) + np.log(np.log(conc))),
                stable(scale * approximation, log_scale + np.log(approximation)))


@broadcasting
def thm_4_2_prime_error_bound(concentrability, loss_concentrability, log_class_size, num_prompts, beta, margin,
                              delta, rho, gamma=0.0, constant=1.0):
    """Theorem 4.2′: P_x[π̂(y*_γ(x)|x) ≤ 1 − δ] ≲ (1/(γ_margin δ))·( √(C_conc log³(C_loss|Π|/ρ)/n) + β log C_conc + γ ).

    The sum of ``thm_4_2_prime_error_terms`` (may exceed 1; the Õ's polylogs are in ``constant``).
    """
    return sum(thm_4_2_prime_error_terms(concentrability, loss_concentrability, log_class_size, num_prompts, beta,
                                         margin, delta, rho, gamma, constant))


# --- the online β and the target's sharpness (Theorem J.2 step 1, Theorem 4.3) ----------------------------------------

@broadcasting
def thm_j2_beta(margin, num_responses, delta):
    """β = γ_margin / (2 log(2|Y|/δ))   (Theorem J.2 condition β^{-1} ≥ 2γ_margin^{-1} log(2|Y|/δ); Theorem 4.3's choice).

    Exact (no constant), as printed. Inside the theorem's range γ_margin ∈ (0, 1) any β at most this makes
    π*_β(y*(x)|x) ≥ 1 − δ/2 (step 1 of the proof, whose inequality holds up to γ_margin = 2.513). The function
    accepts any γ_margin > 0, but past 2.513 the formula carries no guarantee (the theorem does not claim one);
    ``kl_regularized.sharpening_beta`` extends the step there (log(1 + γ_margin) in place of γ_margin/2).
    ``inf`` for γ_margin = inf.
    """
    margin, num_responses, delta = _margin(margin), _num_responses(num_responses), check_unit(delta, "delta")
    with quiet():
        direct = margin / (2.0 * np.log(2.0 * num_responses / delta))
        return stable(direct, np.log(margin) - np.log(2.0) - _log_log_two_responses_over(num_responses, delta))


def _log_log_two_responses_over(num_responses, delta):
    """log(log(2|Y|/δ)), without forming 2|Y|/δ."""
    with quiet():
        return np.log(np.log(2.0) + np.log(num_responses) - np.log(delta))


@broadcasting
def thm_j2_target_miss_bound(margin, beta, num_responses):
    """1 − π*_β(y*(x)|x) ≤ (|Y| − 1)·(1 + γ_margin)^{−(1+1/β)}   (proof of Theorem J.2, step 1; exact constant).

    Each non-argmax y has π*_β(y|x)/π*_β(y*|x) = (π_base(y|x)/π_base(y*|x))^{1+1/β} ≤ (1 + γ_margin)^{−(1+1/β)}.
    Evaluated in log space; capped at 1.
    """
    num_responses, beta, margin = _num_responses(num_responses), check_positive(beta, "beta"), _margin(margin)
    with quiet():
        log_bound = np.log(np.maximum(num_responses - 1.0, 1e-300)) - (1.0 + 1.0 / beta) * np.log1p(margin)
        bound = np.minimum(1.0, np.exp(log_bound))
    if np.all(num_responses > 1.0):
        return bound
    return np.where(num_responses > 1.0, bound, 0.0)[()]  # a single response cannot be missed


# --- XPO (Theorem J.1, J.2) -------------------------------------------------------------------------------------------

def _rounds(value):
    """The horizon T of XPO, at least one round (log(2N T/ρ) is then positive)."""
    return check_range(value, "num_rounds", 1.0, np.inf, True, False)


def _log_2nt_over(log_net_size, num_rounds, rho):
    """(log(2N(Π, ε_disc)T/ρ) as written, its log computed without forming 1/ρ); arguments already checked."""
    with quiet():
        direct = np.log(2.0) + log_net_size + np.log(num_rounds) + np.log(1.0 / rho)
        return direct, np.log(np.log(2.0) + log_net_size + np.log(num_rounds) - np.log(rho))


def _alpha(beta, reward_range, log_ratio_range, sec, log_net_size, num_rounds, rho, rho_name):
    beta, reward_range = check_positive(beta, "beta"), check_positive(reward_range, "reward_range")
    log_ratio_range, sec = _nonnegative(log_ratio_range, "log_ratio_range"), check_positive(sec, "sec")
    log_net_size, num_rounds = check_log_size(log_net_size, "log_net_size"), _rounds(num_rounds)
    log_2nt, log_log_2nt = _log_2nt_over(log_net_size, num_rounds, check_unit(rho, rho_name))
    with quiet():
        direct = beta / (reward_range + log_ratio_range) * np.sqrt(log_2nt / (sec * num_rounds))
        log_value = (np.log(beta) - np.logaddexp(np.log(reward_range), np.log(log_ratio_range))
                     + 0.5 * (log_log_2nt - np.log(sec) - np.log(num_rounds)))
    return stable(direct, log_value)


@broadcasting
def thm_j1_alpha(beta, reward_range, log_ratio_range, sec, log_net_size, num_rounds, rho):
    """Theorem J.1: α = (β/(R_max + V_max))·√( log(2N(Π, ε_disc)T/ρ) / (SEC(Π)·T) )   (exact; T ≥ 1 round)."""
    return _alpha(beta, reward_range, log_ratio_range, sec, log_net_size, num_rounds, rho, "rho")


@broadcasting
def thm_j1_regret_bound(sec, log_net_size, num_rounds, rho, reward_range, log_ratio_range, beta, eps_disc,
                        constant=1.0):
    """Theorem J.1: β·D_KL(π̂ ‖ π*_β) = J_β(π*_β) − J_β(π̂)
        ≲ (R_max + V_max)·√( SEC log(2N(Π, ε_disc)T/ρ) / T ) + β·ε_disc·√(SEC·T)."""
    sec, rounds = check_positive(sec, "sec"), _rounds(num_rounds)
    reward_range, log_ratio_range = check_positive(reward_range, "reward_range"), _nonnegative(log_ratio_range,
                                                                                              "log_ratio_range")
    log_2nt, log_log_2nt = _log_2nt_over(check_log_size(log_net_size, "log_net_size"), rounds, check_unit(rho, "rho"))
    beta, eps_disc = check_positive(beta, "beta"), _nonnegative(eps_disc, "eps_disc")
    constant = check_constant(constant)
    with quiet():
        spread = reward_range + log_ratio_range
        statistical = spread * np.sqrt(sec * log_2nt / rounds)
        discretization = beta * eps_disc * np.sqrt(sec * rounds)
        direct = constant * (statistical + discretization)
        log_statistical = (np.logaddexp(np.log(reward_range), np.log(log_ratio_range))
                           + 0.5 * (np.log(sec) + log_log_2nt - np.log(rounds)))
        log_discretization = np.log(beta) + np.log(eps_disc) + 0.5 * (np.log(sec) + np.log(rounds))
        log_value = np.log(constant) + np.logaddexp(log_statistical, log_discretization)
    return stable(direct, log_value)


@broadcasting
def thm_j2_alpha(beta, reward_range, sec, log_net_size, num_rounds, delta):
    """Theorem J.2: α = (β/R_max)·√( log(2N(Π, ε_disc)T/δ) / (SEC(Π)·T) )   (exact; the paper writes δ here, not ρ)."""
    return _alpha(beta, reward_range, 0.0, sec, log_net_size, num_rounds, delta, "delta")


@broadcasting
def thm_j2_min_rounds(reward_range, sec, log_net_size, eps, delta, beta, rho, constant=1.0):
    """Theorem J.2's condition T ≥ C·R_max²·SEC·log(2N(Π, ε_disc)T/ρ) / (ε²δ²β²), solved for the smallest T.

    T appears on both sides; with A = C R² SEC/(ε²δ²β²) and b = log(2N/ρ), the fixed point of T = A(b + log T)
    is reached by iterating from T = max(A·b, 1) (the map is increasing and concave, so this converges upwards
    when A ≥ 1). Returns the ceiling; vectorized.
    """
    constant, sec = check_constant(constant), check_positive(sec, "sec")
    reward_range = check_positive(reward_range, "reward_range")
    eps, delta, beta = check_unit(eps, "eps"), check_unit(delta, "delta"), check_positive(beta, "beta")
    log_net_size, rho = check_log_size(log_net_size, "log_net_size"), check_unit(rho, "rho")
    with quiet():
        scale = stable(constant * reward_range ** 2 * sec / (eps * delta * beta) ** 2,
                       np.log(constant) + 2.0 * (np.log(reward_range) - np.log(eps) - np.log(delta) - np.log(beta))
                       + np.log(sec))
        offset = np.log(2.0) + log_net_size + np.log(1.0 / rho)
        offset = np.where(np.isfinite(offset), offset, np.log(2.0) + log_net_size - np.log(rho))
        rounds = np.maximum(scale * offset, 1.0)
        for _ in range(200):
            rounds = np.maximum(scale * (offset + np.log(rounds)), 1.0)
        return np.ceil(rounds)


@broadcasting
def thm_j2_eps_disc(eps, delta, sec, num_rounds, constant=1.0):
    """Theorem J.2: ε_disc ≤ c·ε·δ / √(SEC(Π)·T)."""
    constant, eps, delta = check_constant(constant), check_unit(eps, "eps"), check_unit(delta, "delta")
    sec, num_rounds = check_positive(sec, "sec"), check_positive(num_rounds, "num_rounds")
    with quiet():
        direct = constant * eps * delta / np.sqrt(sec * num_rounds)
        log_value = np.log(constant) + np.log(eps) + np.log(delta) - 0.5 * (np.log(sec) + np.log(num_rounds))
    return stable(direct, log_value)


@broadcasting
def thm_j2_sample_complexity(reward_range, sec, log_net_size, margin, num_responses, eps, delta, rho, constant=1.0):
    """Theorem J.2:  m = Õ( R_max²·SEC(Π)·log(N(Π, ε_disc)/ρ)·log²(|Y|/δ) / (γ_margin² ε² δ²) )."""
    log_net_size, rho = check_log_size(log_net_size, "log_net_size"), check_unit(rho, "rho")
    delta, num_responses = check_unit(delta, "delta"), _num_responses(num_responses)
    constant, sec = check_constant(constant), check_positive(sec, "sec")
    reward_range = check_positive(reward_range, "reward_range")
    margin, eps = check_range(margin, "margin", 0.0, np.inf, False, False), check_unit(eps, "eps")
    with quiet():
        log_term = log_net_size + np.log(1.0 / rho)
        responses_term = np.log(num_responses / delta) ** 2
        direct = (constant * reward_range ** 2 * sec * log_term * responses_term
                  / (margin ** 2 * eps ** 2 * delta ** 2))
        log_value = (np.log(constant) + 2.0 * np.log(reward_range) + np.log(sec)
                     + log_log_class_over_rho(log_net_size, rho)
                     + 2.0 * np.log(np.log(num_responses) - np.log(delta))
                     - 2.0 * (np.log(margin) + np.log(eps) + np.log(delta)))
    return stable(direct, log_value)


# --- linear softmax (Definition J.3, Lemmas J.4, J.5, Theorem J.3) ----------------------------------------------------

@broadcasting
def lemma_j4_log_net_size(radius, eps_disc, dimension):
    """Lemma J.4: Π_{φ,B} has an ε_disc-net of size (6B/ε_disc)^d; returns its log, d·log(6B/ε_disc) (exact).

    The net is in the sup-norm of log-ratios (Definition J.2); it needs ε_disc ≤ 6B so the size is ≥ 1.
    """
    radius = check_positive(radius, "radius")
    eps_disc = check_range(eps_disc, "eps_disc", 0.0, np.inf, False, False)
    dimension = check_range(dimension, "dimension", 1.0, np.inf, True, False, integer=True)
    with quiet():
        too_large = eps_disc > 6.0 * radius
    if np.any(too_large):
        index = tuple(int(i) for i in np.argwhere(too_large)[0]) if too_large.ndim else ()
        bound = float(6.0 * np.broadcast_to(radius, too_large.shape)[index])
        raise ValueError(f"eps_disc must be at most 6·radius = {bound:g} for the net of Lemma J.4, got "
                         f"{float(np.broadcast_to(eps_disc, too_large.shape)[index])!r}")
    with quiet():
        direct = dimension * np.log(6.0 * radius / eps_disc)
        log_value = np.log(dimension) + np.log(np.log(6.0) + np.log(radius) - np.log(eps_disc))
    return stable(direct, log_value)


@broadcasting
def lemma_j5_sec_bound(dimension, num_rounds, constant=1.0):
    """Lemma J.5: SEC(Π_{φ,B}, r, T, β, λ; π*) ≲ d·log(T + 1) when λ ≥ 4β²B² + R_max² (elliptic potential)."""
    constant = check_constant(constant)
    dimension = check_range(dimension, "dimension", 1.0, np.inf, True, False, integer=True)
    num_rounds = check_positive(num_rounds, "num_rounds")
    with quiet():
        direct = constant * dimension * np.log(num_rounds + 1.0)
        log_value = np.log(constant) + np.log(dimension) + np.log(np.log1p(num_rounds))
    return stable(direct, log_value)


@broadcasting
def lemma_j5_min_lambda(beta, radius, reward_range):
    """Lemma J.5's condition on λ in SEC(·, λ): λ ≥ 4β²B² + R_max²."""
    beta, radius, reward_range = check_positive(beta, "beta"), check_positive(radius, "radius"), check_positive(
        reward_range, "reward_range")
    with quiet():
        direct = 4.0 * beta ** 2 * radius ** 2 + reward_range ** 2
        log_value = np.logaddexp(2.0 * (np.log(2.0) + np.log(beta) + np.log(radius)), 2.0 * np.log(reward_range))
    return stable(direct, log_value)


@broadcasting
def thm_j3_reward_range(beta, radius, num_responses):
    """Theorem J.3's proof: R_max := √(4β²B² + (2B + log|Y|)²), since |log π_base| ≤ 2B + log|Y| on Π_{φ,B}, ‖φ‖ ≤ 1."""
    radius, beta, num_responses = check_positive(radius, "radius"), check_positive(beta, "beta"), _num_responses(
        num_responses)
    with quiet():
        direct = np.sqrt(4.0 * beta ** 2 * radius**2 + (2.0 * radius + np.log(num_responses)) ** 2)
        log_log_range = np.logaddexp(np.log(2.0) + np.log(radius), np.log(np.log(num_responses)))
        log_value = 0.5 * np.logaddexp(2.0 * (np.log(2.0) + np.log(beta) + np.log(radius)), 2.0 * log_log_range)
    return stable(direct, log_value)


@broadcasting
def thm_j3_max_theta_norm(margin, radius, num_responses, delta):
    """Theorem J.3's assumption ‖θ*‖₂ ≤ γ_margin·B / (3 log(2|Y|/δ)), which keeps π*_β = π_{(1+1/β)θ*} in Π_{φ,B}."""
    margin, radius = check_range(margin, "margin", 0.0, np.inf, False, False), check_positive(radius, "radius")
    num_responses, delta = _num_responses(num_responses), check_unit(delta, "delta")
    with quiet():
        direct = margin * radius / (3.0 * np.log(2.0 * num_responses / delta))
        log_value = np.log(margin) + np.log(radius) - np.log(3.0) - _log_log_two_responses_over(num_responses, delta)
    return stable(direct, log_value)
