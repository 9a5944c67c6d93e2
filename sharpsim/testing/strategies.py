"""Hypothesis strategies for random tabular policies, aimed at the cases where a tabular computation goes wrong.

* random shapes (|X| and |Y| from 1 up) or a fixed shape (so a jitted function compiles once per test);
* rows on the simplex built from a small pool of *levels*, so exact ties between responses happen often
  (equal numbers divided by the same row sum stay exactly equal);
* near-ties (a level times 1 + 1e-9 or 1 + 1e-12), tiny masses (1e-12, 1e-15), zero entries, and rows where one
  response holds almost all the mass (1 − O(1e-12));
* random prompt distributions μ, optionally with zero-weight prompts;
* with ``extreme=True`` also masses down to 1e-300 (still normal float64 numbers after normalization) and
  near-ties at relative 1e-15 (a few ulp: they stay strict inequalities through normalization);
* autoregressive policies over V^H: ``tree_policies`` (a conditional per prefix, Appendix E) and ``markov_policies``,
  their conditionals drawn like the rows above;
* ``instances``: tabular π_base with a *target* coverage C_cov (Eq. 6), margin γ_margin (Assumption 4.2), |Y| and
  number of tied argmax responses, exact up to rounding (``sharpsim.testing.instances``); ``oracles`` over them.

Every row sums to 1 up to a few ulp (well inside the 1e-9 tolerance of ``TabularPolicy``). Use them in a test as
``@given(tabular_policies(num_responses=(2, 8)))``.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from sharpsim.core.oracle import Oracle
from sharpsim.core.policy import TabularPolicy
from sharpsim.testing.instances import argmax_mass_range, coverage_masses, targeted_policy

__all__ = ["gammas", "instances", "markov_policies", "oracles", "policy_pairs", "prob_rows", "prob_tables",
           "prompt_distributions", "tabular_policies", "tree_policies"]

# Levels a row entry can take before normalization. The mixture of "ordinary", tiny and zero values makes
# exact ties, near-ties, tiny and dominant probabilities all likely in a few hundred examples.
_TINY_LEVELS = (1e-12, 1e-15)
_NEAR_TIE_FACTORS = (1.0 + 1e-9, 1.0 + 1e-12, 1.0 - 1e-12)
_EXTREME_LEVELS = (1e-100, 1e-200, 1e-300)
_EXTREME_NEAR_TIE_FACTORS = (1.0 + 1e-15, 1.0 - 1e-15)


@st.composite
def prob_rows(draw, num_responses: int, allow_zero: bool = True, allow_tiny: bool = True,
              extreme: bool = False) -> np.ndarray:
    """One probability vector of length ``num_responses`` (float64, sums to 1 up to rounding); ``extreme`` adds
    masses 1e-100 … 1e-300 and near-ties at relative 1e-15."""
    ordinary = st.floats(min_value=0.01, max_value=1.0, allow_nan=False, allow_infinity=False)
    # A small pool of levels: entries drawn from it repeat, which produces exact ties.
    pool = draw(st.lists(ordinary, min_size=1, max_size=max(1, num_responses)))
    choices = [st.sampled_from(pool)]
    if allow_tiny:
        choices.append(st.sampled_from(_TINY_LEVELS + (_EXTREME_LEVELS if extreme else ())))
    if allow_zero:
        choices.append(st.just(0.0))
    entry = st.one_of(*choices)
    values = np.array(draw(st.lists(entry, min_size=num_responses, max_size=num_responses)), dtype=np.float64)
    if num_responses >= 2 and draw(st.booleans()):
        # A near-tie: one entry becomes a copy of another, nudged by a relative 1e-9 or 1e-12.
        i, j = draw(st.tuples(st.integers(0, num_responses - 1), st.integers(0, num_responses - 1)))
        factors = _NEAR_TIE_FACTORS + (_EXTREME_NEAR_TIE_FACTORS if extreme else ())
        values[j] = values[i] * draw(st.sampled_from(factors))
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
    extreme: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """``(probs [X, Y], prompt_probs [X])`` as numpy float64. A size given as an int is fixed; a pair is a range."""
    x = _size(draw, num_prompts)
    y = _size(draw, num_responses)
    rows = [draw(prob_rows(y, allow_zero=allow_zero, allow_tiny=allow_tiny, extreme=extreme)) for _ in range(x)]
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


def _size(draw, size) -> int:
    """A size given as an int is fixed; a pair (low, high) is drawn from."""
    return size if isinstance(size, int) else draw(st.integers(*size))


def _row_options(kwargs: dict) -> dict:
    allowed = {"allow_zero", "allow_tiny", "extreme"}
    unknown = set(kwargs) - allowed
    if unknown:
        raise TypeError(f"unexpected row options {sorted(unknown)}; allowed: {sorted(allowed)}")
    return kwargs


@st.composite
def tree_policies(draw, num_prompts=(1, 3), vocab_size=(2, 3), horizon=(1, 3), zero_weight_prompts: bool = True,
                  **row_options):
    """Random ``TreePolicy`` over V^H (a conditional per prefix, Appendix E); every conditional row is drawn like
    ``prob_rows`` (``allow_zero``, ``allow_tiny``, ``extreme``)."""
    from sharpsim.policies.tree import TreePolicy

    options = _row_options(row_options)
    x, v, h = _size(draw, num_prompts), _size(draw, vocab_size), _size(draw, horizon)
    levels = [np.array([[draw(prob_rows(v, **options)) for _ in range(v**depth)] for _ in range(x)])
              for depth in range(h)]
    return TreePolicy(levels, draw(prompt_distributions(x, allow_zero=zero_weight_prompts)))


@st.composite
def markov_policies(draw, num_prompts=(1, 3), vocab_size=(2, 4), horizon=(1, 4), zero_weight_prompts: bool = True,
                    **row_options):
    """Random first-order ``MarkovPolicy`` over V^H, conditionals drawn like ``prob_rows``."""
    from sharpsim.policies.markov import MarkovPolicy

    options = _row_options(row_options)
    x, v, h = _size(draw, num_prompts), _size(draw, vocab_size), _size(draw, horizon)
    initial = np.array([draw(prob_rows(v, **options)) for _ in range(x)])
    transitions = np.array([[[draw(prob_rows(v, **options)) for _ in range(v)] for _ in range(h - 1)]
                            for _ in range(x)]).reshape(x, h - 1, v, v)
    return MarkovPolicy(initial, transitions, draw(prompt_distributions(x, allow_zero=zero_weight_prompts)))


_MARGIN_LIMITS = (1e-12, 1e3)


def _margins(low: float, high: float) -> st.SearchStrategy[float]:
    """Margins in [low, high] ⊂ (0, ∞), log-uniform so that near-ties (1e-12) and wide gaps are both common."""
    high = min(high, max(_MARGIN_LIMITS[1], low))
    low = min(max(low, _MARGIN_LIMITS[0]), high)
    exponents = st.floats(math.log10(low), math.log10(high))
    return st.one_of(st.sampled_from(sorted({low, high})), exponents.map(lambda e: min(max(10.0**e, low), high)))


def _check_target(value, name: str, low: float):
    if value is None:
        return None
    value = float(value)
    if not value >= low:  # also refuses NaN
        raise ValueError(f"{name} must be >= {low} (or None to draw it), got {value}")
    return value


@st.composite
def instances(draw, num_prompts=(1, 4), num_responses=(2, 8), coverage=None, margin=None, argmax_ties=None,
              zero_weight_prompts: bool = True) -> TabularPolicy:
    """Tabular π_base with C_cov = ``coverage`` (Eq. 6), γ_margin = ``margin`` (Assumption 4.2; ∞: no mass
    outside the argmax set) and exactly ``argmax_ties`` tied argmax responses at every prompt; ``None`` draws the
    target, a size may be an int or a (low, high) range. Targets are met up to rounding (check them with
    ``sharpsim.coverage_coefficient`` / ``sharpsim.margin`` / ``sharpsim.argmax_mask``). The construction is
    ``sharpsim.testing.targeted_policy``: C_cov ≤ |Y|/k for k ties, and a target out of reach of the sizes
    raises ``ValueError`` saying what is reachable."""
    coverage = _check_target(coverage, "coverage", 1.0)
    margin = _check_target(margin, "margin", 0.0)
    if margin == 0.0:
        raise ValueError("margin must be > 0 (0 would merge the runner-up into the argmax set)")
    x = _size(draw, num_prompts)
    y_low, y_high = (num_responses, num_responses) if isinstance(num_responses, int) else num_responses
    if coverage == 1.0 or margin == math.inf:
        if coverage not in (None, 1.0) or margin not in (None, math.inf):
            raise ValueError(f"coverage 1 means no mass outside the argmax sets, i.e. margin inf; got coverage "
                             f"{coverage} with margin {margin}")
        coverage, margin = 1.0, math.inf
    ties_low, ties_high = (1, min(3, y_high)) if argmax_ties is None else (argmax_ties, argmax_ties)
    if coverage is None or coverage == 1.0:
        # any sizes work; a finite margin needs a response outside the argmax set
        need = 1 if margin is not None and margin < math.inf else 0
        ties = draw(st.integers(ties_low, max(ties_low, min(ties_high, y_high - need))))
        y = draw(st.integers(max(y_low, ties + need), max(y_low, ties + need, y_high)))
        if y > y_high:
            raise ValueError(f"argmax_ties={ties} with margin {margin} needs num_responses >= {ties + need}, "
                             f"got at most {y_high}")
        if margin is None:
            margin = draw(st.one_of(_margins(*_MARGIN_LIMITS), st.just(math.inf))) if y > ties else math.inf
        low, high = argmax_mass_range(y, ties, margin)
        masses = np.array([draw(st.floats(low, high)) for _ in range(x)]) if high > low else np.full(x, low)
        mu = draw(prompt_distributions(x, allow_zero=zero_weight_prompts))
    else:
        # with c = k(1 + γ): C_cov is reachable iff 1/(C − 1) <= c <= (Y − k)/(C − 1) (argmax_mass_range)
        excess = coverage - 1.0
        if margin is not None:
            per_tie = 1.0 + (1.0 + margin) * excess  # Y >= k·per_tie
            ties_low = max(ties_low, math.ceil(1.0 / ((1.0 + margin) * excess) * (1 - 1e-12)))
            ties_high = min(ties_high, math.floor(y_high / per_tie * (1 + 1e-12)))
        else:
            ties_high = min(ties_high, math.ceil(y_high / coverage) - 1)  # some γ > 0 works iff Y > k·C
        if ties_low > ties_high:
            raise ValueError(f"no instance has C_cov={coverage} with margin={margin}, argmax_ties={argmax_ties} and "
                             f"num_responses <= {y_high}: C_cov <= Y/k, and k(1 + margin) must lie in "
                             "[1/(C_cov − 1), (Y − k)/(C_cov − 1)]")
        ties = draw(st.integers(ties_low, ties_high))
        least = (math.ceil(ties * per_tie * (1 - 1e-12)) if margin is not None
                 else math.floor(ties * coverage) + 1)
        y = draw(st.integers(max(y_low, least), y_high))
        if margin is None:
            margin = draw(_margins(1.0 / (ties * excess) - 1.0, (y - ties) / (ties * excess) - 1.0))
        low, high = argmax_mass_range(y, ties, margin)
        mu = draw(prompt_distributions(x, allow_zero=zero_weight_prompts))
        spread_weights = draw(st.lists(st.floats(-1.0, 1.0), min_size=x, max_size=x))
        masses = coverage_masses(coverage, mu, low, high, spread_weights, draw(st.floats(0.0, 1.0)))
    others = max(y - ties - 1, 0)
    fill = np.array([draw(st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0]) | st.floats(0.0, 1.0),
                                   min_size=others, max_size=others)) for _ in range(x)]).reshape(x, others)
    order = [draw(st.permutations(range(y))) for _ in range(x)]
    return targeted_policy(y, masses, ties, margin, mu, fill, order)


def oracles(policies=None, budget=None) -> st.SearchStrategy[Oracle]:
    """``Oracle``s (Definition 3.2) over ``policies`` (a strategy; default ``instances()``) with ``budget`` (None,
    an int, or a strategy of ints)."""
    policies = instances() if policies is None else policies
    budgets = budget if isinstance(budget, st.SearchStrategy) else st.just(budget)
    return st.builds(Oracle, policies, budgets)
