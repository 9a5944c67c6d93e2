"""Drawing instances from a hypothesis strategy reproducibly, and shrinking a failing one, for ``check_guarantee``.

The draw is hypothesis's own generation (``hypothesis.find`` with a fixed ``random.Random(seed)`` and no database),
so it is the same list every time; shrinking replays that generation with a condition that first holds on an
instance already found failing, from which hypothesis's shrinker takes over (its minimal example is the simplest in
hypothesis's order: fewer and smaller prompts and responses, simpler numbers).
"""

from __future__ import annotations

import functools
import random

import jax
import numpy as np
from hypothesis import HealthCheck, Verbosity, find, settings
from hypothesis.errors import NoSuchExample

from sharpsim.core.validation import check_positive_int

__all__ = ["default_strategy", "draw_instances", "fingerprint", "shrink"]


@functools.lru_cache(maxsize=None)
def default_strategy():
    """The default instances: tabular, 1–3 prompts, 2–5 responses, any C_cov, margin and ties (one object, so
    its derandomized draws are cached)."""
    from sharpsim.testing.strategies import instances

    return instances(num_prompts=(1, 3), num_responses=(2, 5))


def _find_settings(count: int) -> settings:
    return settings(max_examples=4 * count, database=None, deadline=None, verbosity=Verbosity.quiet,
                    suppress_health_check=list(HealthCheck))


def fingerprint(instance) -> tuple:
    """A hashable key equal for two instances of the same type with bit-identical arrays."""
    leaves = jax.tree_util.tree_leaves(instance)
    return (type(instance).__name__, jax.tree_util.tree_structure(instance),
            tuple((np.asarray(leaf).shape, np.asarray(leaf).tobytes()) for leaf in leaves))


_DRAWS: dict = {}


def draw_instances(strategy, count: int, seed: int = 0) -> list:
    """The first ``count`` distinct instances hypothesis generates from ``strategy`` with a fixed random seed (the
    same list every call; fewer if the strategy has fewer)."""
    count = check_positive_int(count, "count")
    cache_key = (id(strategy), count, seed)
    if cache_key in _DRAWS and _DRAWS[cache_key][0] is strategy:
        return list(_DRAWS[cache_key][1])
    seen: dict = {}

    def collect(instance) -> bool:
        if len(seen) < count:
            seen.setdefault(fingerprint(instance), instance)
        return False

    try:
        find(strategy, collect, settings=_find_settings(count), random=random.Random(seed))
    except NoSuchExample:
        pass
    if len(_DRAWS) >= 64:  # the cache keeps its strategies alive (so their ids stay unique); bound it
        _DRAWS.pop(next(iter(_DRAWS)))
    _DRAWS[cache_key] = (strategy, tuple(seen.values()))
    return list(seen.values())


class _ShrinkBudgetSpent(BaseException):
    """Stops hypothesis's shrinker (a BaseException: hypothesis lets it through at once) when the run budget is
    spent; the last instance found rejected is then the smallest so far."""


def shrink(strategy, count: int, seed: int, start: set, rejected, evaluated, max_runs: int):
    """hypothesis's shrinking from the first drawn instance whose ``fingerprint`` is in ``start`` (the draw of
    ``draw_instances(strategy, count, seed)`` is replayed): the minimal instance with ``rejected(instance)``, or
    the smallest found when ``max_runs`` instances not yet ``evaluated`` have been run (or 10·``max_runs``
    candidates tried); None if none is found. Returns (instance, new runs)."""
    state = {"shrinking": False, "runs": 0, "calls": 0, "best": None}

    def condition(instance) -> bool:
        if not state["shrinking"]:  # replaying the draw: only the instances already rejected count
            state["shrinking"] = fingerprint(instance) in start
            state["best"] = instance if state["shrinking"] else None
            return state["shrinking"]
        state["calls"] += 1
        if not evaluated(instance):
            if state["runs"] >= max_runs or state["calls"] > 10 * max_runs:
                raise _ShrinkBudgetSpent
            state["runs"] += 1
        if rejected(instance):
            state["best"] = instance  # the shrinker only tries candidates smaller than its current best
            return True
        return False

    try:
        minimal = find(strategy, condition, settings=_find_settings(count), random=random.Random(seed))
    except NoSuchExample:
        return None, state["runs"]
    except _ShrinkBudgetSpent:
        minimal = state["best"]
    return minimal, state["runs"]
