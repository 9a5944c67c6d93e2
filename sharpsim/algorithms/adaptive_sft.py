"""Adaptive SFT-Sharpening (digest §3.4, App. D: Eq. 10, Thm D.1, Lemma I.1).

For each prompt x_i ∼ μ, sample y_{i,1}, y_{i,2}, … ∼ π_base(·|x_i) until the stopping time (Eq. 10)

    N_μ(x_i) = inf{ k : 1 / max_{j≤k} π_base(y_{i,j}|x_i) ≤ k/μ }   (⇔ k · max_{j≤k} π_base(y_{i,j}|x_i) ≥ μ),

take the best-of-N_μ pick y_i^AdaBoN = argmax_{j ≤ N_μ} log π_base(y_{i,j}|x_i), then π̂ = argmax_Π Σ_i log π(y_i^AdaBoN|x_i).
(μ is the stopping parameter here, not the prompt distribution.) Thm D.1 takes μ = ln(2/δ) and gets
E[m] = n(1 + μ)C̄_cov; Lemma I.1: E[N_μ] ≤ (μ + 1/|y*|)/P*, and the pick misses y* w.p. ≤ e^{−|y*|μ}.

Accounting (Def. D.1, the adaptive sample-and-evaluate oracle). Fixed shapes under jit need a finite tape,
so each prompt's first ``max_samples`` responses are drawn at once from ``oracle.base`` by ``draw_uncharged_tape``,
which does not charge the ledger; the decision "stop at k" uses only samples 1..k (a running maximum), the
pick uses only samples 1..N_μ, and the oracle is then charged exactly Σ_i N_μ(x_i) samples. Samples beyond
N_μ are never looked at, so this is the same algorithm as drawing one sample at a time on an infinite tape,
truncated at the cap. A prompt whose rule has not fired by the cap stops there (N = cap, best-of-cap pick);
``hit_cap`` records it per prompt and ``num_capped`` counts them — a deviation from Eq. 10, reported, never
silent. A cap ≥ ⌈μ / min_y π_base(y|x)⌉ (the smallest positive probability) can never be hit.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.core.validation import check_in_interval, check_positive_int, is_concrete
from sharpsim.algorithms.best_of_n import running_best_index
from sharpsim.algorithms.sft import check_class_matches_oracle, queries_used, training_targets
from sharpsim.core.oracle import Oracle, QueryCount, SampleBatch


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class AdaptiveSFTResult:
    """``policy`` (the fit), ``queries`` used by this run (samples = Σ_i N_μ(x_i), random), ``prompts`` [n],
    ``responses`` [n] (the AdaBoN picks), ``log_probs`` [n], ``samples_per_prompt`` [n] = N_μ(x_i) (the cap
    where it was hit) and ``hit_cap`` [n] (bool: the stopping rule had not fired by ``max_samples``)."""

    policy: object
    queries: QueryCount
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
    if is_concrete(mu):
        return check_in_interval(mu, "mu", 0.0, np.inf, closed_low=False, closed_high=False)
    return mu


def adaptive_stopping_time(log_probs: jax.Array, mu) -> tuple[jax.Array, jax.Array]:
    """Eq. 10 on a tape of log π_base(y_j|x) [..., K]: (N_μ [...] in 1..K, hit_cap [...]).

    N_μ is the first k with k · max_{j≤k} π_base(y_j|x) ≥ μ; when no k ≤ K qualifies it is K and hit_cap is True.
    """
    mu = check_stopping_parameter(mu)
    cap = log_probs.shape[-1]
    running_max = jnp.exp(jax.lax.cummax(log_probs, axis=log_probs.ndim - 1))
    k = jnp.arange(1, cap + 1, dtype=jnp.float64)
    stops = k * running_max >= mu
    fired = jnp.any(stops, axis=-1)
    first = jnp.argmax(stops, axis=-1) + 1
    return jnp.where(fired, first, cap).astype(jnp.int64), ~fired


def draw_uncharged_tape(oracle: Oracle, key: jax.Array, prompts: jax.Array, max_samples: int) -> SampleBatch:
    """The first ``max_samples`` responses of each prompt's i.i.d. tape, *uncharged*: the caller charges the
    prefix it looks at (see the module docstring). Mirrors ``Oracle.sample`` exactly otherwise."""
    responses = oracle.base.sample_responses(key, prompts, max_samples)
    return SampleBatch(responses, oracle.base.log_prob(prompts[..., None], responses))


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
    tape = draw_uncharged_tape(oracle, key_samples, prompts, max_samples)
    stop, hit_cap = adaptive_stopping_time(tape.log_probs, mu)
    best = jnp.take_along_axis(running_best_index(tape.log_probs), (stop - 1)[:, None], axis=-1)[:, 0]
    # the pick along the sample axis (axis 1); token sequences of an autoregressive base keep their H axis
    responses = jnp.take_along_axis(tape.responses, best.reshape((-1,) + (1,) * (tape.responses.ndim - 1)), axis=1)[:, 0]
    log_probs = jnp.take_along_axis(tape.log_probs, best[:, None], axis=-1)[:, 0]
    oracle = oracle.charge(samples=jnp.sum(stop))
    fitted = model_class.fit(prompts, training_targets(model_class, oracle.base, prompts, responses))
    result = AdaptiveSFTResult(fitted, queries_used(start, oracle), prompts, responses, log_probs, stop, hit_cap)
    return result, oracle
