"""Sequence-level sharpness without enumeration: the mass a policy puts on known target sequences.

When |V|^H is too large for ``to_tabular`` the referee can still measure sharpness against a known
argmax y*(x) (planted in ``bitstring``, or found by ``viterbi_decode`` for Markov bases):

* ``target_mass``: exact π(y*(x)|x) = exp Σ_h log π_h(y*_h | y*_{<h}, x) through ``log_prob``;
* ``estimate_target_mass``: a Monte-Carlo estimate from samples alone, (1/N)·#{i : y_i = y*(x)}, with a
  Wilson interval, for a policy that can only be sampled (a black-box π̂);
* ``sequence_sharpening_error``: ε̂(δ) = P_{x∼μ}[π̂(y*(x)|x) < 1 − δ] (Definition 3.1) from ``target_mass``.

With a unique argmax these equal ``sharpness`` / ``sharpening_error`` of ``quantities`` (tests check it).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.core.validation import (
    check_allocation, check_in_interval, check_index_array, check_positive_int, check_rows_on_simplex, is_concrete,
)
from sharpsim.policies.autoregressive import AutoregressivePolicy, check_prompt_probs, check_tokens
from sharpsim.measure.statistics import wilson_interval


@dataclass(frozen=True)
class MassEstimate:
    """Per prompt: ``estimate`` [X] of π(y*(x)|x), its ``lower``/``upper`` Wilson bounds, ``num_samples``."""

    estimate: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    num_samples: int
    confidence: float


def _check_targets(policy, targets, name: str = "policy") -> jax.Array:
    """``policy`` (argument ``name``) autoregressive and ``targets`` integer tokens [X, H] in [0, |V|)."""
    if not isinstance(policy, AutoregressivePolicy):
        raise TypeError(f"{name} must be an AutoregressivePolicy (tree, Markov or linear softmax), got "
                        f"{type(policy).__name__}")
    targets = check_index_array(targets, "targets", policy.vocab_size, "token")
    check_tokens(targets, policy.vocab_size, policy.horizon, "targets")
    if targets.shape != (policy.num_prompts, policy.horizon):
        raise ValueError(
            f"targets must hold one sequence per prompt, shape [X, H] = ({policy.num_prompts}, {policy.horizon}), "
            f"got {targets.shape}"
        )
    return targets


def target_mass(policy: AutoregressivePolicy, targets, name: str = "policy") -> jax.Array:
    """float [X]: π(targets[x] | x), exact, without enumerating V^H (``name``: the policy's name in errors)."""
    targets = _check_targets(policy, targets, name)
    return jnp.exp(policy.log_prob(jnp.arange(policy.num_prompts), targets))


def estimate_target_mass(key: jax.Array, policy: AutoregressivePolicy, targets, num_samples: int,
                         confidence: float = 0.95) -> MassEstimate:
    """Monte-Carlo π(targets[x]|x): the fraction of ``num_samples`` draws y ∼ π(·|x) equal to the target,
    with a Wilson ``confidence`` interval per prompt. Uses only ``sample_responses``."""
    targets = _check_targets(policy, targets)
    num_samples = check_positive_int(num_samples, "num_samples")
    # the draws [X, N, H] and the comparison with the targets
    check_allocation((policy.num_prompts, num_samples, policy.horizon), "num_samples", itemsize=2 * 8)
    confidence = check_in_interval(confidence, "confidence", 0.0, 1.0, False, False)
    samples = policy.sample_responses(key, jnp.arange(policy.num_prompts), num_samples)
    hits = np.asarray(jnp.sum(jnp.all(samples == targets[:, None, :], axis=-1), axis=-1))
    lower, upper = wilson_interval(hits, num_samples, confidence)
    return MassEstimate(hits / num_samples, lower, upper, num_samples, confidence)


def sequence_sharpening_error(learned: AutoregressivePolicy, targets, delta, prompt_probs=None) -> jax.Array:
    """ε̂(δ) = P_{x∼μ}[ π̂(y*(x)|x) < 1 − δ ] with y*(x) = targets[x] (Definition 3.1), exact; μ defaults to the
    learned policy's prompt distribution (pass the base's)."""
    delta = check_in_interval(delta, "delta", 0.0, 1.0, False, False)
    mass = target_mass(learned, targets, "learned")
    if prompt_probs is None:
        weights = learned.prompt_probs
    elif is_concrete(prompt_probs):
        weights = jnp.asarray(check_prompt_probs(prompt_probs, learned.num_prompts))
    else:
        weights = jnp.asarray(prompt_probs, jnp.float64)
        if weights.shape != mass.shape:
            raise ValueError(f"prompt_probs must have shape {mass.shape}, got {weights.shape}")
        check_rows_on_simplex(weights, "prompt_probs")
    return jnp.sum(jnp.where(mass < 1.0 - delta, weights, 0.0))
