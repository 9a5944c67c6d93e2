"""Best-of-N's first success, and SFT-Sharpening with a single prompt (Proposition C.1, Theorem 4.1).

Best-of-N (Proposition C.1). On a prompt x with argmax mass p* = π_base(y*(x)|x), the pick of best-of-N lies in
y*(x) with probability 1 − (1 − p*)^N, so N ≥ log(1/ρ)/p* samples suffice for success ≥ 1 − ρ. The event
"BoN_N(x) ∈ y*(x)" is monotone in N when the N samples are the first N of one stream, so one draw of N_max samples
and the first N whose running pick (``running_best_index``) is in y*(x) give the whole success curve N ↦ 1[first ≤ N]
of a seed (``first_success``). Its exact one-prompt counterpart is ``bon_samples_needed``.

SFT-Sharpening with one prompt (Theorem 4.1, Example J.1). With n = 1 the training set is a single pair
(x, BoN_N(x)), so SFT succeeds at N exactly when BoN_N(x) = y*(x) and the maximum-likelihood fit of that single
target is δ-sharp at y*. ``single_target_fit_mass`` computes that fit on Example J.1's linear class (and, as a
control, the fit of a nearest other codeword, which must put little mass on y*).
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.algorithms.best_of_n import running_best_index
from sharpsim.core.oracle import Oracle
from sharpsim.core.policy import TabularPolicy
from sharpsim.core.shapes import check_key_batch
from sharpsim.core.validation import check_allocation, check_in_interval, check_positive_int
from sharpsim.referee.quantities import argmax_mask
from sharpsim.core.jit import counted_jit
from sharpsim.measure.arguments import prechecked


def _check_first_success(policy, keys, max_samples, seed_batch=256):
    if not isinstance(policy, TabularPolicy):
        raise TypeError(f"policy must be a TabularPolicy (π_base), got {type(policy).__name__}")
    max_samples = check_positive_int(max_samples, "max_samples")
    seeds = check_key_batch(keys)
    # a batch of seeds holds its draws, log-probabilities and running picks at once
    check_allocation((min(seeds, check_positive_int(seed_batch, "seed_batch")), max_samples, 3),
                     "first_success (seed_batch × max_samples draws)")


@prechecked(_check_first_success)
@partial(counted_jit, static_argnames=("max_samples", "seed_batch"))
def first_success(policy, keys, max_samples: int, seed_batch: int = 256):
    """Per seed, through the oracle: one prompt x ∼ μ, ``max_samples`` responses of π_base(·|x), and the first N at
    which the best-of-N pick lies in y*(x) (Proposition C.1's event).

    Args:
      policy: the base policy π_base (a ``TabularPolicy``).
      keys: PRNG keys [seeds, 2], one per seed.
      max_samples: N_max ≥ 1 (static): the largest N observed.
      seed_batch: seeds evaluated together by ``jax.lax.map`` (static; bounds the memory to seed_batch·N_max).

    Returns ``(prompts, first, samples)``, each [seeds]: the prompt drawn, the first N ∈ [1, N_max] with
    BoN_N(x) ∈ y*(x) (0 if none within N_max), and the samples the oracle was charged (N_max per seed).
    Success at any N ≤ N_max is ``(first > 0) & (first <= N)``.
    """
    in_argmax = argmax_mask(policy)

    def one_seed(key):
        key_prompt, key_samples = jax.random.split(key)
        oracle = Oracle(policy)
        prompt, oracle = oracle.draw_prompts(key_prompt, 1)
        batch, oracle = oracle.sample(key_samples, prompt, max_samples)
        picks = batch.responses[0][running_best_index(batch.log_probs[0])]  # BoN_N pick for N = 1..N_max
        success = in_argmax[prompt[0], picks]
        first = jnp.where(success.any(), jnp.argmax(success) + 1, 0)
        return prompt[0], first, oracle.queries.samples

    return jax.lax.map(one_seed, keys, batch_size=seed_batch)


def bon_samples_needed(coverage: float, rho: float) -> int:
    """The smallest N with 1 − (1 − p*)^N ≥ 1 − ρ on a single prompt with p* = 1/C_cov (exact; Proposition C.1's
    sufficient N = log(1/ρ)/p* is its upper bound up to rounding).

    Args:
      coverage: C_cov = 1/p* ≥ 1 (one prompt with a unique argmax).
      rho: the failure probability ρ ∈ (0, 1).
    """
    coverage = check_in_interval(coverage, "coverage", 1.0, math.inf, closed_low=True, closed_high=False)
    rho = check_in_interval(rho, "rho", 0.0, 1.0, closed_low=False, closed_high=False)
    if coverage == 1.0:  # p* = 1: the first sample is y*
        return 1
    return max(1, math.ceil(math.log(rho) / math.log1p(-1.0 / coverage)))


def single_target_fit_mass(instance) -> tuple[float, float]:
    """π̂(y*) of the class's maximum-likelihood fit to the single pair (x, y*), and to the single pair (x, y') with
    y' a codeword nearest to y* (Example J.1's ``sphere`` instance, one prompt).

    On the sphere the code's isometries (y ↦ y ⊕ c flips coordinate signs of φ, an orthogonal map of θ) make the fit
    at any target a relabeling of the fit at y*, so the first number decides whether SFT-Sharpening with one prompt
    is δ-sharp whenever its best-of-N pick is y* (Theorem 4.1 with n = 1); the second must be small (δ < 1/2).

    Args:
      instance: a ``SphereInstance`` (``model_class``, ``optimum``, ``codewords``, ``min_distance``).
    """
    for attribute in ("model_class", "optimum", "codewords", "min_distance"):
        if not hasattr(instance, attribute):
            raise TypeError(f"instance must be a SphereInstance (with .{attribute}), got {type(instance).__name__}")
    model_class, optimum = instance.model_class, int(instance.optimum)
    at_optimum = model_class.fit(jnp.zeros(1, jnp.int64), jnp.array([optimum]))
    distances = np.sum(instance.codewords != instance.codewords[optimum], axis=1)
    other = int(np.flatnonzero(distances == instance.min_distance)[0])
    at_other = model_class.fit(jnp.zeros(1, jnp.int64), jnp.array([other]))
    return float(at_optimum.policy.probs[0, optimum]), float(at_other.policy.probs[0, optimum])
