"""Building blocks of the fuzz catalog: small valid objects (built lazily, once) and kinds of invalid values.

A ``Lazy`` value is built on first use: the fixtures need JAX, and a catalog that is only listed (the coverage
test, the case ids of the guarded subprocess) should not build them. A ``Kind`` is a list of explicit invalid
values for one sort of argument plus a hypothesis strategy that draws more of them; kinds add to lists
(``POS_INT + [2**70]``) so an entry can extend a kind with its own values.

Huge sizes (``HUGE_SIZES``) are never called in the test process: ``harness.is_guarded`` sends every case with
a number of magnitude ≥ 1e5 to a child process with a capped data segment (see ``harness``).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import strategies as st

import sharpsim as ss

NAN, INF = math.nan, math.inf


class Lazy:
    """A value built by ``build()`` on first use; ``label`` is how reports show it. ``huge`` marks a value that
    asks for a huge computation (it runs only in the guarded child process)."""

    def __init__(self, label: str, build, huge: bool = False):
        self.label, self._build, self.huge = label, build, huge

    @functools.cached_property
    def value(self):
        return self._build()

    def __repr__(self) -> str:
        return self.label


def resolve(value):
    """The concrete value behind a catalog value (``Lazy`` values are built; containers are resolved inside)."""
    if isinstance(value, Lazy):
        return value.value
    return value


def label(value) -> str:
    """A short, stable description of a value for case ids and reports."""
    if isinstance(value, Lazy):
        return value.label
    if isinstance(value, (list, tuple)) and any(isinstance(v, (np.ndarray, list, tuple, Lazy)) for v in value):
        return "[" + ", ".join(label(v) for v in value) + "]"
    if isinstance(value, np.ndarray):
        body = np.array2string(value, threshold=8, separator=",").replace("\n", "")
        return f"array{value.shape}{body}"[:70]
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1e5:
        return f"{value:.0e}"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**5:
        exponent = int(math.log10(abs(value)))
        return f"10**{exponent}" if abs(value) == 10**exponent else repr(value)
    if callable(value):
        return f"<{type(value).__name__} {getattr(value, '__qualname__', '?')}>"
    text = repr(value)
    return text if len(text) <= 70 else text[:67] + "..."


class Kind(list):
    """Explicit invalid values for one sort of argument, with a ``strategy`` drawing further ones."""

    def __init__(self, values, strategy=None):
        super().__init__(values)
        self.strategy = strategy

    def __add__(self, other):
        return Kind(list(self) + list(other), self.strategy)


# --- small valid objects (module-level functions: pytrees need hashable static parts) -------------------
def bigram_features(prompt, tokens, position):
    """φ_h(x, y_{1:h}) ∈ R²: a feature map for a 2-token, 2-position linear softmax policy."""
    previous = jnp.where(position > 0, tokens[jnp.maximum(position - 1, 0)], 0)
    token = tokens[position]
    return jnp.stack([(token == prompt % 2).astype(jnp.float64), (token == previous).astype(jnp.float64)])


class F:
    """The fixtures: each attribute access builds (once) a small valid object."""

    @functools.cached_property
    def key(self):
        return jax.random.PRNGKey(0)

    @functools.cached_property
    def keys(self):
        return jax.random.split(jax.random.PRNGKey(1), 4)

    @functools.cached_property
    def probs(self):
        return np.array([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]])

    @functools.cached_property
    def tab(self):
        return ss.TabularPolicy(self.probs)

    @functools.cached_property
    def tab_learned(self):
        return ss.TabularPolicy([[0.6, 0.2, 0.2], [0.2, 0.5, 0.3]])

    @functools.cached_property
    def tab_3x3(self):
        return ss.TabularPolicy(np.full((3, 3), 1.0 / 3.0))

    @functools.cached_property
    def tab_ties(self):
        return ss.TabularPolicy([[0.4, 0.4, 0.2], [0.5, 0.5 - 1e-12, 1e-12]])

    @functools.cached_property
    def tab_tiny(self):
        # tiny argmax masses: coverage ≈ 1e12 and a runner-up at 1 − 1e-300 relative
        return ss.TabularPolicy([[1e-12, 1e-12 * (1 - 1e-15), 1 - 2e-12 + 1e-27], [1e-300, 1e-300, 1.0 - 2e-300]])

    @functools.cached_property
    def oracle(self):
        return ss.Oracle(self.tab)

    @functools.cached_property
    def oracle_tree(self):
        return ss.Oracle(self.tree)

    @functools.cached_property
    def tree(self):
        return ss.TreePolicy.from_joint([[0.4, 0.3, 0.2, 0.1], [0.1, 0.2, 0.3, 0.4]], 2)

    @functools.cached_property
    def markov(self):
        initial = np.array([[0.7, 0.3], [0.4, 0.6]])
        transitions = np.array([[[[0.6, 0.4], [0.3, 0.7]]], [[[0.5, 0.5], [0.8, 0.2]]]])
        return ss.MarkovPolicy(initial, transitions)

    @functools.cached_property
    def lsar(self):
        return ss.LinearSoftmaxARPolicy(np.array([[1.0, -0.5], [0.3, 0.8]]), bigram_features, 2, num_prompts=2)

    @functools.cached_property
    def targets(self):
        return np.array([[0, 0], [1, 1]])

    @functools.cached_property
    def tab_class(self):
        return ss.TabularClass.like(self.tab)

    @functools.cached_property
    def finite_class(self):
        return ss.FiniteClass.from_policies([self.tab, self.tab_learned])

    @functools.cached_property
    def product_class(self):
        return ss.ProductClass(np.stack([self.probs, self.tab_learned.probs], axis=1))

    @functools.cached_property
    def features(self):
        return np.random.default_rng(0).normal(size=(2, 3, 2))

    @functools.cached_property
    def ls_class(self):
        return ss.LinearSoftmaxClass(self.features, 2.0, max_steps=50)

    @functools.cached_property
    def ar_class(self):
        return ss.AutoregressiveLinearClass(bigram_features, 2, 2, 2, 1.0, num_prompts=2, max_steps=50)

    @functools.cached_property
    def hard_class(self):
        return ss.HardClass(2, 4, 0.25)

    @functools.cached_property
    def hard(self):
        return ss.make("hard", num_rare=2, num_candidates=4)

    @functools.cached_property
    def hard_oracle(self):
        return ss.Oracle(self.hard)

    @functools.cached_property
    def sample_batch(self):
        batch, _ = self.oracle.sample(self.key, jnp.array([0, 1]), 3)
        return batch

    @functools.cached_property
    def complexity_result(self):
        success = lambda keys, budget: jnp.broadcast_to(budget >= 4, keys.shape[:1])  # noqa: E731
        return ss.sample_complexity(success, self.keys, 0.1, max_budget=64)


FIX = F()


def fx(name: str) -> Lazy:
    """The fixture ``name`` as a lazy catalog value."""
    return Lazy(name, lambda: getattr(FIX, name))


def arr(label_: str, build) -> Lazy:
    return Lazy(label_, build)


# --- kinds of invalid values ------------------------------------------------------------------------------
_text = st.text(max_size=4)
_junk = st.one_of(_text, st.none(), st.dictionaries(_text, st.integers(), max_size=1))
WRONG_TYPES = ["abc", None, {"a": 1}, ["a", "b"]]


def _floats_outside(low, high, closed_low, closed_high):
    def inside(v):  # -0.0 == 0.0: a draw "below" a closed 0 can be valid
        return (v >= low if closed_low else v > low) and (v <= high if closed_high else v < high)

    below = st.floats(max_value=low, exclude_max=closed_low, allow_nan=False)
    above = st.floats(min_value=high, exclude_min=closed_high, allow_nan=False) if math.isfinite(high) else st.nothing()
    return st.one_of(st.one_of(below, above).filter(lambda v: not inside(v)), st.just(NAN), _junk)


def interval(low, high, closed_low, closed_high, extra=(), arrays_ok=False) -> Kind:
    """Invalid values for a real in an interval: just outside each end, NaN, ±inf where outside, wrong types
    (a list too, unless the function is vectorized: ``arrays_ok``)."""
    values = [NAN, "0.5", None, True] + ([] if arrays_ok else [[0.5, 0.5]])
    values += [low - 1.0 if math.isfinite(low) else -INF]
    values += [low] if not closed_low and math.isfinite(low) else []
    values += [high] if not closed_high and math.isfinite(high) else []
    values += [high + 0.5] if math.isfinite(high) else []
    values += [INF] if not (high == INF and closed_high) else []
    values += [-INF] if math.isfinite(low) else []
    return Kind(values + list(extra), _floats_outside(low, high, closed_low, closed_high))


UNIT = interval(0.0, 1.0, False, False)             # ε, δ, ρ, confidence ∈ (0, 1)
GAMMA = interval(0.0, 1.0, True, False)             # γ ∈ [0, 1)
POS = interval(0.0, INF, False, False)              # finite > 0
POS_OR_INF = interval(0.0, INF, False, True)        # > 0, inf allowed (β of power_policy, γ_margin)
NONNEG = interval(0.0, INF, True, False)            # finite ≥ 0
GE1 = interval(1.0, INF, True, False)               # coverage coefficients, p


def pos_int(minimum: int = 1) -> Kind:
    """Invalid values for an integer count ≥ ``minimum``."""
    strategy = st.one_of(st.integers(max_value=minimum - 1), st.floats(allow_nan=False).filter(
        lambda v: not float(v).is_integer()), _junk)
    return Kind([minimum - 1, -1, 2.5, 2.0, True, "3", None, NAN, INF, [2, 3]], strategy)


POS_INT = pos_int(1)
HUGE_SIZES = [10**9, 10**30]   # guarded: run only in the memory-capped child process (10**30 overflows int64)

POLICY = Kind(["abc", None, {"a": 1}, 3, fx("oracle"), arr("ndarray[2,3]", lambda: FIX.probs)],
              st.one_of(_junk, st.integers()))
AR_POLICY = POLICY + [fx("tab")]                    # an autoregressive policy expected, a tabular one given
ORACLE = Kind(["abc", None, {"a": 1}, fx("tab"), fx("tab_class")], _junk)
MODEL_CLASS = Kind(["abc", None, {"a": 1}, fx("tab"), fx("oracle")], _junk)
KEY = Kind([None, "key", 1.5, arr("float array[3]", lambda: np.zeros(3))], _junk)
CALLABLE = Kind([None, "f", 3], _junk)


def prob_vector(size: int) -> Kind:
    """Invalid distributions over ``size`` outcomes (μ): negative, NaN, inf, unnormalized, wrong shape/type."""
    uniform = [1.0 / size] * size
    negative = [-1.0, 2.0] + [0.0] * (size - 2)
    return Kind([[NAN] + uniform[1:], negative, [INF] + uniform[1:], [0.3] * size, uniform + [0.0],
                 [uniform], [], "ab", ["a"] * size, None, {"a": 1}, [-1.0], [NAN]],
                st.one_of(st.lists(st.floats(allow_nan=True), min_size=size, max_size=size).filter(
                    lambda v: not (np.all(np.isfinite(v)) and abs(sum(v) - 1) < 1e-9 and min(v) >= 0)),
                          st.lists(st.floats(0, 1), min_size=size + 1, max_size=size + 3), _junk))


def prob_table(shape) -> Kind:
    """Invalid [X, Y] tables of conditionals."""
    rows, cols = shape
    good = np.full(shape, 1.0 / cols)

    def changed(update):
        table = good.copy()
        update(table)
        return table

    return Kind([changed(lambda t: t.__setitem__((0, 0), NAN)), changed(lambda t: t.__setitem__((0, 0), INF)),
                 changed(lambda t: t.__setitem__((0, slice(0, 2)), [-0.5, 0.5 + 2.0 / cols])),
                 changed(lambda t: t.__setitem__((0, 0), 0.9)), good[0], good[None], np.zeros((rows, 0)),
                 np.zeros((0, cols)), [["a"] * cols] * rows, "abc", None, {"a": 1}],
                st.one_of(st.lists(st.lists(st.floats(), min_size=cols, max_size=cols), min_size=rows,
                                   max_size=rows).filter(lambda t: not np.allclose(np.sum(t, axis=1), 1.0)), _junk))


def index_array(size: int, length: int = 2, shapes: bool = False) -> Kind:
    """Invalid index arrays into [0, size): out of range, negative, floats, strings; with ``shapes`` also arrays of
    another shape (for arguments whose shape must match another's)."""
    reshaped = [[[0] * length] * 2, [0] * (length + 1)] if shapes else []
    return Kind([[size] * length, [-1] * length, [0.5] * length, ["a"] * length, None, "0"] + reshaped,
                st.one_of(st.lists(st.integers().filter(lambda i: not 0 <= i < size), min_size=length,
                                   max_size=length), _junk))


def real_array(length: int) -> Kind:
    """Invalid real arrays of a given length (NaN, inf, strings, wrong length, wrong rank)."""
    ones = [1.0] * length
    return Kind([[NAN] + ones[1:], [INF] + ones[1:], ["a"] * length, ones + [1.0], [ones], [], "abc", None],
                st.one_of(st.lists(st.floats(allow_nan=True), min_size=length, max_size=length).filter(
                    lambda v: not np.all(np.isfinite(v))), _junk))
