"""The bounds of RLHF-Sharpening (Section 2.2, Appendix J), as functions: the rates of Theorem 4.2 and Theorem 4.3,
Theorem 4.2′, Theorem J.1, Theorem J.2, the β thresholds, Lemmas J.4 and J.5, Theorem J.3's constants, and an exact
evaluator of the sequential extrapolation coefficient (Definition J.1).

Same conventions as ``theory/sft.py`` and ``theory/lower_bounds.py``: vectorized numpy, eager validation
(``theory/checks.py``) with errors naming the argument, ``constant`` multiplying a bound whose absolute constant
(and, for Õ, polylog factors) the paper leaves unspecified. ``log_net_size`` is log N(Π, ε_disc) (natural log, ≥ 0);
``reward_range`` is R_max, ``log_ratio_range`` V_max, ``sec`` SEC(Π) (> 0), ``num_rounds`` T.
"""

from __future__ import annotations

import numpy as np

from sharpsim.core.policy import as_tabular
from sharpsim.theory.checks import (
    check_constant,
    check_coverage,
    check_log_size,
    check_positive,
    check_range,
    check_unit,
    log_class_over_rho,
)

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

def thm_4_2_sample_complexity(concentrability, loss_concentrability, log_class_size, margin, eps, delta, rho,
                              constant=1.0):
    """Theorem 4.2 (DPO-style RLHF-Sharpening, β ≲ γ_margin δ ε):

        m = Õ( C_conc · log³(C_loss |Π| / ρ) / (γ_margin² δ² ε²) ).

    C_conc ≥ 1, C_loss ≥ 1, log|Π| ≥ 0, γ_margin > 0, ε, δ, ρ ∈ (0, 1). Constant and the polylog factors hidden
    by Õ are unspecified (``constant``).
    """
    log_term = (np.log(check_coverage(loss_concentrability, "loss_concentrability"))
                + log_class_over_rho(log_class_size, rho))
    return (check_constant(constant) * check_coverage(concentrability, "concentrability") * log_term ** 3
            / (check_positive(margin, "margin") ** 2 * check_unit(delta, "delta") ** 2 * check_unit(eps, "eps") ** 2))


def thm_4_3_sample_complexity(sec, log_class_size, margin, eps, delta, rho, constant=1.0):
    """Theorem 4.3 (informal; XPO with exploration, β = γ_margin / (2 log(2|Y|/δ))):

        m = Õ( SEC(Π) · log(|Π|/ρ) / (γ_margin² δ² ε²) ),

    with no dependence on C_cov. SEC > 0, log|Π| ≥ 0, γ_margin > 0, ε, δ, ρ ∈ (0, 1); constant and hidden
    polylogs (R_max², log²(|Y|/δ) in Theorem J.2) unspecified (``constant``).
    """
    return (check_constant(constant) * check_positive(sec, "sec") * log_class_over_rho(log_class_size, rho)
            / (check_positive(margin, "margin") ** 2 * check_unit(delta, "delta") ** 2 * check_unit(eps, "eps") ** 2))


# --- offline (Theorem 4.2 / 4.2′) -------------------------------------------------------------------------------------

def thm_4_2_beta(margin, delta, eps, constant=1.0):
    """Theorem 4.2's regularization: β ≲ γ_margin·δ·ε (offline), returned as ``constant``·γ_margin·δ·ε."""
    return check_constant(constant) * _margin(margin) * check_unit(delta, "delta") * check_unit(eps, "eps")


def thm_4_2_prime_error_terms(concentrability, loss_concentrability, log_class_size, num_prompts, beta, margin,
                              delta, rho, gamma=0.0, constant=1.0):
    """Theorem 4.2′, the three terms of the bound (statistical, regularization, approximation), each already divided by
    γ_margin·δ:

        (1/(γ_margin δ))·[ √(C_conc log³(C_loss|Π|/ρ)/n) ,  β log C_conc ,  γ ].
    """
    scale = check_constant(constant) / (_margin(margin) * check_unit(delta, "delta"))
    log_term = np.log(check_coverage(loss_concentrability, "loss_concentrability")) + log_class_over_rho(log_class_size, rho)
    conc = check_coverage(concentrability, "concentrability")
    statistical = np.sqrt(conc * log_term**3 / check_positive(num_prompts, "num_prompts"))
    regularization = check_positive(beta, "beta") * np.log(conc)
    approximation = check_range(gamma, "gamma", 0.0, 1.0, True, False)
    return scale * statistical, scale * regularization, scale * approximation


def thm_4_2_prime_error_bound(concentrability, loss_concentrability, log_class_size, num_prompts, beta, margin,
                              delta, rho, gamma=0.0, constant=1.0):
    """Theorem 4.2′: P_x[π̂(y*_γ(x)|x) ≤ 1 − δ] ≲ (1/(γ_margin δ))·( √(C_conc log³(C_loss|Π|/ρ)/n) + β log C_conc + γ ).

    The sum of ``thm_4_2_prime_error_terms`` (may exceed 1; the Õ's polylogs are in ``constant``).
    """
    return sum(thm_4_2_prime_error_terms(concentrability, loss_concentrability, log_class_size, num_prompts, beta,
                                         margin, delta, rho, gamma, constant))


# --- the online β and the target's sharpness (Theorem J.2 step 1, Theorem 4.3) ----------------------------------------

def thm_j2_beta(margin, num_responses, delta):
    """β = γ_margin / (2 log(2|Y|/δ))   (Theorem J.2 condition β^{-1} ≥ 2γ_margin^{-1} log(2|Y|/δ); Theorem 4.3's choice).

    Exact (no constant), as printed. Inside the theorem's range γ_margin ∈ (0, 1) any β at most this makes
    π*_β(y*(x)|x) ≥ 1 − δ/2 (step 1 of the proof, whose inequality holds up to γ_margin = 2.513). The function
    accepts any γ_margin > 0, but past 2.513 the formula carries no guarantee (the theorem does not claim one);
    ``kl_regularized.sharpening_beta`` extends the step there (log(1 + γ_margin) in place of γ_margin/2).
    ``inf`` for γ_margin = inf.
    """
    return _margin(margin) / (2.0 * np.log(2.0 * _num_responses(num_responses) / check_unit(delta, "delta")))


def thm_j2_target_miss_bound(margin, beta, num_responses):
    """1 − π*_β(y*(x)|x) ≤ (|Y| − 1)·(1 + γ_margin)^{−(1+1/β)}   (proof of Theorem J.2, step 1; exact constant).

    Each non-argmax y has π*_β(y|x)/π*_β(y*|x) = (π_base(y|x)/π_base(y*|x))^{1+1/β} ≤ (1 + γ_margin)^{−(1+1/β)}.
    Evaluated in log space; capped at 1.
    """
    log_bound = np.log(np.maximum(_num_responses(num_responses) - 1.0, 1e-300)) \
        - (1.0 + 1.0 / check_positive(beta, "beta")) * np.log1p(_margin(margin))
    return np.minimum(1.0, np.exp(log_bound))


# --- XPO (Theorem J.1, J.2) -------------------------------------------------------------------------------------------

def _log_2nt_over(log_net_size, num_rounds, rho, rho_name="rho"):
    return (np.log(2.0) + check_log_size(log_net_size, "log_net_size") + np.log(check_positive(num_rounds, "num_rounds"))
            + np.log(1.0 / check_unit(rho, rho_name)))


def thm_j1_alpha(beta, reward_range, log_ratio_range, sec, log_net_size, num_rounds, rho):
    """Theorem J.1: α = (β/(R_max + V_max))·√( log(2N(Π, ε_disc)T/ρ) / (SEC(Π)·T) )   (exact)."""
    scale = check_positive(beta, "beta") / (check_positive(reward_range, "reward_range") + _nonnegative(log_ratio_range,
                                                                                               "log_ratio_range"))
    return scale * np.sqrt(_log_2nt_over(log_net_size, num_rounds, rho) / (check_positive(sec, "sec") * num_rounds))


def thm_j1_regret_bound(sec, log_net_size, num_rounds, rho, reward_range, log_ratio_range, beta, eps_disc,
                        constant=1.0):
    """Theorem J.1: β·D_KL(π̂ ‖ π*_β) = J_β(π*_β) − J_β(π̂)
        ≲ (R_max + V_max)·√( SEC log(2N(Π, ε_disc)T/ρ) / T ) + β·ε_disc·√(SEC·T)."""
    sec = check_positive(sec, "sec")
    rounds = check_positive(num_rounds, "num_rounds")
    spread = check_positive(reward_range, "reward_range") + _nonnegative(log_ratio_range, "log_ratio_range")
    statistical = spread * np.sqrt(sec * _log_2nt_over(log_net_size, rounds, rho) / rounds)
    discretization = check_positive(beta, "beta") * _nonnegative(eps_disc, "eps_disc") * np.sqrt(sec * rounds)
    return check_constant(constant) * (statistical + discretization)


def thm_j2_alpha(beta, reward_range, sec, log_net_size, num_rounds, delta):
    """Theorem J.2: α = (β/R_max)·√( log(2N(Π, ε_disc)T/δ) / (SEC(Π)·T) )   (exact; the paper writes δ here, not ρ)."""
    return thm_j1_alpha(beta, reward_range, 0.0, sec, log_net_size, num_rounds, delta)


def thm_j2_min_rounds(reward_range, sec, log_net_size, eps, delta, beta, rho, constant=1.0):
    """Theorem J.2's condition T ≥ C·R_max²·SEC·log(2N(Π, ε_disc)T/ρ) / (ε²δ²β²), solved for the smallest T.

    T appears on both sides; with A = C R² SEC/(ε²δ²β²) and b = log(2N/ρ), the fixed point of T = A(b + log T)
    is reached by iterating from T = max(A·b, 1) (the map is increasing and concave, so this converges upwards
    when A ≥ 1). Returns the ceiling; vectorized.
    """
    scale = (check_constant(constant) * check_positive(reward_range, "reward_range") ** 2 * check_positive(sec, "sec")
             / (check_unit(eps, "eps") * check_unit(delta, "delta") * check_positive(beta, "beta")) ** 2)
    offset = np.log(2.0) + check_log_size(log_net_size, "log_net_size") + np.log(1.0 / check_unit(rho, "rho"))
    rounds = np.maximum(scale * offset, 1.0)
    for _ in range(200):
        rounds = np.maximum(scale * (offset + np.log(rounds)), 1.0)
    return np.ceil(rounds)


def thm_j2_eps_disc(eps, delta, sec, num_rounds, constant=1.0):
    """Theorem J.2: ε_disc ≤ c·ε·δ / √(SEC(Π)·T)."""
    return (check_constant(constant) * check_unit(eps, "eps") * check_unit(delta, "delta")
            / np.sqrt(check_positive(sec, "sec") * check_positive(num_rounds, "num_rounds")))


def thm_j2_sample_complexity(reward_range, sec, log_net_size, margin, num_responses, eps, delta, rho, constant=1.0):
    """Theorem J.2:  m = Õ( R_max²·SEC(Π)·log(N(Π, ε_disc)/ρ)·log²(|Y|/δ) / (γ_margin² ε² δ²) )."""
    log_term = check_log_size(log_net_size, "log_net_size") + np.log(1.0 / check_unit(rho, "rho"))
    delta = check_unit(delta, "delta")
    responses_term = np.log(_num_responses(num_responses) / delta) ** 2
    return (check_constant(constant) * check_positive(reward_range, "reward_range") ** 2 * check_positive(sec, "sec") * log_term
            * responses_term / (check_range(margin, "margin", 0.0, np.inf, False, False) ** 2 * check_unit(eps, "eps") ** 2
                                * delta ** 2))


# --- linear softmax (Definition J.3, Lemmas J.4, J.5, Theorem J.3) ----------------------------------------------------

def lemma_j4_log_net_size(radius, eps_disc, dimension):
    """Lemma J.4: Π_{φ,B} has an ε_disc-net of size (6B/ε_disc)^d; returns its log, d·log(6B/ε_disc) (exact).

    The net is in the sup-norm of log-ratios (Definition J.2); it needs ε_disc ≤ 6B so the size is ≥ 1.
    """
    radius = check_positive(radius, "radius")
    eps_disc = check_range(eps_disc, "eps_disc", 0.0, np.inf, False, False)
    if np.any(eps_disc > 6.0 * radius):
        raise ValueError(f"eps_disc must be at most 6·radius = {float(np.min(6.0 * radius)):g} for the net of "
                         f"Lemma J.4, got {float(np.max(eps_disc))!r}")
    return check_range(dimension, "dimension", 1.0, np.inf, True, False, integer=True) * np.log(6.0 * radius / eps_disc)


def lemma_j5_sec_bound(dimension, num_rounds, constant=1.0):
    """Lemma J.5: SEC(Π_{φ,B}, r, T, β, λ; π*) ≲ d·log(T + 1) when λ ≥ 4β²B² + R_max² (elliptic potential)."""
    return (check_constant(constant) * check_range(dimension, "dimension", 1.0, np.inf, True, False, integer=True)
            * np.log(check_positive(num_rounds, "num_rounds") + 1.0))


def lemma_j5_min_lambda(beta, radius, reward_range):
    """Lemma J.5's condition on λ in SEC(·, λ): λ ≥ 4β²B² + R_max²."""
    return 4.0 * check_positive(beta, "beta") ** 2 * check_positive(radius, "radius") ** 2 \
        + check_positive(reward_range, "reward_range") ** 2


def thm_j3_reward_range(beta, radius, num_responses):
    """Theorem J.3's proof: R_max := √(4β²B² + (2B + log|Y|)²), since |log π_base| ≤ 2B + log|Y| on Π_{φ,B}, ‖φ‖ ≤ 1."""
    radius = check_positive(radius, "radius")
    return np.sqrt(4.0 * check_positive(beta, "beta") ** 2 * radius**2
                   + (2.0 * radius + np.log(_num_responses(num_responses))) ** 2)


def thm_j3_max_theta_norm(margin, radius, num_responses, delta):
    """Theorem J.3's assumption ‖θ*‖₂ ≤ γ_margin·B / (3 log(2|Y|/δ)), which keeps π*_β = π_{(1+1/β)θ*} in Π_{φ,B}."""
    return (check_range(margin, "margin", 0.0, np.inf, False, False) * check_positive(radius, "radius")
            / (3.0 * np.log(2.0 * _num_responses(num_responses) / check_unit(delta, "delta"))))


# --- the sequential extrapolation coefficient (Definition J.1) --------------------------------------------------------

def _expect(weights, values):
    """Σ_y w(y) f(y) per row with 0·f = 0 even where f is infinite (f only matters where w > 0)."""
    with np.errstate(invalid="ignore"):
        return np.sum(np.where(weights > 0, weights * np.where(weights > 0, values, 0.0), 0.0), axis=-1)


def sequential_extrapolation_coefficient(policies, base, beta, lam, rewards=None, return_terms=False):
    """The ratio sum of Definition J.1 for a *given* sequence π^(1..T) of tabular policies (exact, no sampling):

        Σ_{t=1}^T ( E^(t)[g_t] )² / ( λ ∨ Σ_{i<t} E^(i)[g_t²] ),
        g_t(x, y, y') = β log(π^(t)(y|x)/π_base(y|x)) − r(x, y) − β log(π^(t)(y'|x)/π_base(y'|x)) + r(x, y'),

    E^(i) over x ∼ μ, y ∼ π^(i)(·|x), y' ∼ π_base(·|x) independently (so E[g²] expands into first and second
    moments of h_t = β log(π^(t)/π_base) − r under π^(i) and π_base). SEC(Π, r, T, β, λ) is the sup of this over
    sequences in Π, so any sequence gives a lower bound on it. ``rewards`` [X, Y] defaults to log π_base.

    ``policies``: a list of policies or one TabularPolicy with ``probs`` [T, X, Y]. A term is ``inf`` when an
    iterate leaves the base's support. With ``return_terms`` also returns the per-round numerators and
    denominators.
    """
    beta = check_positive(beta, "beta")
    lam = check_positive(lam, "lam")
    base = as_tabular(base)
    base_probs, mu = np.asarray(base.probs), np.asarray(base.prompt_probs)
    if hasattr(policies, "to_tabular"):
        stacked = np.asarray(as_tabular(policies).probs)
        stacked = stacked if stacked.ndim == 3 else stacked[None]
    else:
        policies = list(policies)
        if not policies:
            raise ValueError("policies must hold at least one policy π^(1), …, π^(T)")
        stacked = np.stack([np.asarray(as_tabular(p).probs) for p in policies])
    if stacked.shape[1:] != base_probs.shape:
        raise ValueError(f"policies have shape {stacked.shape[1:]} but the base has shape {base_probs.shape}")
    with np.errstate(divide="ignore"):
        log_base = np.log(base_probs)
        log_policies = np.log(stacked)
    rewards = log_base if rewards is None else np.asarray(rewards, np.float64)
    if rewards.shape != base_probs.shape:
        raise ValueError(f"rewards must have shape {base_probs.shape}, got {rewards.shape}")
    with np.errstate(invalid="ignore"):
        h = beta * (log_policies - log_base) - rewards  # [T, X, Y]: h_t(x, y)
    base_first = _expect(base_probs[None], h)  # [T, X]: E_{π_base} h_t
    base_second = _expect(base_probs[None], h**2)
    weights = np.where(mu > 0, mu, 0.0)
    # [i, t, X]: moments of h_t under π^(i)
    first = _expect(stacked[:, None], h[None])
    second = _expect(stacked[:, None], (h**2)[None])
    with np.errstate(invalid="ignore"):
        mean_g = np.sum(weights * (first - base_first[None]), axis=-1)  # [i, t]
        mean_g2 = np.sum(weights * (second - 2.0 * first * base_first[None] + base_second[None]), axis=-1)
    rounds = stacked.shape[0]
    numerators = np.diagonal(mean_g) ** 2
    past = np.tril(np.ones((rounds, rounds)), k=-1).T  # past[i, t] = 1 for i < t
    with np.errstate(invalid="ignore"):
        denominators = np.maximum(lam, np.sum(np.where(past > 0, mean_g2, 0.0), axis=0))
    value = float(np.sum(numerators / denominators))
    return (value, numerators, denominators) if return_terms else value
