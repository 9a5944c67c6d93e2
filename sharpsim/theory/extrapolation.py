"""The sequential extrapolation coefficient of Definition J.1, evaluated exactly for a given sequence of tabular
policies (``sequential_extrapolation_coefficient``, re-exported by ``theory.rlhf``)."""

from __future__ import annotations

import numpy as np

from sharpsim.core.policy import as_tabular
from sharpsim.core.validation import as_float_array, check_allocation
from sharpsim.theory.checks import check_flag, check_positive

__all__ = ["sequential_extrapolation_coefficient"]


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
    denominators. Very large β or rewards, whose squares overflow, are handled by rescaling g (the ratios are
    invariant when λ is rescaled with it); the terms returned are then those of the unscaled g (possibly ``inf``).
    """
    beta, lam = check_positive(beta, "beta"), check_positive(lam, "lam")
    for name, value in (("beta", beta), ("lam", lam)):
        if value.ndim:
            raise ValueError(f"{name} must be a single number, got an array of shape {value.shape}")
    return_terms = check_flag(return_terms, "return_terms")
    base = _tabular(base, "base")
    base_probs, mu = np.asarray(base.probs), np.asarray(base.prompt_probs)
    if hasattr(policies, "to_tabular"):
        stacked = np.asarray(as_tabular(policies).probs)
        stacked = stacked if stacked.ndim == 3 else stacked[None]
        if stacked.shape[1:] != base_probs.shape:
            raise ValueError(f"policies have shape {stacked.shape[1:]} but the base has shape {base_probs.shape}")
    else:
        if isinstance(policies, (str, bytes)) or not hasattr(policies, "__iter__"):
            raise TypeError(f"policies must be a TabularPolicy with probs [T, X, Y] or a sequence of policies, got "
                            f"{type(policies).__name__}")
        policies = [_tabular(policy, f"policies[{t}]") for t, policy in enumerate(policies)]
        if not policies:
            raise ValueError("policies must hold at least one policy π^(1), …, π^(T)")
        for t, policy in enumerate(policies):
            if np.shape(policy.probs) != base_probs.shape:
                raise ValueError(f"policies have shape {np.shape(policy.probs)} but the base has shape "
                                 f"{base_probs.shape} (at policies[{t}])")
        check_allocation((len(policies),) + base_probs.shape, "the stacked policies")
        stacked = np.stack([np.asarray(policy.probs) for policy in policies])
    rounds = stacked.shape[0]
    # the moments of h_t under every π^(i) form a [T, T, X, Y] array
    check_allocation((rounds, rounds) + base_probs.shape, "sequential_extrapolation_coefficient's moments [T, T, X, Y]")
    with np.errstate(divide="ignore"):
        log_base = np.log(base_probs)
        log_policies = np.log(stacked)
    if rewards is None:
        rewards = log_base
    else:
        rewards = as_float_array(rewards, "rewards")
        if rewards.shape != base_probs.shape:
            raise ValueError(f"rewards must have shape {base_probs.shape}, got {rewards.shape}")
        bad = np.isnan(rewards) | (np.isinf(rewards) & (base_probs > 0))
        if bad.any():
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"rewards must be finite where the base has mass; entry {index} is {rewards[index]}")
    with np.errstate(invalid="ignore"):
        h = beta * (log_policies - log_base) - rewards  # [T, X, Y]: h_t(x, y)
    with np.errstate(over="ignore"):  # an overflow is handled below
        numerators, denominators = _sec_terms(stacked, base_probs, mu, h, lam)
    relevant = np.broadcast_to((base_probs > 0) | np.any(stacked > 0, axis=0), h.shape)  # where some weight is > 0
    overflowed = not (np.isfinite(numerators).all() and np.isfinite(denominators).all())
    if overflowed and np.isfinite(h[relevant]).all():
        # h is finite but its squares overflowed: rescale h by its largest entry and λ by its square, which leaves
        # every ratio unchanged (0 where the numerator is 0, even if λ/scale² underflowed), and undo the scale
        with np.errstate(over="ignore", under="ignore", divide="ignore"):
            scale = np.float64(np.max(np.abs(h[relevant]), initial=1.0))
            numerators, denominators = _sec_terms(stacked, base_probs, mu, h / scale, lam / scale / scale)
            value = float(np.sum(np.where(numerators == 0, 0.0, numerators / denominators)))
            numerators, denominators = numerators * scale * scale, np.maximum(lam, denominators * scale * scale)
    else:
        value = float(np.sum(numerators / denominators))
    return (value, numerators, denominators) if return_terms else value


def _tabular(policy, name):
    try:
        return as_tabular(policy)
    except TypeError:
        raise TypeError(f"{name} must be a TabularPolicy or a policy with .to_tabular(), got "
                        f"{type(policy).__name__}") from None


def _sec_terms(stacked, base_probs, mu, h, lam):
    """Per round t: the numerator (E^(t)[g_t])² and the denominator λ ∨ Σ_{i<t} E^(i)[g_t²] of Definition J.1."""
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
    return numerators, denominators
