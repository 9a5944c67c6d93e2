"""The tabular (per-prompt softmax) class Π_tab = {all policies X → Δ(Y)} and its maximum-likelihood fit.

SFT-Sharpening (Section 2.1, its last step) returns π̂ = argmax_{π∈Π} Σ_i log π(y_i|x_i). For Π_tab the objective
separates over prompts and each row's maximizer is the empirical distribution of that prompt's targets:

    π̂(y|x) = c(x, y) / c(x),   c(x, y) = Σ_i w_i 1{x_i = x, y_i = y},   c(x) = Σ_y c(x, y).

This is the per-prompt softmax class π_θ(y|x) ∝ exp θ_{x,y} closed under limits (zero rows allowed), so a
BoN-law π^BoN_N is always in it: Assumption 4.1 (realizability) holds for every base policy.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.core.pytree import validated_pytree
from sharpsim.core.validation import (
    as_float_array,
    check_allocation,
    check_finite_nonnegative,
    check_positive_int,
    check_rows_on_simplex,
    is_concrete,
)
from sharpsim.core.policy import TabularPolicy


def check_targets(prompts, responses, weights, num_prompts: int, num_responses: int) -> None:
    """Validate concrete training data: equal shapes, integer indices inside [0, X) and [0, Y), weights ≥ 0."""
    if not is_concrete(prompts, responses, weights):
        return
    prompts, responses = np.asarray(prompts), np.asarray(responses)
    for name, array, size in (("prompts", prompts, num_prompts), ("responses", responses, num_responses)):
        if not np.issubdtype(array.dtype, np.integer):
            raise TypeError(f"{name} must be an integer array of indices, got dtype {array.dtype}")
        if array.size and (array.min() < 0 or array.max() >= size):
            bad = int(array[(array < 0) | (array >= size)].ravel()[0])
            raise ValueError(f"{name} must lie in [0, {size}) for this model class, got index {bad}")
    if prompts.shape != responses.shape:
        raise ValueError(
            f"prompts has shape {prompts.shape} but responses has shape {responses.shape}; they must match"
        )
    if weights is not None:
        weights = as_float_array(weights, "weights")
        if weights.shape != prompts.shape:
            raise ValueError(f"weights has shape {weights.shape} but prompts has shape {prompts.shape}; they must match")
        check_finite_nonnegative(weights, "weights")


def target_counts(prompts, responses, weights, num_prompts: int, num_responses: int) -> jax.Array:
    """[X, Y]: c(x, y) = Σ_i w_i 1{x_i = x, y_i = y} (w_i = 1 when ``weights`` is None); jit-safe scatter-add."""
    prompts = jnp.asarray(prompts).reshape(-1)
    responses = jnp.asarray(responses).reshape(-1)
    weights = jnp.ones(prompts.shape, jnp.float64) if weights is None else jnp.asarray(weights, jnp.float64).reshape(-1)
    return jnp.zeros((num_prompts, num_responses), jnp.float64).at[prompts, responses].add(weights)


def check_prompt_probs(prompt_probs, num_prompts: int | None = None) -> jax.Array:
    """μ as a float64 array on the simplex (validated when concrete)."""
    if is_concrete(prompt_probs):
        array = as_float_array(prompt_probs, "prompt_probs")
        if array.ndim != 1 or array.size == 0:
            raise ValueError(f"prompt_probs must be a non-empty 1-d array [X], got shape {array.shape}")
        if num_prompts is not None and array.shape[0] != num_prompts:
            raise ValueError(f"prompt_probs has {array.shape[0]} entries but the class has {num_prompts} prompts")
        check_rows_on_simplex(array, "prompt_probs")
    return jnp.asarray(prompt_probs, jnp.float64)


def _check_count_table(num_prompts: int, num_responses: int) -> None:
    """``fit`` counts the targets in an [X, Y] table: refuse one that would not fit in memory."""
    check_allocation((num_prompts, num_responses),
                     f"TabularClass with num_prompts={num_prompts}, num_responses={num_responses}")


@validated_pytree(("prompt_probs",), ("num_responses",))
@dataclass(frozen=True, eq=False)
class TabularClass:
    """Π_tab over X prompts and Y responses; fitted policies carry the prompt distribution ``prompt_probs``.

    Build it from the base instance with ``TabularClass.like(base)`` so that π̂ carries the base's μ.

    Unseen prompts (c(x) = 0) get the uniform row. The likelihood does not depend on such a row, so every
    row is an MLE there; uniform is (i) the limit of the minimum-norm MLE of the per-prompt softmax (θ_x = 0),
    (ii) independent of the data, and (iii) makes no claim of sharpness: π̂(y*(x)|x) = |y*(x)|/|Y|, so an unseen
    prompt counts as a sharpening error whenever |y*(x)|/|Y| < 1 − δ, as the analysis of Theorem 4.1 assumes (an
    unseen prompt is a prompt the learner knows nothing about). ``exact_sft`` uses the same rule.
    """

    prompt_probs: jax.Array
    num_responses: int

    def __init__(self, num_responses: int, prompt_probs=None, num_prompts: int | None = None):
        num_responses = check_positive_int(num_responses, "num_responses")
        if num_prompts is not None:
            num_prompts = check_positive_int(num_prompts, "num_prompts")
        if prompt_probs is None:
            if num_prompts is None:
                raise ValueError("TabularClass needs prompt_probs (the base's μ) or num_prompts (μ uniform)")
            _check_count_table(num_prompts, num_responses)
            prompt_probs = jnp.full(num_prompts, 1.0 / num_prompts)
        prompt_probs = check_prompt_probs(prompt_probs, num_prompts)
        _check_count_table(prompt_probs.shape[0], num_responses)
        object.__setattr__(self, "prompt_probs", prompt_probs)
        object.__setattr__(self, "num_responses", num_responses)

    @classmethod
    def like(cls, base) -> "TabularClass":
        """The tabular class on the base's spaces, carrying the base's prompt distribution μ."""
        if not (hasattr(base, "num_responses") and hasattr(base, "prompt_probs")):
            raise TypeError(f"base must be a policy with num_responses and prompt_probs (e.g. a TabularPolicy), got "
                            f"{type(base).__name__}")
        return cls(base.num_responses, base.prompt_probs)

    @property
    def num_prompts(self) -> int:
        return self.prompt_probs.shape[0]

    @property
    def log_size(self) -> float:
        """log|Π| is infinite for the tabular class; use ``exact_sft`` or a finite class for Theorem 4.1's log|Π|."""
        return float("inf")

    def fit(self, prompts, responses, weights=None) -> TabularPolicy:
        """MLE over Π_tab: the empirical distribution of the targets per prompt, uniform on unseen prompts."""
        check_targets(prompts, responses, weights, self.num_prompts, self.num_responses)
        counts = target_counts(prompts, responses, weights, self.num_prompts, self.num_responses)
        if weights is None:
            # c(x) by a scatter of ones over the prompts: the same integers as counts.sum(axis=-1) (sums of ones are
            # exact in any order), without a pass over the [X, Y] table, so a consumer that reads a few entries of
            # π̂ (sharpening_error) never touches the rest
            prompts_flat = jnp.asarray(prompts).reshape(-1)
            totals = jnp.zeros(self.num_prompts, jnp.float64).at[prompts_flat].add(1.0)[:, None]
        else:
            totals = counts.sum(axis=-1, keepdims=True)
        seen = totals > 0
        # k / c as one division per response: with a single argmax, exact_sft's k/c < 1 − δ then matches the referee
        # bit for bit (with ties or γ > 0 the referee sums fractions, which can differ in the last bit at k/c = 1 − δ).
        probs = jnp.where(seen, counts / jnp.where(seen, totals, 1.0), 1.0 / self.num_responses)
        return TabularPolicy.tree_unflatten(None, (probs, self.prompt_probs))

    def __repr__(self) -> str:
        return f"TabularClass(num_prompts={self.num_prompts}, num_responses={self.num_responses})"
