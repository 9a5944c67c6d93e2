"""Success curves of RLHF-Sharpening for sample-complexity searches: offline (Eq. 8, Theorem 4.2) and XPO
(Algorithm 1, Theorem 4.3 / J.2), on a linear class such as Example J.1's ``sphere``.

Both engines return, per seed, whether the learned policy is δ-sharp at y* (π̂(y*|x) ≥ 1 − δ on the single prompt),
in a form that serves a whole budget search from one draw (``complexity.sample_complexity``):

* offline RLHF (``offline_rlhf_success``): n_max pairs y, y' ∼ π_base are drawn once per seed; the fit at a budget of
  n pairs replaces the pairs beyond the first n by (y, y), whose Eq. 8 residual is identically 0, which is exactly
  dropping them. The pair count is traced, so one compilation serves every n ≤ n_max.
  ``offline_rlhf_min_norm_success`` does the same with the minimum-norm minimizer (``linear_rlhf_min_norm_fit``,
  pseudo-inverse; dropped pairs are zero rows of the design) and also returns the fitted mass π̂(y*).
* XPO (``xpo_success_curves``): with a constant optimism weight α the run with T rounds is the first T rounds of a
  longer run (``xpo`` module docstring), so one run of T_max rounds gives the output after every T ≤ T_max
  (``select_prefix``). α is traced: α = 0 (no exploration bonus: on-policy regression) and α > 0 share a compilation.

``xpo_constants`` evaluates Theorem J.2's prescriptions on an instance: β = γ_margin/(2 log(2|Y|/δ)), R_max (Theorem
J.3), SEC ≤ d log(T + 1) (Lemma J.5), ε_disc = εδ/√(SEC·T), log N(Π, ε_disc) = d log(6B/ε_disc) (Lemma J.4) and
α = (β/R_max)√(log(2N(Π, ε_disc)T/δ)/(SEC·T)).
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.algorithms.rlhf import linear_rlhf_fit, linear_rlhf_min_norm_fit
from sharpsim.algorithms.xpo import select_prefix, xpo_sharpen
from sharpsim.core.oracle import Oracle
from sharpsim.core.shapes import check_key_batch
from sharpsim.core.validation import check_allocation, check_in_interval, check_positive_int
from sharpsim.core.jit import counted_jit
from sharpsim.measure.arguments import check_concrete_scalar, prechecked
from sharpsim.theory.rlhf import (lemma_j4_log_net_size, lemma_j5_sec_bound, thm_j2_alpha, thm_j2_beta,
                                  thm_j2_eps_disc, thm_j3_reward_range)


class XPOCurves(NamedTuple):
    """Per seed: ``success`` [seeds, T_max + 1] (column T: the output after T rounds is δ-sharp at y*),
    ``last_iterate_mass`` [seeds] (π^(T_max+1)(y*)), ``training_queries`` [seeds] (the T_max prompts, samples and
    evaluations of the rounds, Theorem J.2's m ≍ 2T) and ``charged_queries`` [seeds] (everything the oracle was
    charged: training plus the (T_max + 1)·V validation prompts and evaluations)."""

    success: jax.Array
    last_iterate_mass: jax.Array
    training_queries: jax.Array
    charged_queries: jax.Array


def xpo_constants(instance, num_rounds: int, delta: float, eps: float) -> dict:
    """Theorem J.2's constants on ``instance`` at horizon T = ``num_rounds`` (module docstring).

    Args:
      instance: needs ``margin`` (γ_margin), ``num_responses`` (|Y|), ``dimension`` (d) and ``radius`` (B).
      num_rounds: T ≥ 1. delta: δ ∈ (0, 1). eps: ε ∈ (0, 1).

    Returns a dict with ``beta``, ``reward_range`` (R_max), ``sec``, ``log_net_size`` and ``alpha_thm``.
    """
    for attribute in ("margin", "num_responses", "dimension", "radius"):
        if not hasattr(instance, attribute):
            raise TypeError(f"instance must be a linear instance with .{attribute} (e.g. instances.sphere), got "
                            f"{type(instance).__name__}")
    num_rounds = check_positive_int(num_rounds, "num_rounds")
    delta = check_in_interval(delta, "delta", 0.0, 1.0, closed_low=False, closed_high=False)
    eps = check_in_interval(eps, "eps", 0.0, 1.0, closed_low=False, closed_high=False)
    num_responses, dimension, radius = instance.num_responses, instance.dimension, instance.radius
    beta = float(thm_j2_beta(instance.margin, num_responses, delta))
    reward_range = float(thm_j3_reward_range(beta, radius, num_responses))
    sec = float(lemma_j5_sec_bound(dimension, num_rounds))
    eps_disc = float(thm_j2_eps_disc(eps, delta, sec, num_rounds))
    log_net = float(lemma_j4_log_net_size(radius, eps_disc, dimension))
    alpha = float(thm_j2_alpha(beta, reward_range, sec, log_net, num_rounds, delta))
    return {"beta": beta, "reward_range": reward_range, "sec": sec, "log_net_size": log_net, "alpha_thm": alpha}


def _check_engine(policy, keys, beta, optimum, delta) -> tuple[int, tuple[int, int]]:
    """The arguments every engine shares: (seeds, the policy's [X, Y]); beta and optimum when concrete."""
    probs_shape = tuple(getattr(getattr(policy, "probs", None), "shape", ()))
    if len(probs_shape) != 2:
        raise TypeError(f"policy must be a TabularPolicy (π_base with probs [X, Y]), got {type(policy).__name__}")
    seeds = check_key_batch(keys)
    check_concrete_scalar(beta, "beta", 0.0, np.inf, False, False)
    check_concrete_scalar(optimum, "optimum", 0, probs_shape[1] - 1, True, True, integer=True)
    check_in_interval(delta, "delta", 0.0, 1.0, closed_low=False, closed_high=False)
    return seeds, probs_shape


def _check_xpo(policy, model_class, keys, beta, alpha, reward_range, optimum, num_rounds, delta, num_steps,
               num_validation, learning_rate):
    seeds, probs_shape = _check_engine(policy, keys, beta, optimum, delta)
    check_concrete_scalar(alpha, "alpha", 0.0, np.inf, True, False)
    check_concrete_scalar(reward_range, "reward_range", 0.0, np.inf, False, False)
    num_rounds = check_positive_int(num_rounds, "num_rounds")
    check_positive_int(num_steps, "num_steps")
    check_positive_int(num_validation, "num_validation")
    check_in_interval(learning_rate, "learning_rate", 0.0, np.inf, closed_low=False, closed_high=False)
    # every seed keeps the policy of each of its T_max + 1 iterates
    check_allocation((seeds, num_rounds + 1) + probs_shape, "xpo_success_curves (seeds × (num_rounds + 1) × [X, Y])")


@prechecked(_check_xpo)
@partial(counted_jit, static_argnames=("num_rounds", "delta", "num_steps", "num_validation", "learning_rate"))
def xpo_success_curves(policy, model_class, keys, beta, alpha, reward_range, optimum, num_rounds: int,
                       delta: float, num_steps: int, num_validation: int, learning_rate: float) -> XPOCurves:
    """One run of XPO (Algorithm 1, ``xpo_sharpen`` with V_max = 0) per seed, read at every T ≤ T_max.

    Args:
      policy: π_base with a single prompt. model_class: the class Π (``LinearSoftmaxClass`` or ``TabularClass``).
      keys: PRNG keys [seeds, 2]. beta: β > 0. alpha: the optimism weight α ≥ 0 (traced).
      reward_range: R_max. optimum: the index of y*.
      num_rounds: T_max (static). delta: δ of the success event π̂(y*) ≥ 1 − δ (static).
      num_steps, num_validation, learning_rate: XPO's optimizer steps per round, validation draws V per iterate and
        Adam step size (static).
    """
    delta = check_in_interval(delta, "delta", 0.0, 1.0, closed_low=False, closed_high=False)

    def one_seed(key):
        result, oracle = xpo_sharpen(key, Oracle(policy), model_class, num_rounds, beta, alpha, num_steps=num_steps,
                                     num_validation=num_validation, learning_rate=learning_rate,
                                     reward_range=reward_range, value_range=0.0)
        mass = jax.vmap(lambda theta: model_class.policy(theta).probs[0, optimum])(result.iterates)
        chosen = select_prefix(result.validation, jnp.arange(num_rounds + 1))
        return XPOCurves(mass[chosen] >= 1.0 - delta, mass[-1], result.training_queries.total, oracle.queries.total)

    return jax.vmap(one_seed)(keys)


def _first_pairs(key, policy, num_pairs, max_pairs: int):
    """Eq. 8's data for one seed: ``max_pairs`` pairs y, y' ∼ π_base through the oracle, the pairs beyond the first
    ``num_pairs`` (traced) replaced by (y, y), whose residual is 0 whatever the fit."""
    key_prompts, key_pairs = jax.random.split(key)
    oracle = Oracle(policy)
    prompts, oracle = oracle.draw_prompts(key_prompts, max_pairs)
    batch, oracle = oracle.sample(key_pairs, prompts, 2)
    kept = (jnp.arange(max_pairs) < num_pairs)[:, None]
    return (prompts, jnp.where(kept, batch.responses, batch.responses[:, :1]),
            jnp.where(kept, batch.log_probs, batch.log_probs[:, :1]))


def _check_offline(policy, model_class, keys, beta, optimum, num_pairs, max_pairs, delta):
    seeds, _ = _check_engine(policy, keys, beta, optimum, delta)
    max_pairs = check_positive_int(max_pairs, "max_pairs")
    check_concrete_scalar(num_pairs, "num_pairs", 0, max_pairs, True, True, integer=True)
    check_allocation((seeds, max_pairs, 2), "the pairs (seeds × max_pairs × 2)")


@prechecked(_check_offline)
@partial(counted_jit, static_argnames=("max_pairs", "delta"))
def offline_rlhf_success(policy, model_class, keys, beta, optimum, num_pairs, max_pairs: int, delta: float):
    """Per seed: whether offline RLHF-Sharpening (Eq. 8, Theorem 4.2) on the first ``num_pairs`` of ``max_pairs``
    pairs y, y' ∼ π_base is δ-sharp at y*, fitted by ``linear_rlhf_fit`` (the class must be linear).

    Args:
      policy: π_base with a single prompt. model_class: a ``LinearSoftmaxClass``. keys: PRNG keys [seeds, 2].
      beta: β > 0. optimum: the index of y*. num_pairs: n ≤ n_max (traced). max_pairs: n_max (static).
      delta: δ of the success event (static).

    Returns a bool array [seeds]. The oracle is charged 2·n_max samples per seed; the budget the search charges
    is m = 2n (the dropped pairs are never used).
    """
    max_pairs = check_positive_int(max_pairs, "max_pairs")
    delta = check_in_interval(delta, "delta", 0.0, 1.0, closed_low=False, closed_high=False)

    def one_seed(key):
        prompts, responses, log_probs = _first_pairs(key, policy, num_pairs, max_pairs)
        fit = linear_rlhf_fit(model_class, prompts, responses, log_probs, beta)
        return fit.policy.probs[0, optimum] >= 1.0 - delta

    return jax.vmap(one_seed)(keys)


@prechecked(_check_offline)
@partial(counted_jit, static_argnames=("max_pairs", "delta"))
def offline_rlhf_min_norm_success(policy, model_class, keys, beta, optimum, num_pairs, max_pairs: int, delta: float):
    """As ``offline_rlhf_success`` with the minimum-norm tie-break (``linear_rlhf_min_norm_fit``): per seed,
    ``(success, mass, inside)``: π̂(y*) ≥ 1 − δ, π̂(y*) and whether the minimum-norm solution lies in the ball."""
    max_pairs = check_positive_int(max_pairs, "max_pairs")
    delta = check_in_interval(delta, "delta", 0.0, 1.0, closed_low=False, closed_high=False)

    def one_seed(key):
        prompts, responses, log_probs = _first_pairs(key, policy, num_pairs, max_pairs)
        fit = linear_rlhf_min_norm_fit(model_class, prompts, responses, log_probs, beta)
        mass = fit.policy.probs[0, optimum]
        return mass >= 1.0 - delta, mass, fit.converged

    return jax.vmap(one_seed)(keys)
