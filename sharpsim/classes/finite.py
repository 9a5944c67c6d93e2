"""Finite model classes with exact maximum likelihood by scoring every member (the model class Π of
Section 4, finite as the theorems assume).

Theorems 4.1 and D.1 are stated for finite Π and pay log|Π| (Lemma F.1: E_x[D_H²(π̂, π^BoN_N)] ≤ 2 log(|Π|/ρ)/n).

* ``FiniteClass(policies)``: an explicit list Π = {π_1, …, π_K} stacked as [K, X, Y]; log|Π| = log K.
* ``ProductClass(rows)``: Π = ∏_x {rows[x, 0], …, rows[x, K−1]}, a per-prompt choice among K candidate rows,
  never materialized (|Π| = K^X, log|Π| = X log K). The log-likelihood is a sum over prompts, so the MLE picks
  each prompt's best row independently. Appendix H's hard class (Theorem 3.1; ``classes/hard.py``) is of this form.

The log-likelihood of a member is L(π) = Σ_{x,y} c(x, y) log π(y|x), with c the (weighted) target counts and
0·log 0 = 0, so a member that puts zero mass on an observed target scores −∞ and a member is never penalized for
rows it is not asked about. Ties are broken towards the lowest index (``jnp.argmax`` takes the first maximum);
every member is scored by the same reduction in the same order, so exactly equal members tie exactly. For
``ProductClass`` an unseen prompt ties all candidates at 0 and therefore gets candidate 0: put the row you
want for unseen prompts first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.core.pytree import validated_pytree
from sharpsim.core.validation import (
    as_float_array,
    check_allocation,
    check_positive_int,
    check_rows_on_simplex,
    is_concrete,
)
from sharpsim.classes.tabular import check_prompt_probs, check_targets, target_counts
from sharpsim.core.policy import TabularPolicy


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class FiniteFit:
    """The MLE of a finite class: ``policy`` (TabularPolicy), ``index`` (the member; [X] for a product class),
    ``log_likelihood`` Σ_i w_i log π̂(y_i|x_i) (−∞ when no member explains the data, reported, never hidden)."""

    policy: TabularPolicy
    index: jax.Array
    log_likelihood: jax.Array

    def to_tabular(self) -> TabularPolicy:
        return self.policy


def _member_log_likelihood(counts: jax.Array, log_probs: jax.Array, axis) -> jax.Array:
    """Σ c·log π over ``axis`` with 0·log 0 = 0 (a zero count never meets a −∞)."""
    return jnp.sum(jnp.where(counts > 0, counts * log_probs, 0.0), axis=axis)


def _validated_stack(array, name: str, ndim: int) -> np.ndarray:
    array = as_float_array(array, name)
    if array.ndim != ndim or 0 in array.shape:
        raise ValueError(f"{name} must be a non-empty {ndim}-d array, got shape {array.shape}")
    check_rows_on_simplex(array, name)
    return array


@validated_pytree(("policies", "prompt_probs"), ())
@dataclass(frozen=True, eq=False)
class FiniteClass:
    """Π = {π_1, …, π_K}: ``policies`` [K, X, Y] (rows on the simplex); fitted policies carry ``prompt_probs``."""

    policies: jax.Array
    prompt_probs: jax.Array

    def __init__(self, policies, prompt_probs=None):
        if is_concrete(policies):
            policies = _validated_stack(policies, "policies", 3)
        policies = jnp.asarray(policies, jnp.float64)
        if prompt_probs is None:
            prompt_probs = jnp.full(policies.shape[1], 1.0 / policies.shape[1])
        object.__setattr__(self, "policies", policies)
        object.__setattr__(self, "prompt_probs", check_prompt_probs(prompt_probs, policies.shape[1]))

    @classmethod
    def from_policies(cls, policies, prompt_probs=None) -> "FiniteClass":
        """From a list of ``TabularPolicy`` (or anything with ``.to_tabular()``) on the same spaces."""
        from sharpsim.core.policy import as_tabular

        if isinstance(policies, (str, bytes)) or not hasattr(policies, "__iter__"):
            raise TypeError(f"policies must be a list of policies, got {type(policies).__name__}")
        tables = []
        for i, policy in enumerate(policies):
            try:
                tables.append(as_tabular(policy).probs)
            except TypeError as error:
                raise TypeError(f"policies[{i}]: {error}") from None
        if not tables:
            raise ValueError("policies is empty: FiniteClass.from_policies needs at least one policy")
        shapes = {t.shape for t in tables}
        if len(shapes) != 1:
            raise ValueError(f"all policies must share one shape [X, Y]; got shapes {sorted(shapes)}")
        return cls(jnp.stack(tables), prompt_probs)

    @property
    def size(self) -> int:
        return self.policies.shape[0]

    @property
    def log_size(self) -> float:
        """log|Π| = log K."""
        return math.log(self.size)

    @property
    def num_prompts(self) -> int:
        return self.policies.shape[1]

    @property
    def num_responses(self) -> int:
        return self.policies.shape[2]

    def log_likelihoods(self, prompts, responses, weights=None) -> jax.Array:
        """[K]: L(π_k) = Σ_i w_i log π_k(y_i|x_i) for every member."""
        check_targets(prompts, responses, weights, self.num_prompts, self.num_responses)
        counts = target_counts(prompts, responses, weights, self.num_prompts, self.num_responses)
        return _member_log_likelihood(counts[None], jnp.log(self.policies), axis=(1, 2))

    def fit(self, prompts, responses, weights=None) -> FiniteFit:
        """argmax_k L(π_k), lowest index among ties."""
        scores = self.log_likelihoods(prompts, responses, weights)
        best = jnp.argmax(scores)
        policy = TabularPolicy.tree_unflatten(None, (self.policies[best], self.prompt_probs))
        return FiniteFit(policy, best, scores[best])

    def __repr__(self) -> str:
        return f"FiniteClass(size={self.size}, num_prompts={self.num_prompts}, num_responses={self.num_responses})"


@validated_pytree(("rows", "prompt_probs"), ())
@dataclass(frozen=True, eq=False)
class ProductClass:
    """Π = ∏_x {rows[x, k] : k < K}: ``rows`` [X, K, Y]; |Π| = K^X is never materialized."""

    rows: jax.Array
    prompt_probs: jax.Array

    def __init__(self, rows, prompt_probs=None):
        if is_concrete(rows):
            rows = _validated_stack(rows, "rows", 3)
        rows = jnp.asarray(rows, jnp.float64)
        if prompt_probs is None:
            prompt_probs = jnp.full(rows.shape[0], 1.0 / rows.shape[0])
        object.__setattr__(self, "rows", rows)
        object.__setattr__(self, "prompt_probs", check_prompt_probs(prompt_probs, rows.shape[0]))

    @classmethod
    def shared(cls, candidates, prompt_probs=None, num_prompts: int | None = None) -> "ProductClass":
        """Every prompt chooses among the same candidate rows ``candidates`` [K, Y]."""
        if is_concrete(candidates):
            candidates = _validated_stack(candidates, "candidates", 2)
        candidates = jnp.asarray(candidates, jnp.float64)
        if num_prompts is None:
            if prompt_probs is None:
                raise ValueError("ProductClass.shared needs prompt_probs (the base's μ) or num_prompts")
            if np.ndim(prompt_probs) != 1:
                raise ValueError(f"prompt_probs must be a 1-d array [X], got shape {np.shape(prompt_probs)}")
            num_prompts = np.shape(prompt_probs)[0]
        num_prompts = check_positive_int(num_prompts, "num_prompts")
        # the class stores the rows [X, K, Y] (a broadcast made contiguous)
        check_allocation((num_prompts, *candidates.shape),
                         f"ProductClass.shared with num_prompts={num_prompts} and candidates of shape "
                         f"{tuple(candidates.shape)}")
        return cls(jnp.broadcast_to(candidates, (num_prompts, *candidates.shape)), prompt_probs)

    @property
    def candidates_per_prompt(self) -> int:
        return self.rows.shape[1]

    @property
    def log_size(self) -> float:
        """log|Π| = X · log K."""
        return self.num_prompts * math.log(self.candidates_per_prompt)

    @property
    def num_prompts(self) -> int:
        return self.rows.shape[0]

    @property
    def num_responses(self) -> int:
        return self.rows.shape[2]

    def fit(self, prompts, responses, weights=None) -> FiniteFit:
        """Per prompt, argmax_k Σ_y c(x, y) log rows[x, k, y] (lowest k among ties); ``index`` is [X]."""
        check_targets(prompts, responses, weights, self.num_prompts, self.num_responses)
        counts = target_counts(prompts, responses, weights, self.num_prompts, self.num_responses)
        scores = _member_log_likelihood(counts[:, None, :], jnp.log(self.rows), axis=-1)  # [X, K]
        best = jnp.argmax(scores, axis=-1)
        probs = jnp.take_along_axis(self.rows, best[:, None, None], axis=1)[:, 0]
        log_likelihood = jnp.sum(jnp.take_along_axis(scores, best[:, None], axis=1))
        return FiniteFit(TabularPolicy.tree_unflatten(None, (probs, self.prompt_probs)), best, log_likelihood)

    def __repr__(self) -> str:
        return (
            f"ProductClass(num_prompts={self.num_prompts}, candidates_per_prompt={self.candidates_per_prompt}, "
            f"num_responses={self.num_responses})"
        )
