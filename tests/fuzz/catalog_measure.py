"""Catalog entries of ``sharpsim.measure``: ``statistics`` (intervals and slopes), ``complexity`` (the threshold
search) and ``allocation`` (the search over an algorithm's allocations). See ``catalog.py`` for the format."""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np
import pandas as pd

import sharpsim as ss
from sharpsim.measure import allocation, complexity, statistics
from tests.fuzz.harness import Entry
from tests.fuzz.values import (
    CALLABLE, FIX, GE1, HUGE_SIZES, INF, NAN, POS, POS_INT, UNIT, Kind, Lazy, arr, fx, interval,
)

STRINGS = Kind(["abc", ["a", "b", "c"], None, {"a": 1}])
COUNTS = Kind([[-1, 2], [5, 2], [NAN, 1], [INF, 1], ["a", "b"], "abc", None])
TRIALS = Kind([[0, 4], [-4, 4], [NAN, 4], [INF, 4], ["a", "b"], "abc", None, [4, 4, 4]])
X3 = np.array([1.0, 2.0, 4.0])
SERIES = Kind([[NAN, 1.0, 2.0], [INF, 1.0, 2.0], ["a"] * 3, [1.0, 2.0], [X3.tolist()], "abc", None,
               [1.0, 0.0, 2.0], [1.0, -1.0, 2.0]])          # positive series over X3
X_SERIES = SERIES + [[1.0, 1.0, 1.0]]                        # x also needs two distinct values
VALUES = Kind([[NAN, 1.0], [INF, 1.0], ["a", "b"], [[0.1, 0.2]], [], "abc", None])


def _threshold_success(keys, budget):
    return jnp.broadcast_to(budget >= 4, keys.shape[:1])


def _allocation_success(keys, size, shape):
    return jnp.broadcast_to(size * shape["N"] >= 8, keys.shape[:1])


@functools.cache
def _complexity_results():
    results = []
    for threshold in (2, 4, 8):
        success = lambda keys, budget, t=threshold: jnp.broadcast_to(budget >= t, keys.shape[:1])  # noqa: E731
        results.append(ss.sample_complexity(success, FIX.keys, 0.1, max_budget=64))
    return results


@functools.cache
def _allocation_rows():
    columns = ss.search_allocations(_allocation_success, FIX.keys, 0.1, [{"N": 1.0}, {"N": 2.0}],
                                    lambda n, shape: n * shape["N"], max_size=16)
    return pd.DataFrame(columns)


RESULTS = arr("three SampleComplexity results", _complexity_results)
ROWS = arr("search_allocations rows", _allocation_rows)
BAD_RESULTS = Kind([[], "abc", None, [1.0, 2.0, 3.0],
                    arr("two results for three x", lambda: _complexity_results()[:2])])
BAD_ROWS = Kind(["abc", None, {"a": 1}, arr("empty DataFrame", pd.DataFrame),
                 arr("rows without shape_index", lambda: _allocation_rows().drop(columns="shape_index"))])
WRONG_SHAPE_SUCCESS = arr("success returning shape [2, 2]", lambda: (lambda keys, budget: jnp.ones((2, 2), bool)))

ENTRIES = [
    # --- statistics -------------------------------------------------------------------------------------------
    Entry("statistics.wilson_interval", "measure", lambda **kw: statistics.wilson_interval(**kw),
          {"successes": [1, 2], "trials": [4, 4], "confidence": 0.95},
          bad={"successes": COUNTS, "trials": TRIALS, "confidence": UNIT},
          extreme={"trials": [[10**15, 10**15]], "confidence": [1e-300, 1 - 1e-16]}, fast=("successes", "confidence")),
    Entry("statistics.clopper_pearson_interval", "measure", lambda **kw: statistics.clopper_pearson_interval(**kw),
          {"successes": [1, 2], "trials": [4, 4], "confidence": 0.95},
          bad={"successes": COUNTS, "trials": TRIALS, "confidence": UNIT},
          extreme={"trials": [[10**15, 10**15]], "confidence": [1e-300, 1 - 1e-16]}),
    Entry("statistics.mean_interval", "measure", lambda **kw: statistics.mean_interval(**kw),
          {"values": [0.1, 0.2, 0.4], "confidence": 0.95, "low": 0.0, "high": 1.0},
          bad={"values": VALUES, "confidence": UNIT, "low": Kind([NAN, "a", None, 2.0]),
               "high": Kind([NAN, "a", None, -1.0])}, fast=("values",)),
    Entry("statistics.quantile_interval", "measure", lambda **kw: statistics.quantile_interval(**kw),
          {"samples": [1.0, 2.0, 3.0, 4.0], "q": 0.5, "confidence": 0.95},
          bad={"samples": Kind([[], [NAN, 1.0], ["a", "b"], "abc", None]), "q": UNIT, "confidence": UNIT},
          allow_inf=True),
    Entry("statistics.fit_loglog_slope", "measure", lambda **kw: statistics.fit_loglog_slope(**kw),
          {"x": X3, "y": [1.0, 2.0, 4.5], "confidence": 0.95},
          bad={"x": X_SERIES, "y": SERIES, "confidence": UNIT}, fast=("y",)),
    Entry("statistics.bootstrap_slope_interval", "measure", lambda **kw: statistics.bootstrap_slope_interval(**kw),
          {"x": X3, "y_resamples": np.array([[1.0, 2.0, 4.0], [1.0, 2.1, 4.4]]), "confidence": 0.95},
          bad={"x": X_SERIES, "y_resamples": Kind([np.array([[1.0, NAN, 4.0]]), np.array([[1.0, 2.0]]),
                                                            np.zeros((0, 3)), [["a", "b", "c"]], "abc", None,
                                                            np.array([[1.0, -2.0, 4.0]])]),
               "confidence": UNIT}, fast=("y_resamples",)),
    Entry("statistics.slope_record", "measure", lambda **kw: statistics.slope_record(**kw),
          {"x": X3, "measured": [1.0, 2.0, 4.5], "min_points": 3},
          bad={"x": Kind([v for v in X_SERIES if v is not None]), "min_points": POS_INT,
               "measured": Kind([["a", "b", "c"], "abc", [1.0, 0.0, 2.0], [1.0, 2.0]])}),
    Entry("statistics.slope_against_theory", "measure", lambda **kw: statistics.slope_against_theory(**kw),
          {"x": X3, "measured": [1.0, 2.0, 4.5], "theory": [1.0, 2.0, 4.0], "min_points": 3},
          bad={"x": Kind([v for v in X_SERIES if v is not None]), "theory": SERIES, "min_points": POS_INT,
               "measured": Kind([["a", "b", "c"], "abc", [1.0, 0.0, 2.0]])}),
    Entry("statistics.SlopeFit.predict", "measure",
          lambda **kw: statistics.fit_loglog_slope(X3, [1.0, 2.0, 4.5]).predict(**kw), {"x": [2.0, 3.0]},
          bad={"x": STRINGS + [[-1.0, 2.0], [NAN]]}),
    Entry("statistics.SlopeFit.describe", "measure",
          lambda **kw: statistics.fit_loglog_slope(X3, [1.0, 2.0, 4.5]).describe(**kw), {"symbol": "a"}),
    # --- complexity -------------------------------------------------------------------------------------------
    Entry("sample_complexity", "measure", lambda **kw: ss.sample_complexity(**kw),
          {"success_batch": _threshold_success, "keys": fx("keys"), "rho": 0.1, "initial_budget": 1, "min_budget": 1,
           "max_budget": 64, "grid": "log", "resolution": 0.05, "interval": "wilson", "confidence": 0.95},
          bad={"success_batch": CALLABLE + [WRONG_SHAPE_SUCCESS],
               "keys": Kind([arr("zero keys", lambda: FIX.keys[:0]), "abc", None, arr("one key, no seed axis",
                                                                                    lambda: FIX.key[0])]),
               "rho": UNIT, "initial_budget": POS_INT + [65], "min_budget": POS_INT + [65], "max_budget": POS_INT,
               "grid": Kind(["bogus", None, 3]), "resolution": POS, "interval": Kind(["bogus", None, 3]),
               "confidence": UNIT},
          extreme={"max_budget": [2**62, 10**30], "resolution": [1e-12, 1e12]}, allow_inf=True,
          fast=("keys", "success_batch")),
    Entry("SampleComplexity.records", "measure", lambda: _complexity_results()[0].records(), {}, allow_inf=True),
    Entry("SampleComplexity.describe", "measure", lambda **kw: _complexity_results()[0].describe(**kw),
          {"name": "b*"}),
    Entry("complexity.vectorize_success", "measure", lambda **kw: complexity.vectorize_success(**kw),
          {"success": arr("success(key, budget)", lambda: (lambda key, budget: budget >= 4))},
          bad={"success": CALLABLE}),
    Entry("complexity.threshold_from_table", "measure", lambda **kw: complexity.threshold_from_table(**kw),
          {"budgets": [1, 2, 4], "successes": [0, 2, 4], "trials": [4, 4, 4], "target": 0.9, "confidence": 0.95,
           "interval": "wilson"},
          bad={"budgets": Kind([[], [1, 2], [NAN, 2, 4], [-1, 2, 4], ["a", "b", "c"], "abc", None]),
               "successes": COUNTS + [[0, 2, 5]], "trials": Kind([t for t in TRIALS if t != [4, 4, 4]]) + [[4, 0, 4]],
               "target": interval(0.0, 1.0, False, True), "confidence": UNIT, "interval": Kind(["bogus", None, 3])},
          allow_inf=True, fast=("target",)),
    Entry("complexity.fit_complexity_slope", "measure", lambda **kw: complexity.fit_complexity_slope(**kw),
          {"x": X3, "results": RESULTS, "confidence": 0.95},
          bad={"x": X_SERIES, "results": BAD_RESULTS, "confidence": UNIT}),
    Entry("complexity.bootstrap_complexity_slope", "measure", lambda **kw: complexity.bootstrap_complexity_slope(**kw),
          {"x": X3, "results": RESULTS, "num_resamples": 20, "confidence": 0.95, "seed": 0},
          bad={"x": X_SERIES, "results": BAD_RESULTS, "num_resamples": POS_INT, "confidence": UNIT,
               "seed": Kind([-1, 2.5, "a", NAN])},
          either={"num_resamples": HUGE_SIZES}),
    # --- allocation -------------------------------------------------------------------------------------------
    Entry("allocation.shape_grid", "measure", lambda **kw: allocation.shape_grid(**kw),
          {"low": 1.0, "high": 16.0, "ratio": 2.0},
          bad={"low": GE1 + [17.0], "high": GE1 + [0.5], "ratio": interval(1.0, INF, False, False)},
          either={"high": [1e30, 1e300], "ratio": [Lazy("1 + 1e-15", lambda: 1.0 + 1e-15, huge=True)]}),
    Entry("search_allocations", "measure", lambda **kw: ss.search_allocations(**kw),
          {"success": _allocation_success, "keys": fx("keys"), "rho": 0.1,
           "shapes": [{"N": 1.0}, {"N": 2.0}], "queries": arr("n·N", lambda: (lambda n, shape: n * shape["N"])),
           "max_size": 16, "stop_factor": 2.0, "patience": 3, "resolution": 0.05},
          bad={"success": CALLABLE, "keys": Kind([arr("zero keys", lambda: FIX.keys[:0]), "abc", None]), "rho": UNIT,
               "shapes": Kind([[], "abc", None, [{"N": 1.0}, {"M": 2.0}], [1.0, 2.0]]), "queries": CALLABLE,
               "max_size": POS_INT, "stop_factor": GE1, "patience": POS_INT, "resolution": POS},
          either={"max_size": HUGE_SIZES}, allow_inf=True),
    Entry("allocation.shape_thresholds", "measure", lambda **kw: allocation.shape_thresholds(**kw),
          {"rows": ROWS, "target": 0.9, "shape_columns": ["N"], "confidence": 0.95},
          bad={"rows": BAD_ROWS, "target": UNIT, "shape_columns": Kind([["bogus"], None, 3]), "confidence": UNIT},
          allow_inf=True),
    Entry("allocation_threshold", "measure", lambda **kw: ss.allocation_threshold(**kw),
          {"rows": ROWS, "target": 0.9, "shape_columns": ["N"], "confidence": 0.95},
          bad={"rows": BAD_ROWS, "target": UNIT, "shape_columns": Kind([["bogus"], None, 3]), "confidence": UNIT},
          allow_inf=True),
]
