"""The built-in algorithms as ``check_guarantee`` takes them: a builder ``make_X(instance, **allocation)``, the
theorem's allocation as a claim ``claim(eps, delta, rho, quantities)``, and the exact law of success where one is
known (then ``check_guarantee`` needs no Monte Carlo).

* SFT-Sharpening with the tabular class (Section 2.1): ``make_sft``, Theorem 4.1's (n, N) (``thm_4_1_claim``),
  exact law ``exact_sft_success_probability``;
* offline RLHF-Sharpening with the tabular class (Section 2.2, Eq. 8): ``make_rlhf``, Theorem 4.2's β and
  n = m/2 (``thm_4_2_claim``), Monte Carlo;
* adaptive SFT-Sharpening with the tabular class (Appendix D, Eq. 10): ``make_adaptive_sft``, Theorem D.1's n and
  μ = ln(2/δ) (``thm_d1_claim``) with a tape cap that Eq. 10 outruns with probability ≤ 1e-6, Monte Carlo;
* best-of-N at every prompt (Proposition C.1): ``make_best_of_n`` returns π̂(·|x) = the point mass on the pick
  ŷ(x) at every x (the inference-time policy a draw of best-of-N induces), ``prop_c1_claim`` sets
  N = log(|supp μ|/ρ)/min_x π_base(y*(x)|x), Proposition C.1 at ρ/|supp μ| with a union bound over prompts, so
  every pick lands in y*(x) w.p. ≥ 1 − ρ; exact law ``exact_best_of_n_success_probability``.

``instance_quantities(instance)`` is what a claim receives: C_cov (Eq. 6), γ_margin (Assumption 4.2), |X|, |Y|,
log|Π| and the instance itself (a claim may compute more from it: that is prior knowledge the user grants).
log|Π| is |X|·log|Y|, the size of the class of deterministic policies (Π_tab is infinite; Theorem 4.1 needs a
finite stand-in, as the experiments use).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim import theory
from sharpsim.algorithms.adaptive_sft import adaptive_sft_sharpen
from sharpsim.algorithms.base import queries_used
from sharpsim.algorithms.best_of_n import BestOfNResult, best_of_n
from sharpsim.algorithms.rlhf import rlhf_sharpen
from sharpsim.algorithms.sft import sft_sharpen
from sharpsim.classes.tabular import TabularClass
from sharpsim.core.policy import TabularPolicy, as_tabular
from sharpsim.referee.exact_sft import exact_sft_success_probability
from sharpsim.referee.kl_regularized import concentrability, power_policy
from sharpsim.referee.quantities import argmax_mass, coverage_coefficient, margin, mode_coverage_coefficient

__all__ = ["EXACT_LAWS", "exact_best_of_n_success_probability", "instance_quantities", "make_adaptive_sft",
           "make_best_of_n", "make_rlhf", "make_sft", "prop_c1_claim", "thm_4_1_claim", "thm_4_2_claim",
           "thm_d1_claim"]

_ERROR_TOLERANCE = 1e-12  # error values within this of ε count as ≤ ε (as exact_sft_success_probability does)


@jax.jit  # one compilation per shape instead of op-by-op dispatch of each quantity
def _referee_quantities(table):
    return coverage_coefficient(table), mode_coverage_coefficient(table), margin(table), argmax_mass(table)


def instance_quantities(instance) -> dict:
    """What a claim receives: ``coverage`` C_cov, ``mode_coverage`` C̄_cov, ``margin`` γ_margin, ``num_prompts``
    |X|, ``num_responses`` |Y|, ``support_size`` |supp μ|, ``min_argmax_mass`` min over supp μ of
    π_base(y*(x)|x), ``log_class_size`` |X|·log|Y| (module docstring), ``vocab_size``/``horizon`` (None for a
    tabular base) and ``instance``."""
    table = as_tabular(instance)
    mu = np.asarray(table.prompt_probs)
    supported = mu > 0
    num_prompts, num_responses = (int(size) for size in table.probs.shape)
    coverage, mode_coverage, gamma, masses = (np.asarray(value) for value in _referee_quantities(table))
    return {
        "coverage": float(coverage),
        "mode_coverage": float(mode_coverage),
        "margin": float(gamma),
        "num_prompts": num_prompts,
        "num_responses": num_responses,
        "support_size": int(supported.sum()),
        "min_argmax_mass": float(np.min(masses[supported])),
        "log_class_size": num_prompts * math.log(num_responses),
        "vocab_size": getattr(instance, "vocab_size", None),
        "horizon": getattr(instance, "horizon", None),
        "instance": instance,
    }


# --- builders -----------------------------------------------------------------------------------------------------

def make_sft(instance, num_prompts: int, num_samples: int):
    """SFT-Sharpening (Section 2.1) with the tabular class on ``instance``'s spaces and μ."""
    return functools.partial(sft_sharpen, model_class=TabularClass.like(instance), num_prompts=int(num_prompts),
                             num_samples=int(num_samples))


def make_adaptive_sft(instance, num_prompts: int, mu: float, max_samples: int):
    """Adaptive SFT-Sharpening (Appendix D, Eq. 10) with the tabular class on ``instance``'s spaces and μ; ``mu`` is
    the stopping parameter and ``max_samples`` the per-prompt tape cap."""
    return functools.partial(adaptive_sft_sharpen, model_class=TabularClass.like(instance),
                             num_prompts=int(num_prompts), mu=float(mu), max_samples=int(max_samples))


def make_rlhf(instance, num_prompts: int, beta: float, tie_break: str = "pessimistic"):
    """Offline RLHF-Sharpening (Eq. 8) with the tabular class on ``instance``'s spaces and μ."""
    return functools.partial(rlhf_sharpen, model_class=TabularClass.like(instance), num_prompts=int(num_prompts),
                             beta=float(beta), tie_break=tie_break)


def make_best_of_n(instance, num_samples: int):
    """Best-of-N (Proposition C.1) at every prompt x ∈ X, returned as the policy π̂(·|x) = point mass on ŷ(x)
    (``BestOfNResult`` with that ``policy``; μ from the instance, as ``TabularClass.like`` carries it). Charged
    |X|·N samples."""
    num_samples, mu = int(num_samples), jnp.asarray(as_tabular(instance).prompt_probs)

    def best_of_n_everywhere(key, oracle):
        prompts = jnp.arange(oracle.num_prompts)
        picks, charged = best_of_n(key, oracle, prompts, num_samples)
        if picks.responses.ndim > prompts.ndim:  # token sequences of an autoregressive base
            from sharpsim.policies.autoregressive import sequences_to_indices

            indices = sequences_to_indices(picks.responses, oracle.vocab_size)
        else:
            indices = picks.responses
        table = jax.nn.one_hot(indices, oracle.num_responses, dtype=jnp.float64)
        policy = TabularPolicy.tree_unflatten(None, (table, mu))
        return BestOfNResult(policy, queries_used(oracle, charged), picks.responses, picks.log_probs), charged

    return best_of_n_everywhere


# --- the theorems' allocations as claims -----------------------------------------------------------------------------

def thm_4_1_claim(eps, delta, rho, quantities, constant: float = 1.0) -> dict:
    """Theorem 4.1: n = c·log(|Π|/ρ)/(δε), N = c·C_cov·log(2/δ)/ε (rounded up), for ``make_sft``."""
    num_prompts = theory.thm_4_1_num_prompts(quantities["log_class_size"], eps, delta, rho, constant)
    num_samples = theory.thm_4_1_num_samples(quantities["coverage"], eps, delta, constant)
    return {"num_prompts": math.ceil(float(num_prompts)), "num_samples": math.ceil(float(num_samples))}


CAP_MISS = 1e-6  # thm_d1_claim's cap is outrun by Eq. 10 on some prompt of a run with at most this probability


def thm_d1_claim(eps, delta, rho, quantities, constant: float = 1.0) -> dict:
    """Theorem D.1: n = c·log(|Π|/ρ)/(δε) (as Theorem 4.1) and μ = ln(2/δ), for ``make_adaptive_sft``.

    Eq. 10 has no cap; the tape needs one. Once a draw hits y*(x), the rule fires by k = ⌈μ/P*(x)⌉ (P* the argmax
    mass), and the first hit comes after k draws with probability (1 − P*)^k ≤ e^(−kP*). So the cap
    ⌈max(μ, log(n/CAP_MISS))/P*_min⌉, P*_min = 1/max_x (1/max_y π_base(y|x)), is reached on some prompt of a run
    with probability ≤ CAP_MISS (a union bound over the n prompts): the claim is Theorem D.1's algorithm but for an
    event far below what Monte Carlo resolves."""
    num_prompts = math.ceil(float(theory.thm_d1_num_prompts(quantities["log_class_size"], eps, delta, rho,
                                                            constant)))
    mu = float(theory.thm_d1_stopping_parameter(delta))
    table = as_tabular(quantities["instance"])
    supported = np.asarray(table.prompt_probs) > 0
    least_mode = float(np.min(np.max(np.asarray(table.probs), axis=1)[supported]))
    cap = math.ceil(max(mu, math.log(num_prompts / CAP_MISS)) / least_mode)
    return {"num_prompts": num_prompts, "mu": mu, "max_samples": cap}


def thm_4_2_claim(eps, delta, rho, quantities, constant: float = 1.0) -> dict:
    """Theorem 4.2: β = γ_margin·δ·ε and n = m/2 pairs with m = C_conc·log³(C_loss|Π|/ρ)/(γ_margin² δ² ε²),
    C_conc = C(π*_β) (Eq. 9) and C_loss := 1 (its floor: the tabular class has no finite C_loss), for
    ``make_rlhf``. Needs a finite margin (Assumption 4.2 with γ_margin < ∞)."""
    gamma = quantities["margin"]
    if not math.isfinite(gamma):
        raise ValueError("thm_4_2_claim needs an instance with a finite margin γ_margin (a response outside the "
                         f"argmax set with positive mass); this instance has margin {gamma}")
    beta = float(theory.thm_4_2_beta(gamma, delta, eps, constant))
    base = quantities["instance"]
    conc = max(1.0, float(concentrability(power_policy(base, beta), base)))
    total = theory.thm_4_2_sample_complexity(conc, 1.0, quantities["log_class_size"], gamma, eps, delta, rho,
                                             constant)
    return {"num_prompts": max(1, math.ceil(float(total) / 2.0)), "beta": beta}


def prop_c1_claim(eps, delta, rho, quantities, constant: float = 1.0) -> dict:
    """Proposition C.1 at ρ/|supp μ| for the least argmax mass: N = c·log(|supp μ|/ρ)/min_x π_base(y*(x)|x),
    for ``make_best_of_n`` (module docstring)."""
    num_samples = theory.prop_c1_num_samples(quantities["min_argmax_mass"], rho / quantities["support_size"],
                                             constant)
    return {"num_samples": max(1, math.ceil(float(num_samples)))}


# --- exact laws ------------------------------------------------------------------------------------------------------

def _sft_law(instance, allocation: dict, eps: float, delta: float) -> float:
    return exact_sft_success_probability(instance, allocation["num_prompts"], allocation["num_samples"], delta, eps)


def exact_best_of_n_success_probability(instance, num_samples: int, delta: float, eps: float) -> float:
    """P[``make_best_of_n``'s π̂ is (ε, δ)-sharp], exactly: π̂ is sharp at x iff the pick lands in y*(x)
    (δ < 1), which misses with probability (1 − π_base(y*(x)|x))^N independently across prompts, so the error
    Σ_x μ(x)·1{miss at x} has the law of a sum of independent weighted Bernoullis (a dynamic programme over
    prompts, merging error values within 1e-12)."""
    table = as_tabular(instance)
    mu = np.asarray(table.prompt_probs)
    mass = np.asarray(argmax_mass(table))
    with np.errstate(divide="ignore"):  # mass 1 gives log 0 = −inf and a miss probability of exactly 0
        miss = np.exp(int(num_samples) * np.log1p(-np.minimum(mass, 1.0)))
    values, law = np.zeros(1), np.ones(1)
    for x in np.flatnonzero(mu > 0):
        values = np.concatenate([values, values + mu[x]])
        law = np.concatenate([law * (1.0 - miss[x]), law * miss[x]])
        order = np.argsort(values, kind="stable")
        values, law = values[order], law[order]
        group = np.cumsum(np.concatenate([[True], np.diff(values) > _ERROR_TOLERANCE])) - 1
        values, law = values[np.r_[0, np.flatnonzero(np.diff(group)) + 1]], np.bincount(group, weights=law)
    return float(np.sum(law[values <= eps + _ERROR_TOLERANCE]))


def _best_of_n_law(instance, allocation: dict, eps: float, delta: float) -> float:
    return exact_best_of_n_success_probability(instance, allocation["num_samples"], delta, eps)


# builder -> exact law P[sharp](instance, allocation, eps, delta); check_guarantee looks the builder up here
EXACT_LAWS = {make_sft: _sft_law, make_best_of_n: _best_of_n_law}
