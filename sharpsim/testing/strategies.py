"""Hypothesis strategies for random tabular policies, aimed at the cases where a tabular computation goes wrong.

* random shapes (|X| and |Y| from 1 up) or a fixed shape (so a jitted function compiles once per test);
* rows on the simplex built from a small pool of *levels*, so exact ties between responses happen often
  (equal numbers divided by the same row sum stay exactly equal);
* near-ties (a level times 1 + 1e-9 or 1 + 1e-12), tiny masses (1e-12, 1e-15), zero entries, and rows where one
  response holds almost all the mass (1 − O(1e-12));
* random prompt distributions μ, optionally with zero-weight prompts.

Every row sums to 1 up to a few ulp (well inside the 1e-9 tolerance of ``TabularPolicy``). Use them in a test as
``@given(tabular_policies(num_responses=(2, 8)))``.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from sharpsim.core.policy import TabularPolicy

__all__ = ["gammas", "policy_pairs", "prob_rows", "prob_tables", "prompt_distributions", "tabular_policies"]

# Levels a row entry can take before normalization. The mixture of "ordinary", tiny and zero values makes
# exact ties, near-ties, tiny and dominant probabilities all likely in a few hundred examples.
_TINY_LEVELS = (1e-12, 1e-15)
_NEAR_TIE_FACTORS = (1.0 + 1e-9, 1.0 + 1e-12, 1.0 - 1e-12)


@st.composite
def prob_rows(draw, num_responses: int, allow_zero: bool = True, allow_tiny: bool = True) -> np.ndarray:
    """One probability vector of length ``num_responses`` (float64, sums to 1 up to rounding)."""
    ordinary = st.floats(min_value=0.01, max_value=1.0, allow_nan=False, allow_infinity=False)
    # A small pool of levels: entries drawn from it repeat, which produces exact ties.
    pool = draw(st.lists(ordinary, min_size=1, max_size=max(1, num_responses)))
    choices = [st.sampled_from(pool)]
    if allow_tiny:
        choices.append(st.sampled_from(_TINY_LEVELS))
    if allow_zero:
        choices.append(st.just(0.0))
    entry = st.one_of(*choices)
    values = np.array(draw(st.lists(entry, min_size=num_responses, max_size=num_responses)), dtype=np.float64)
    if num_responses >= 2 and draw(st.booleans()):
        # A near-tie: one entry becomes a copy of another, nudged by a relative 1e-9 or 1e-12.
        i, j = draw(st.tuples(st.integers(0, num_responses - 1), st.integers(0, num_responses - 1)))
        values[j] = values[i] * draw(st.sampled_from(_NEAR_TIE_FACTORS))
    if draw(st.integers(0, 7)) == 0:
        # A dominant response: everything else becomes tiny or zero, so the top mass is 1 − O(1e-12).
        top = draw(st.integers(0, num_responses - 1))
        values = np.where(values > 0, 1e-12, 0.0) if allow_tiny else np.zeros_like(values)
        values[top] = 1.0
    if not np.any(values > 0):
        values[draw(st.integers(0, num_responses - 1))] = 1.0
    return values / values.sum()


@st.composite
def prompt_distributions(draw, num_prompts: int, allow_zero: bool = True) -> np.ndarray:
    """A distribution μ over ``num_prompts`` prompts; with ``allow_zero`` some prompts may get weight 0."""
    if draw(st.booleans()):
        return np.full(num_prompts, 1.0 / num_prompts)
    weight = st.floats(min_value=0.05, max_value=1.0)
    if allow_zero:
        weight = st.one_of(weight, st.just(0.0))
    values = np.array(draw(st.lists(weight, min_size=num_prompts, max_size=num_prompts)), dtype=np.float64)
    if not np.any(values > 0):
        values[draw(st.integers(0, num_prompts - 1))] = 1.0
    return values / values.sum()


@st.composite
def prob_tables(
    draw,
    num_prompts: int | tuple[int, int] = (1, 4),
    num_responses: int | tuple[int, int] = (1, 6),
    allow_zero: bool = True,
    allow_tiny: bool = True,
    zero_weight_prompts: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """``(probs [X, Y], prompt_probs [X])`` as numpy float64. A size given as an int is fixed; a pair is a range."""
    x = num_prompts if isinstance(num_prompts, int) else draw(st.integers(*num_prompts))
    y = num_responses if isinstance(num_responses, int) else draw(st.integers(*num_responses))
    rows = [draw(prob_rows(y, allow_zero=allow_zero, allow_tiny=allow_tiny)) for _ in range(x)]
    mu = draw(prompt_distributions(x, allow_zero=zero_weight_prompts))
    return np.stack(rows), mu


def tabular_policies(**kwargs) -> st.SearchStrategy[TabularPolicy]:
    """Random ``TabularPolicy`` instances; keyword arguments as in ``prob_tables``."""
    return prob_tables(**kwargs).map(lambda table: TabularPolicy(*table))


@st.composite
def policy_pairs(draw, **kwargs) -> tuple[TabularPolicy, TabularPolicy]:
    """``(learned, base)``: two policies on the same X × Y; the learned one uses the base's μ shape."""
    probs, mu = draw(prob_tables(**kwargs))
    x, y = probs.shape
    fixed = dict(kwargs, num_prompts=x, num_responses=y)
    other, _ = draw(prob_tables(**fixed))
    return TabularPolicy(other, mu), TabularPolicy(probs, mu)


gammas = st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=0.99), st.sampled_from([1e-12, 0.5]))
