"""What the oracle answers and what an algorithm returns: the query ledger, sample batches, the Result base.

Sample complexity in the paper (Definition 3.2; Definition D.1 for the adaptive oracle) is m, the number of
(x, y, log π_base(y|x)) answers; evaluations at learner-chosen (x, y) (footnote 7) are counted apart.
``QueryCount`` is that ledger; every algorithm's result subclasses ``Result``, whose ``queries`` is always what
*this run* was charged (the difference of the oracle's ledger before and after the call).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.core.pytree import validated_pytree
from sharpsim.core.validation import is_concrete


class QueryBudgetExceeded(RuntimeError):
    """A learner asked the oracle for more sample-and-evaluate queries than its budget allows."""


def _count(value, name: str):
    """A ledger entry as int64; concrete entries must be non-negative integers."""
    if is_concrete(value):
        array = np.asarray(value)
        if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
            raise TypeError(f"QueryCount.{name} must hold integers, got {array.dtype} value {array.tolist()!r}")
        if np.any(array < 0):
            raise ValueError(f"QueryCount.{name} must be non-negative, got {array.tolist()!r}")
    return jnp.asarray(value, dtype=jnp.int64)


@validated_pytree(("prompts", "samples", "evaluations"))
@dataclass(frozen=True, eq=False)
class QueryCount:
    """How many prompts were drawn, responses sampled (with their log-likelihoods) and (x, y) pairs evaluated.

    Immutable; concrete entries are validated (non-negative integers) and stored as int64. Inside a JAX
    transformation the entries are tracers and are taken as they are.
    """

    prompts: jax.Array
    samples: jax.Array
    evaluations: jax.Array

    def __init__(self, prompts, samples, evaluations):
        object.__setattr__(self, "prompts", _count(prompts, "prompts"))
        object.__setattr__(self, "samples", _count(samples, "samples"))
        object.__setattr__(self, "evaluations", _count(evaluations, "evaluations"))

    @classmethod
    def zero(cls) -> "QueryCount":
        zero = jnp.zeros((), dtype=jnp.int64)
        return cls.tree_unflatten(None, (zero, zero, zero))

    @property
    def total(self) -> jax.Array:
        """Sample-and-evaluate queries of either kind: samples + evaluations."""
        return self.samples + self.evaluations

    def __add__(self, other: "QueryCount") -> "QueryCount":
        return QueryCount.tree_unflatten(None, (self.prompts + other.prompts, self.samples + other.samples,
                                               self.evaluations + other.evaluations))

    def __repr__(self) -> str:
        def show(value):
            return np.asarray(value).tolist() if is_concrete(value) else "traced"

        return (f"QueryCount(prompts={show(self.prompts)}, samples={show(self.samples)}, "
                f"evaluations={show(self.evaluations)})")


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class SampleBatch:
    """Responses drawn from π_base with their log-likelihoods: ``responses`` [..., N] (tokens add a trailing
    H axis for autoregressive policies) and ``log_probs`` [..., N] = log π_base(y|x)."""

    responses: jax.Array
    log_probs: jax.Array


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class StoppedBatch:
    """The adaptive oracle's answer (Definition D.1, ``Oracle.sample_until``): ``responses`` [..., K] (tokens
    add a trailing H axis) and ``log_probs`` [..., K] with entries past each prompt's stop masked (−1, −inf);
    ``num_samples`` [...] = N(x), the samples drawn and charged at each prompt, and ``hit_cap`` [...] (the
    stopping rule had not fired by the cap K)."""

    responses: jax.Array
    log_probs: jax.Array
    num_samples: jax.Array
    hit_cap: jax.Array


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class Result:
    """The common part of every algorithm's result: ``policy`` (what the learner outputs: a fitted policy, or
    None for inference-time best-of-N) and ``queries``, the ``QueryCount`` this run was charged."""

    policy: object
    queries: QueryCount

