"""User methods on a regime map: any algorithm named ``MODULE:FUNCTION`` or ``path/to/file.py:FUNCTION``.

Protocol. ``FUNCTION(key, oracle, num_queries) -> (result, oracle)`` runs the user's algorithm with a budget of
``num_queries`` = m sample-and-evaluate queries, allocated as it likes (prompts × samples, rounds, ...):

* ``key``: a PRNG key; ``oracle``: ``sharpsim.Oracle(π_base)``, the only door to π_base (Definition 3.2);
* it returns the algorithm's result — anything with a ``.policy`` (a ``TabularPolicy`` on π_base's spaces, as every
  ``sharpsim.Result``), or the policy itself — and the oracle after its last query;
* it may spend at most m queries (``oracle.queries.total`` = samples + evaluations; drawing prompts is free).
  Explore reads the ledger and refuses a method that overspends (``ValueError`` naming it).

By default ``num_queries`` is a Python int, so the function may use it as a shape; explore then compiles it once per
budget evaluated. A function that also takes a keyword ``max_queries`` is called with ``num_queries`` traced (an
int64 scalar) and ``max_queries`` a static padding (pad to it and mask, e.g. ``oracle.sample(..., active=mask)``,
which charges only the active draws): one compilation for the whole map.

Measurement. m* = min{m : P[π̂ is (ε, δ)-sharp] ≥ 1 − ρ} (the exact referee ``sharpening_error``), searched by
``complexity.sample_complexity`` over m on a log grid down to a relative width of 10% (common random numbers: the
same seeds at every m; 95% Wilson per budget). The allocation inside the budget is the user's, so this is the
algorithm's own m* only if the function allocates well; it is measured as given.
"""

from __future__ import annotations

import inspect
import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.core.oracle import Oracle
from sharpsim.explore.methods import SEARCH_RESOLUTION
from sharpsim.core.policy import as_tabular
from sharpsim.measure.complexity import sample_complexity
from sharpsim.referee.quantities import sharpening_error
from sharpsim.runner.loading import load_object


def is_user_spec(name: str) -> bool:
    return isinstance(name, str) and ":" in name


def load_user_function(spec: str):
    """The function named by ``MODULE:FUNCTION`` or ``path/to/file.py:FUNCTION``; a ValueError naming ``--methods``."""
    function = load_object(spec, "--methods entry")
    if not callable(function):
        raise ValueError(f"--methods entry {spec!r}: {spec.rpartition(':')[2]!r} is not a function")
    return function


def user_label(spec: str) -> str:
    """A short name for the figure: ``file.py:FUNCTION`` for a path, ``module:FUNCTION`` (last dotted part) for a
    module."""
    target, _, function_name = spec.rpartition(":")
    if target.endswith(".py"):
        return f"{Path(target).name}:{function_name}"
    return f"{target.rsplit('.', 1)[-1]}:{function_name}"


def takes_max_queries(function) -> bool:
    try:
        return "max_queries" in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


def _policy_of(result):
    return as_tabular(getattr(result, "policy", result))


def _outcome(function, base, eps, delta, key, num_queries, **padding):
    result, oracle = function(key, Oracle(base), num_queries, **padding)
    if not isinstance(oracle, Oracle):
        raise TypeError(f"a user method must return (result, oracle) with the oracle after its last query, got "
                        f"{type(oracle).__name__} as the second element")
    return sharpening_error(_policy_of(result), base, delta) <= eps, oracle.queries.total


_RUNNERS: dict = {}  # (function, max_queries) -> jitted runner: one compilation per user function and shape set


def _runner(function, max_queries: int):
    """jitted ``(base, eps, delta, keys, m) -> (success [seeds], spent [seeds])``; m static unless the function
    takes ``max_queries`` (then it is traced and ``max_queries`` is the static padding)."""
    key = (function, max_queries if takes_max_queries(function) else None)
    if key not in _RUNNERS:
        if takes_max_queries(function):
            def run(base, eps, delta, keys, budget):
                return jax.vmap(lambda k: _outcome(function, base, eps, delta, k, budget, max_queries=max_queries))(
                    keys)

            _RUNNERS[key] = jax.jit(run)
        else:
            def run(base, eps, delta, keys, budget):
                return jax.vmap(lambda k: _outcome(function, base, eps, delta, k, budget))(keys)

            _RUNNERS[key] = jax.jit(run, static_argnums=4)
    return _RUNNERS[key]


class UserSuccess:
    """``(keys, m) -> bool[seeds]`` for ``sample_complexity``: the user's run at budget m, judged by the referee, with
    the ledger checked; the spending of every evaluated budget is kept in ``spent`` (mean over seeds)."""

    def __init__(self, spec: str, function, base, eps: float, delta: float, max_queries: int):
        self.spec, self.spent, self.base = spec, {}, base
        self.eps, self.delta = jnp.asarray(eps, jnp.float64), jnp.asarray(delta, jnp.float64)
        self.traced = takes_max_queries(function)
        self._run = _runner(function, max_queries)

    def __call__(self, keys, budget):
        budget = int(budget)
        success, spent = self._run(self.base, self.eps, self.delta, keys,
                                   jnp.asarray(budget, jnp.int64) if self.traced else budget)
        spent = np.asarray(spent)
        if np.any(spent > budget):
            raise ValueError(f"user method {self.spec!r} spent {int(spent.max())} queries at a budget of {budget}; "
                             "a method may spend at most num_queries (oracle.queries.total)")
        self.spent[budget] = float(np.mean(spent))
        return np.asarray(success)


def run_user(spec: str, cell) -> dict:
    """The rows of the user's threshold search at one cell (a ``"search"`` measurement, queries = the budget m)."""
    function = load_user_function(spec)
    max_queries = int(cell.padding["user_queries"])
    success = UserSuccess(spec, function, cell.instance, cell.eps, cell.delta, max_queries)
    start = int(min(max_queries, max(1, 2 ** math.floor(math.log2(max(cell.padding["query_scale"], 1.0))))))
    result = sample_complexity(success, cell.keys, cell.rho, initial_budget=start, max_budget=max_queries,
                               resolution=SEARCH_RESOLUTION)
    rows = result.records()
    rows["samples"] = result.budgets.astype(np.float64)
    rows["spent"] = np.array([success.spent.get(int(b), math.nan) for b in result.budgets])
    rows["target"] = np.full(result.budgets.size, 1.0 - cell.rho)
    rows["measure"] = np.full(result.budgets.size, "search")
    return rows
