"""The referee: exact quantities of a policy and of a learned policy against the base (Sections 1, 3
and 4; Appendix F).

These functions see π_base itself (learners never call them). Every quantity here is exact for
tabular policies; policies over V^H are enumerated through ``.to_tabular()``. All functions are pure
``jax.numpy`` code, usable under ``jit`` and ``vmap`` (argument checks run only on concrete values).

Conventions, following the paper:
* argmax sets are *sets* (ties included); π(y*(x)|x) is the total mass on the set;
* averages over prompts use μ of the base policy (the second argument where there are two);
* prompts outside supp μ carry no weight.
"""

from __future__ import annotations

import jax
import jax.scipy.special  # noqa: F401  (logsumexp for large p)
import jax.numpy as jnp
import numpy as np

from sharpsim.core.validation import check_gamma, check_in_interval, is_concrete
from sharpsim.core.policy import TabularPolicy, as_tabular


def argmax_mask(policy, gamma=0.0) -> jax.Array:
    """bool [X, Y]: y ∈ y*_γ(x) ⇔ π(y|x) ≥ (1 − γ)·max_y' π(y'|x)   (Definition F.1; γ = 0 gives y*(x) with ties)."""
    gamma = check_gamma(gamma)
    probs = as_tabular(policy).probs
    top = probs.max(axis=-1, keepdims=True)
    return probs >= (1.0 - gamma) * top


def argmax_mass(policy, gamma=0.0) -> jax.Array:
    """[X]: π(y*_γ(x)|x), the mass the policy puts on its own γ-argmax set."""
    probs = as_tabular(policy).probs
    return jnp.sum(jnp.where(argmax_mask(policy, gamma), probs, 0.0), axis=-1)


def coverage_coefficient(policy, gamma=0.0, p=1) -> jax.Array:
    """C_cov,γ,p = ( E_{x∼μ}[ π(y*_γ(x)|x)^(−p) ] )^(1/p)   (Eq. 6; Appendix F.1 for γ and p).

    With γ = 0 and p = 1 this is the coverage coefficient C_cov = E_x[1/π_base(y*(x)|x)] of Eq. (6).
    It is ≥ 1, with equality iff π puts all its mass on y*(x) for μ-almost every x. ``p`` may be any real ≥ 1
    (the paper uses integers).
    """
    p = check_in_interval(p, "p", 1.0, np.inf, closed_low=True, closed_high=False)
    policy = as_tabular(policy)
    mass = argmax_mass(policy, gamma)
    supported = policy.prompt_probs > 0
    weighted = jnp.where(supported, policy.prompt_probs * mass ** (-p), 0.0)
    direct = jnp.sum(weighted) ** (1.0 / p)
    # mass^(−p) overflows for large p (p = 512 at mass 1/4) although the p-th root is moderate: then the same
    # quantity in log space, exp(logsumexp_x(log μ_x − p log mass_x)/p)
    log_terms = jnp.where(supported, jnp.log(jnp.where(supported, policy.prompt_probs, 1.0)) - p * jnp.log(mass),
                          -jnp.inf)
    return jnp.where(jnp.isfinite(direct), direct, jnp.exp(jax.scipy.special.logsumexp(log_terms) / p))


def mode_coverage_coefficient(policy) -> jax.Array:
    """C̄_cov = E_{x∼μ}[ 1 / max_y π(y|x) ]   (Appendix D, Theorem D.1). C̄_cov ≥ C_cov, equal when argmaxes are unique."""
    policy = as_tabular(policy)
    inverse_top = 1.0 / policy.probs.max(axis=-1)
    return jnp.sum(jnp.where(policy.prompt_probs > 0, policy.prompt_probs * inverse_top, 0.0))


def prompt_margins(policy) -> jax.Array:
    """[X]: γ_margin(x) = max_y π(y|x) / max_{y∉y*(x)} π(y|x) − 1, ``inf`` when every response is in y*(x)
    or every response outside y*(x) has probability 0 (Assumption 4.2 then holds for any γ_margin)."""
    policy = as_tabular(policy)
    probs = policy.probs
    top = probs.max(axis=-1)
    runner_up = jnp.max(jnp.where(argmax_mask(policy), -1.0, probs), axis=-1)
    safe_runner_up = jnp.where(runner_up > 0, runner_up, 1.0)
    return jnp.where(runner_up > 0, top / safe_runner_up - 1.0, jnp.inf)


def margin(policy) -> jax.Array:
    """γ_margin = min over x ∈ supp μ of ``prompt_margins`` (Assumption 4.2); ``inf`` if no prompt has a
    non-argmax response of positive probability."""
    policy = as_tabular(policy)
    return jnp.min(jnp.where(policy.prompt_probs > 0, prompt_margins(policy), jnp.inf))


def _check_same_shape(learned: TabularPolicy, base: TabularPolicy, names=("learned", "base")) -> None:
    """Both policies on the same prompt and response spaces; ``names`` are the caller's two arguments."""
    if learned.probs.shape != base.probs.shape:
        first, second = (f"{name} policy" if name in ("learned", "base") else name for name in names)
        raise ValueError(
            f"{first} has shape {learned.probs.shape} but {second} has shape {base.probs.shape}; "
            "they must share the prompt and response spaces"
        )


def sharpness(learned, base, gamma=0.0) -> jax.Array:
    """[X]: s(x) = π̂(y*_γ(x)|x), with the argmax set y*_γ(x) taken from ``base`` (Definition 3.1 / F.1)."""
    learned, base = as_tabular(learned, "learned"), as_tabular(base, "base")
    _check_same_shape(learned, base)
    return mass_on_mask(argmax_mask(base, gamma), learned.probs)


def mass_on_mask(mask, probs) -> jax.Array:
    """[..., X]: Σ_y mask(x, y)·π(y|x), the mass ``probs`` puts on the set ``mask`` of each row.

    When every row's set holds exactly one response (a unique argmax, the usual case) this reads one entry per
    row instead of the whole table (a ``lax.cond`` on the mask: under ``vmap`` over learned policies with a fixed
    base it stays a branch), with the same value: the sum adds only zeros to that entry.
    """
    mask, probs = jnp.broadcast_arrays(jnp.asarray(mask, bool), jnp.asarray(probs))

    def single(probs):
        return jnp.take_along_axis(probs, jnp.argmax(mask, axis=-1)[..., None], axis=-1)[..., 0]

    def every(probs):
        return jnp.sum(jnp.where(mask, probs, 0.0), axis=-1)

    unique = jnp.all(jnp.sum(mask, axis=-1) == 1)
    if is_concrete(unique):  # eagerly: no tracing of both branches on every call
        return single(probs) if bool(unique) else every(probs)
    return jax.lax.cond(unique, single, every, probs)


def _check_delta(delta):
    return check_in_interval(delta, "delta", 0.0, 1.0, closed_low=False, closed_high=False)


def sharpening_error(learned, base, delta, gamma=0.0) -> jax.Array:
    """ε̂(δ) = P_{x∼μ}[ π̂(y*_γ(x)|x) < 1 − δ ], μ from ``base``   (complement of Definition 3.1's event).

    π̂ is (ε, δ, γ)-sharpened exactly when this is ≤ ε. The comparison is strict, as in Definition 3.1
    (mass exactly 1 − δ counts as sharpened). Non-increasing in δ.
    """
    delta = _check_delta(delta)
    base = as_tabular(base, "base")
    failed = sharpness(learned, base, gamma) < 1.0 - delta
    return jnp.sum(jnp.where(failed, base.prompt_probs, 0.0))


def is_sharpened(learned, base, eps, delta, gamma=0.0) -> jax.Array:
    """Definition 3.1 (F.1 for γ > 0): P_{x∼μ}[π̂(y*_γ(x)|x) ≥ 1 − δ] ≥ 1 − ε."""
    eps = check_in_interval(eps, "eps", 0.0, 1.0, closed_low=True, closed_high=False)
    return sharpening_error(learned, base, delta, gamma) <= eps


def hellinger_squared_per_prompt(policy, reference) -> jax.Array:
    """[X]: D_H²(π(·|x), π'(·|x)) = Σ_y (√π(y|x) − √π'(y|x))²  (the paper's convention, no ½; in [0, 2])."""
    policy, reference = as_tabular(policy), as_tabular(reference, "reference")
    _check_same_shape(policy, reference, ("policy", "reference"))
    return jnp.sum((jnp.sqrt(policy.probs) - jnp.sqrt(reference.probs)) ** 2, axis=-1)


def hellinger_squared(policy, reference) -> jax.Array:
    """E_{x∼μ}[D_H²(π(·|x), π'(·|x))], μ from ``reference`` (Lemma F.1 measures MLE error this way)."""
    reference = as_tabular(reference, "reference")
    return jnp.sum(reference.prompt_probs * hellinger_squared_per_prompt(policy, reference))


def kl_divergence_per_prompt(policy, reference) -> jax.Array:
    """[X]: KL(π(·|x) ‖ π'(·|x)) = Σ_y π log(π/π'), with 0·log 0 = 0 and ``inf`` when π' misses π's support."""
    policy, reference = as_tabular(policy), as_tabular(reference, "reference")
    _check_same_shape(policy, reference, ("policy", "reference"))
    p, q = policy.probs, reference.probs
    safe_q = jnp.where(q > 0, q, 1.0)
    safe_p = jnp.where(p > 0, p, 1.0)
    terms = jnp.where(p > 0, p * (jnp.log(safe_p) - jnp.log(safe_q)), 0.0)
    terms = jnp.where((p > 0) & (q == 0), jnp.inf, terms)
    return jnp.sum(terms, axis=-1)


def kl_divergence(policy, reference) -> jax.Array:
    """D_KL(π ‖ π') = E_{x∼μ}[KL(π(·|x) ‖ π'(·|x))], μ from ``reference`` (Section 1 notation)."""
    reference = as_tabular(reference, "reference")
    per_prompt = kl_divergence_per_prompt(policy, reference)
    return jnp.sum(jnp.where(reference.prompt_probs > 0, reference.prompt_probs * per_prompt, 0.0))
