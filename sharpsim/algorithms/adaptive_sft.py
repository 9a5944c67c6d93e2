"""Adaptive SFT-Sharpening (Appendix D: Eq. 10, Theorem D.1, Lemma I.1).

For each prompt x_i ∼ μ, sample y_{i,1}, y_{i,2}, … ∼ π_base(·|x_i) until the stopping time (Eq. 10)

    N_μ(x_i) = inf{ k : 1 / max_{j≤k} π_base(y_{i,j}|x_i) ≤ k/μ }   (⇔ k · max_{j≤k} π_base(y_{i,j}|x_i) ≥ μ),

take the best-of-N_μ pick y_i^AdaBoN = argmax_{j ≤ N_μ} log π_base(y_{i,j}|x_i), then π̂ = argmax_Π Σ_i log π(y_i^AdaBoN|x_i).
(μ is the stopping parameter here, not the prompt distribution.) Thm D.1 takes μ = ln(2/δ) and gets
E[m] = n(1 + μ)C̄_cov; Lemma I.1: E[N_μ] ≤ (μ + 1/|y*|)/P*, and the pick misses y* w.p. ≤ e^{−|y*|μ}.

Accounting (Definition D.1, the adaptive sample-and-evaluate oracle). The oracle's ``sample_until`` draws each
prompt's tape of ``max_samples`` responses (fixed shapes under jit), computes the running maximum of
log π_base(y_j|x) itself, asks Eq. 10's rule one k at a time, charges exactly Σ_i N_μ(x_i) samples and returns
only samples 1..N_μ; the pick uses only those. This is the same algorithm as drawing one sample at a time on
an infinite tape, truncated at the cap. A prompt whose rule has not fired by the cap stops there (N = cap,
best-of-cap pick); ``hit_cap`` records it per prompt and ``num_capped`` counts them — a deviation from Eq. 10,
reported, never silent. A cap ≥ ⌈μ / min_y π_base(y|x)⌉ (the smallest positive probability) can never be hit.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.algorithms.best_of_n import check_log_probs
from sharpsim.algorithms.base import check_class_matches_oracle, queries_used, training_targets
from sharpsim.core.oracle import Oracle
from sharpsim.core.results import Result
from sharpsim.core.validation import check_in_interval, check_positive_int


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class AdaptiveSFTResult(Result):
    """``policy`` (the fit), ``queries`` this run was charged (samples = Σ_i N_μ(x_i), random), ``prompts`` [n],
    ``responses`` [n] (the AdaBoN picks), ``log_probs`` [n], ``samples_per_prompt`` [n] = N_μ(x_i) (the cap
    where it was hit) and ``hit_cap`` [n] (bool: the stopping rule had not fired by ``max_samples``)."""

    prompts: jax.Array
    responses: jax.Array
    log_probs: jax.Array
    samples_per_prompt: jax.Array
    hit_cap: jax.Array

    @property
    def num_capped(self) -> jax.Array:
        """How many prompts were stopped by the cap rather than by Eq. 10."""
        return jnp.sum(self.hit_cap, axis=-1)


def check_stopping_parameter(mu):
    return check_in_interval(mu, "mu", 0.0, np.inf, closed_low=False, closed_high=False)


def adaptive_stopping_time(log_probs: jax.Array, mu) -> tuple[jax.Array, jax.Array]:
    """Eq. 10 on a tape of log π_base(y_j|x) [..., K]: (N_μ [...] in 1..K, hit_cap [...]).

    N_μ is the first k with k · max_{j≤k} π_base(y_j|x) ≥ μ; when no k ≤ K qualifies it is K and hit_cap is True.
    ``log_probs`` is checked by ``check_log_probs`` (K ≥ 1, no NaN, entries ≤ 0).
    """
    log_probs = check_log_probs(log_probs)
    mu = check_stopping_parameter(mu)
    cap = log_probs.shape[-1]
    stops = eq10_rule(mu)(jnp.arange(1, cap + 1), jax.lax.cummax(log_probs, axis=log_probs.ndim - 1))
    fired = jnp.any(stops, axis=-1)
    first = jnp.argmax(stops, axis=-1) + 1
    return jnp.where(fired, first, cap).astype(jnp.int64), ~fired


def eq10_rule(mu):
    """Eq. 10 as a stopping rule for ``Oracle.sample_until``: stop at k once k · max_{j≤k} π_base(y_j|x) ≥ μ."""
    return lambda k, running_max: k * jnp.exp(running_max) >= mu


def adaptive_sft_sharpen(key: jax.Array, oracle: Oracle, model_class, num_prompts: int, mu, max_samples: int):
    """Adaptive SFT-Sharpening with n = ``num_prompts``, stopping parameter ``mu`` > 0 (Thm D.1: ln(2/δ)) and a
    per-prompt cap ``max_samples`` on the tape. Returns ``(AdaptiveSFTResult, oracle)``; the oracle is charged
    n prompts and exactly Σ_i N_μ(x_i) samples. ``mu`` may be traced (vmap over μ); n and the cap are static.
    """
    num_prompts = check_positive_int(num_prompts, "num_prompts")
    max_samples = check_positive_int(max_samples, "max_samples")
    mu = check_stopping_parameter(mu)
    check_class_matches_oracle(model_class, oracle)
    key_prompts, key_samples = jax.random.split(key)
    start = oracle
    prompts, oracle = oracle.draw_prompts(key_prompts, num_prompts)
    tape, oracle = oracle.sample_until(key_samples, prompts, max_samples, eq10_rule(mu))
    best = jnp.argmax(tape.log_probs, axis=-1)  # the first sample reaching the maximum of samples 1..N_μ
    # the pick along the sample axis (axis 1); token sequences of an autoregressive base keep their H axis
    responses = jnp.take_along_axis(tape.responses, best.reshape((-1,) + (1,) * (tape.responses.ndim - 1)), axis=1)[:, 0]
    log_probs = jnp.take_along_axis(tape.log_probs, best[:, None], axis=-1)[:, 0]
    fitted = model_class.fit(prompts, training_targets(model_class, oracle, prompts, responses))
    result = AdaptiveSFTResult(fitted, queries_used(start, oracle), prompts, responses, log_probs, tape.num_samples,
                               tape.hit_cap)
    return result, oracle
