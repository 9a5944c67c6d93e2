"""The sample-and-evaluate oracle (Def. 3.2, Def. D.1 and footnote 7), the learner's only door to π_base.

The oracle is a pure, functional object: every query returns its answer *and a new oracle* whose query
ledger has been charged, so it works unchanged under ``jit``, ``vmap`` and ``lax.scan``::

    prompts, oracle = oracle.draw_prompts(key_x, n)
    batch, oracle = oracle.sample(key_y, prompts, N)        # N responses per prompt with log π_base(y|x)
    log_probs, oracle = oracle.evaluate(prompts, responses) # the generalised query of footnote 7 (XPO)
    oracle.queries                                           # QueryCount(prompts=n, samples=n·N, evaluations=…)

Sample complexity in the paper is m = n·N, the number of (x, y, log π_base(y|x)) answers; here that is
``queries.samples``; evaluations at learner-chosen (x, y) are counted apart, and ``queries.total`` adds them.

A budget, when set, caps ``queries.total``. With concrete counts (eager use) a query that would exceed
it raises ``QueryBudgetExceeded`` *before* anything is drawn. Inside ``jit``/``vmap`` the counts are
traced, so algorithms call ``check_budget`` on the oracle they return, outside the transformation.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.core.pytree import validated_pytree
from sharpsim.core.validation import check_positive_int, is_concrete


class QueryBudgetExceeded(RuntimeError):
    """A learner asked the oracle for more sample-and-evaluate queries than its budget allows."""


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class QueryCount:
    """How many prompts were drawn, responses sampled (with their log-likelihoods) and (x, y) pairs evaluated."""

    prompts: jax.Array
    samples: jax.Array
    evaluations: jax.Array

    @classmethod
    def zero(cls) -> "QueryCount":
        zero = jnp.zeros((), dtype=jnp.int64)
        return cls(zero, zero, zero)

    @property
    def total(self) -> jax.Array:
        """Sample-and-evaluate queries of either kind: samples + evaluations."""
        return self.samples + self.evaluations

    def __add__(self, other: "QueryCount") -> "QueryCount":
        return QueryCount(
            self.prompts + other.prompts, self.samples + other.samples, self.evaluations + other.evaluations
        )


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class SampleBatch:
    """Responses drawn from π_base with their log-likelihoods: ``responses`` [..., N] (tokens add a trailing
    H axis for autoregressive policies) and ``log_probs`` [..., N] = log π_base(y|x)."""

    responses: jax.Array
    log_probs: jax.Array


@validated_pytree(("base", "queries"), ("budget",))
class Oracle:
    """Sample-and-evaluate access to ``base`` (any policy with ``sample_prompts``, ``sample_responses`` and
    ``log_prob``), with a ledger of the queries made so far and an optional budget on their total."""

    def __init__(self, base, budget: int | None = None, queries: QueryCount | None = None):
        for method in ("sample_prompts", "sample_responses", "log_prob"):
            if not callable(getattr(base, method, None)):
                raise TypeError(f"Oracle base must offer .{method}(...); got {type(base).__name__}")
        if budget is not None:
            budget = check_positive_int(budget, "budget", minimum=0)
        self.base = base
        self.budget = budget
        self.queries = QueryCount.zero() if queries is None else queries

    # --- queries -----------------------------------------------------------------------------------
    def draw_prompts(self, key: jax.Array, num_prompts: int) -> tuple[jax.Array, "Oracle"]:
        """x_1, …, x_n ∼ μ i.i.d. Drawing prompts is free in the paper's accounting but is recorded."""
        num_prompts = check_positive_int(num_prompts, "num_prompts")
        prompts = self.base.sample_prompts(key, num_prompts)
        return prompts, self._charged(prompts=num_prompts)

    def sample(self, key: jax.Array, prompts: jax.Array, num_samples: int) -> tuple[SampleBatch, "Oracle"]:
        """For every prompt, N responses y ∼ π_base(·|x) with log π_base(y|x); charges prompts.size·N samples."""
        num_samples = check_positive_int(num_samples, "num_samples")
        prompts = jnp.asarray(prompts)
        oracle = self._charged(samples=int(np.prod(prompts.shape, dtype=np.int64)) * num_samples)
        responses = self.base.sample_responses(key, prompts, num_samples)
        log_probs = self.base.log_prob(prompts[..., None], responses)
        return SampleBatch(responses, log_probs), oracle

    def evaluate(self, prompts: jax.Array, responses: jax.Array) -> tuple[jax.Array, "Oracle"]:
        """log π_base(y|x) at learner-chosen pairs (footnote 7); charges one evaluation per pair."""
        prompts = jnp.asarray(prompts)
        log_probs = self.base.log_prob(prompts, responses)
        return log_probs, self._charged(evaluations=int(np.prod(log_probs.shape, dtype=np.int64)))

    def charge(self, samples=0, evaluations=0) -> "Oracle":
        """Charge queries whose number is data-dependent (adaptive algorithms that draw a capped batch
        and use a random prefix of it); the amounts may be traced arrays. Concrete negative amounts (which
        would un-charge the ledger) raise ``ValueError``."""
        for name, amount in (("samples", samples), ("evaluations", evaluations)):
            if is_concrete(amount) and np.any(np.asarray(amount) < 0):
                raise ValueError(f"charge({name}=...) must be non-negative, got {np.asarray(amount).tolist()}")
        return self._charged(samples=samples, evaluations=evaluations)

    # --- budget ------------------------------------------------------------------------------------
    def check_budget(self) -> "Oracle":
        """Raise ``QueryBudgetExceeded`` if the (concrete) ledger exceeds the budget; returns self."""
        if self.budget is not None and is_concrete(self.queries):
            over = np.asarray(self.queries.total) > self.budget
            if np.any(over):
                worst = int(np.max(np.asarray(self.queries.total)))
                raise QueryBudgetExceeded(
                    f"the learner used {worst} sample-and-evaluate queries but the oracle's budget is {self.budget}"
                )
        return self

    def _charged(self, prompts=0, samples=0, evaluations=0) -> "Oracle":
        added = QueryCount(
            jnp.asarray(prompts, dtype=jnp.int64),
            jnp.asarray(samples, dtype=jnp.int64),
            jnp.asarray(evaluations, dtype=jnp.int64),
        )
        charged = Oracle.__new__(Oracle)
        charged.base, charged.budget, charged.queries = self.base, self.budget, self.queries + added
        if self.budget is not None and is_concrete(charged.queries):
            total = np.asarray(charged.queries.total)
            if np.any(total > self.budget):
                raise QueryBudgetExceeded(
                    f"this query needs {int(np.max(total))} sample-and-evaluate queries in total "
                    f"(samples {int(np.max(np.asarray(charged.queries.samples)))}, evaluations "
                    f"{int(np.max(np.asarray(charged.queries.evaluations)))}) but the oracle's budget is {self.budget}; "
                    "raise Oracle(base, budget=...) or ask for fewer samples"
                )
        return charged

    def __repr__(self) -> str:
        return f"Oracle(base={self.base!r}, budget={self.budget}, queries={self.queries})"
