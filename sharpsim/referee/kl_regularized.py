"""The KL-regularized target of RLHF-Sharpening and the referee's quantities for it (Section 2.2; Eq. 3, Eq. 9,
Lemma 4.1, Assumptions 4.4, 4.5 and J.4).

Eq. (3) with the maximum-likelihood self-reward r(x, y) = log π_base(y|x):

    π*_β = argmax_π  J_β(π),   J_β(π) = J(π) − β·D_KL(π ‖ π_base),   J(π) = E_π[log π_base(y|x)],

has the closed form π*_β(y|x) ∝ π_base(y|x)·exp(r(x, y)/β) = π_base(y|x)^{1 + 1/β}   (``power_policy``).
β → 0 sharpens it onto the argmax set y*(x) (uniformly over ties); β → ∞ gives π_base back.

Concentrability (Eq. 9) and the bounds of the RLHF analysis:

    C_π          = E_π[ π(y|x)/π_base(y|x) ]                      (``concentrability``)
    C_{π/π';β}   = E_π[ (π(y|x)/π'(y|x))^β ]                      (``density_ratio_moment``)
    C_loss       = max_{π∈Π} C_{π_base/π;β}                        (``loss_concentrability``; Assumption 4.4)
    R_max        = max_{x,y} log(1/π_base(y|x))                    (``reward_range``; Assumption 4.5)
    V_max        = max_{x,y} |β log(π(y|x)/π_base(y|x))|           (``log_ratio_range``; Assumption J.4)

Lemma 4.1: C_{π*_β} ≤ C_cov and C_{π_base/π*_β;β} ≤ |Y|. Its γ-form (Lemma 4.1′) is printed with the factor
(1 − γ)^{−1}, which can fail for β < 1; what holds (and is tested) is C_{π*_β} ≤ (1 − γ)^{−1/β}·C_cov,γ for every
γ ∈ [0, 1), which implies the printed form only for β ≥ 1 (see the Deviations in ``paper_notes.md``).
Theorem J.2, step 1 (γ_margin ∈ (0, 1), the theorem's range): if β ≤ γ_margin/(2 log(2|Y|/δ)) then
π*_β(y*(x)|x) ≥ 1 − δ/2. ``sharpening_beta`` is that β inside the range and extends it past the range.

Conventions as in ``quantities``: every expectation over prompts uses μ of the *second* policy argument (the
base or the reference), and prompts outside supp μ carry no weight; 0·log 0 = 0 and 0·(anything) = 0, so a
response of zero probability under the first policy contributes nothing; a positive-probability response where
the reference has zero probability makes the quantity ``inf`` (the density ratio is unbounded).
All functions are pure ``jax.numpy`` and run under ``jit``/``vmap`` (β may be traced; checks run on concrete
values only).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.core.validation import check_in_interval
from sharpsim.core.policy import TabularPolicy, as_tabular
from sharpsim.referee.quantities import _check_same_shape, kl_divergence, margin

__all__ = [
    "power_policy",
    "power_log_probs",
    "expected_log_likelihood",
    "regularized_objective",
    "concentrability",
    "density_ratio_moment",
    "loss_concentrability",
    "reward_range",
    "log_ratio_range",
    "sharpening_beta",
    "check_beta",
]


def check_beta(beta, name: str = "beta", allow_infinite: bool = False):
    """β > 0 (finite unless ``allow_infinite``); a traced β is checked in checked mode."""
    return check_in_interval(beta, name, 0.0, np.inf, closed_low=False, closed_high=allow_infinite)


def power_log_probs(policy, beta) -> jax.Array:
    """[X, Y]: log π*_β(y|x) without underflow (−inf only where π(y|x) = 0, or for non-argmax y when 1/β = inf).

    Use it for ratios against π*_β at tiny β, where ``power_policy(...).probs`` underflows to 0.
    """
    return jax.nn.log_softmax(_power_logits(policy, check_beta(beta, allow_infinite=True)), axis=-1)


def _power_logits(policy, beta) -> jax.Array:
    return power_logits(as_tabular(policy).log_probs, beta)


def power_logits(log_probs, beta) -> jax.Array:
    """Logits (1 + 1/β)·(ℓ(y|x) − max_{y'} ℓ(y'|x)) of π*_β ∝ exp(ℓ)^{1+1/β} for a log-probability table ℓ [X, Y]
    (−inf entries stay −inf; a row of only −inf gives −inf logits, for the caller to replace)."""
    top = jnp.max(log_probs, axis=-1, keepdims=True)
    gap = log_probs - jnp.where(jnp.isfinite(top), top, 0.0)  # ≤ 0; −inf on zero-probability responses
    exponent = 1.0 + 1.0 / jnp.asarray(beta, jnp.float64)
    # where(gap < 0): keeps 0·inf (argmax entries when 1/β overflows) from becoming NaN
    return jnp.where(gap < 0, exponent * jnp.where(gap < 0, gap, -1.0), 0.0)


def power_policy(policy, beta) -> TabularPolicy:
    """π*_β(y|x) = π(y|x)^{1+1/β} / Σ_{y'} π(y'|x)^{1+1/β}, the maximizer of Eq. (3) for r = log π  (Section 2.2).

    Computed in log space relative to the row maximum, (1 + 1/β)·(log π(y|x) − max_{y'} log π(y'|x)) ≤ 0, so the
    argmax entries get exponent exactly 0: tiny β (even 1/β = inf) gives the uniform law on y*(x), never NaN;
    zero-probability responses stay at 0. β = inf returns π unchanged (the unregularized limit). μ is kept.
    Raises ``ValueError`` for β ≤ 0 or NaN.
    """
    beta = check_beta(beta, allow_infinite=True)
    policy = as_tabular(policy)
    logits = _power_logits(policy, beta)
    return TabularPolicy.tree_unflatten(None, (jax.nn.softmax(logits, axis=-1), policy.prompt_probs))


def _weighted_prompt_sum(per_prompt, prompt_probs):
    return jnp.sum(jnp.where(prompt_probs > 0, prompt_probs * per_prompt, 0.0))


def _safe_log(probs):
    return jnp.log(jnp.where(probs > 0, probs, 1.0))


def expected_log_likelihood(policy, base) -> jax.Array:
    """J(π) = E_{x∼μ, y∼π(·|x)}[ log π_base(y|x) ]   (proof of Theorem 4.2, step 1); ≤ 0, −inf if π leaves supp π_base.

    max_π J(π) = E_x[log max_y π_base(y|x)], attained by any policy on y*(x).
    """
    policy, base = as_tabular(policy), as_tabular(base, "base")
    _check_same_shape(policy, base, ("policy", "base"))
    p, q = policy.probs, base.probs
    terms = jnp.where(p > 0, p * _safe_log(q), 0.0)
    terms = jnp.where((p > 0) & (q == 0), -jnp.inf, terms)
    return _weighted_prompt_sum(jnp.sum(terms, axis=-1), base.prompt_probs)


def regularized_objective(policy, base, beta) -> jax.Array:
    """J_β(π) = J(π) − β·D_KL(π ‖ π_base)   (Eq. 3 with r = log π_base; Theorem J.1's J_β).

    Its maximizer is ``power_policy(base, beta)`` and J_β(π*_β) − J_β(π) = β·D_KL(π ‖ π*_β) (Theorem J.1).
    """
    beta = check_beta(beta)
    return expected_log_likelihood(policy, base) - beta * kl_divergence(policy, base)


def concentrability(policy, base) -> jax.Array:
    """C_π = E_{x∼μ, y∼π(·|x)}[ π(y|x)/π_base(y|x) ] = E_x Σ_y π(y|x)²/π_base(y|x)   (Eq. 9). ≥ 1 (Cauchy–Schwarz)."""
    policy, base = as_tabular(policy), as_tabular(base, "base")
    _check_same_shape(policy, base, ("policy", "base"))
    return density_ratio_moment(policy, base, 1.0)


def density_ratio_moment(policy, reference, beta) -> jax.Array:
    """C_{π/π';β} = E_{x∼μ, y∼π(·|x)}[ (π(y|x)/π'(y|x))^β ]   (Eq. 9; π = ``policy``, π' = ``reference``).

    Computed as Σ_y π·exp(β(log π − log π')) so tiny probabilities do not overflow a ratio. ``inf`` when π puts
    mass where π' has none. β > 0; with β = 1 and π' = π_base it is C_π.
    """
    beta = check_beta(beta)
    policy, reference = as_tabular(policy), as_tabular(reference, "reference")
    _check_same_shape(policy, reference, ("policy", "reference"))
    p, q = policy.probs, reference.probs
    terms = jnp.where(p > 0, p * jnp.exp(beta * (_safe_log(p) - _safe_log(q))), 0.0)
    terms = jnp.where((p > 0) & (q == 0), jnp.inf, terms)
    return _weighted_prompt_sum(jnp.sum(terms, axis=-1), reference.prompt_probs)


def _stacked_probs(policies, base: TabularPolicy) -> jax.Array:
    """[K, X, Y] from a sequence of policies, or from one TabularPolicy with a leading batch axis (vmap output)."""
    if isinstance(policies, TabularPolicy) or hasattr(policies, "to_tabular"):
        probs = as_tabular(policies, "policies").probs
        return probs if probs.ndim == 3 else probs[None]
    if isinstance(policies, (str, bytes, dict)) or not hasattr(policies, "__iter__"):
        raise TypeError("policies must be a list of policies (TabularPolicy or with .to_tabular()) or one "
                        f"TabularPolicy with a leading batch axis, got {type(policies).__name__}")
    policies = list(policies)
    if not policies:
        raise ValueError("policies must hold at least one policy (the class or sequence to maximize over)")
    stacked = jnp.stack([as_tabular(p, f"policies[{i}]").probs for i, p in enumerate(policies)])
    if stacked.shape[1:] != base.probs.shape:
        raise ValueError(f"policies have shape {stacked.shape[1:]} but the base has shape {base.probs.shape}")
    return stacked


def loss_concentrability(base, policies, beta) -> jax.Array:
    """C_loss = max_{π} C_{π_base/π;β} over ``policies`` (a finite class, or a sequence of iterates)  (Assump. 4.4).

    ``policies`` is a list of policies, or one ``TabularPolicy`` whose ``probs`` carry a leading axis [K, X, Y]
    (the output of a ``vmap``). Lemma 4.1: C_{π_base/π*_β;β} ≤ |Y|.
    """
    beta = check_beta(beta)
    base = as_tabular(base, "base")
    stacked = _stacked_probs(policies, base)
    one = lambda probs: density_ratio_moment(base, TabularPolicy.tree_unflatten(None, (probs, base.prompt_probs)), beta)
    return jnp.max(jax.vmap(one)(stacked))


def _support_max(values, mask, prompt_probs):
    keep = mask & (prompt_probs[:, None] > 0)
    return jnp.max(jnp.where(keep, values, -jnp.inf))


def reward_range(base) -> jax.Array:
    """R_max = max log(1/π_base(y|x)) over x ∈ supp μ and y ∈ supp π_base(·|x)   (Assumption 4.5).

    Responses with π_base(y|x) = 0 are left out: the learner never sees them in data and every π with finite
    V_max gives them no mass (the paper's "for all (x, y)" would make R_max infinite on such instances).
    Theorem J.2 asks for R_max ≥ 1 + this value.
    """
    base = as_tabular(base, "base")
    return _support_max(-_safe_log(base.probs), base.probs > 0, base.prompt_probs)


def log_ratio_range(policy, base, beta) -> jax.Array:
    """V_max = max |β log(π(y|x)/π_base(y|x))| over x ∈ supp μ and y in supp π ∪ supp π_base   (Assumption J.4).

    ``inf`` when the supports differ. For π*_β (Lemma J.3 style): V_max ≤ max log(π_base(y*)/π_base(y)) + β·R_max.
    """
    beta = check_beta(beta)
    policy, base = as_tabular(policy), as_tabular(base, "base")
    _check_same_shape(policy, base, ("policy", "base"))
    p, q = policy.probs, base.probs
    values = jnp.abs(beta * (_safe_log(p) - _safe_log(q)))
    values = jnp.where((p > 0) != (q > 0), jnp.inf, values)
    return _support_max(values, (p > 0) | (q > 0), base.prompt_probs)


def sharpening_beta(base, delta) -> jax.Array:
    """β_δ = min(γ_margin/2, log(1 + γ_margin)) / log(2|Y|/δ), from the base's margin (Assumption 4.2) and |Y|: a β
    with π*_β(y*(x)|x) ≥ 1 − δ/2 on supp μ (Theorem J.2, step 1).

    Inside Theorem J.2's range (like J.3 it takes γ_margin ∈ (0, 1)), and up to γ_margin = 2.513, this is exactly the
    theorem's β = γ_margin/(2 log(2|Y|/δ)) (``theory.rlhf.thm_j2_beta``). Past γ_margin = 2.513 it is an extension
    beyond the theorem, not a correction of it: the proof's step (1 + γ)^{−1/β} ≤ e^{−γ/(2β)} needs
    log(1 + γ) ≥ γ/2, so the printed formula, applied where the theorem does not claim it, can miss; with
    log(1 + γ_margin) in place of γ_margin/2 every non-argmax y has π*_β(y|x) ≤ (1 + γ_margin)^{−(1+1/β)} ≤
    e^{−log(1+γ_margin)/β} ≤ δ/(2|Y|) for every β ≤ β_δ, whatever the margin. ``inf`` when the base has no
    non-argmax mass (any β works).
    """
    delta = check_in_interval(delta, "delta", 0.0, 1.0, closed_low=False, closed_high=False)
    base = as_tabular(base, "base")
    gamma_margin = margin(base)
    return jnp.minimum(gamma_margin / 2.0, jnp.log1p(gamma_margin)) / jnp.log(2.0 * base.num_responses / delta)
