"""An algorithm's own sample complexity: the least number of queries at which *some* allocation of its
parameters reaches (ε, δ)-sharpness with probability ≥ 1 − ρ.

    m*(ρ) = min_a { queries(a) : P[π̂_a is (ε, δ)-sharp] ≥ 1 − ρ },

a ranging over the algorithm's allocations: (n, N) for SFT-Sharpening, (n, μ, cap) for adaptive SFT, n for
RLHF, T for XPO. A theorem's prescribed allocation (a ray such as (n, N) = s·(n₀, N₀)) is a second, labelled
measurement (``sft_search``), never the definition.

How it is searched. An allocation is split into a *size* — the number of prompts n, along which success is
(close to) monotone and the queries grow — and a *shape*, every other parameter (N; or (μ, cap)). For each shape
on a grid, ``complexity.sample_complexity`` finds the threshold size n*(shape) with the same seeds (common random
numbers across sizes *and* shapes), and m*(shape) = queries(n*(shape), shape); then

    m* = min_shape m*(shape),   interval [min_shape m_low(shape), min_shape m_high(shape)].

The interval ends are the per-shape interval ends (95% Wilson per evaluated size, ``threshold_from_table``)
carried through the minimum: the upper end is an upper bound whenever one shape's is, the lower end is a lower
bound when every shape's is (the minimum of pointwise intervals, not a simultaneous band). The estimate is a
minimum of noisy thresholds, hence biased low by selection; common random numbers keep neighbouring shapes'
errors alike, which limits the bias, and the resolution of m* is that of the two grids (the shape grid's ratio
and the size search's ``resolution``).

A scan over increasing shapes stops early once m*(shape) has exceeded ``stop_factor`` × the best for
``patience`` shapes in a row (past the optimum, more samples per prompt only add cost); a shape at which no
size up to ``max_size`` succeeds is infeasible. Until the first feasible shape, each search starts at
``max_size``, so a shape that fails confidently even there costs one evaluation; later searches start at the
previous shape's threshold (n*(shape) falls as the shape buys more per prompt).

``search_allocations`` runs the scan and returns one table row per (shape, evaluated size);
``allocation_threshold`` recomputes m*, its interval and the optimal allocation from those stored rows.
"""

from __future__ import annotations

import math
from typing import Callable, Mapping, Sequence

import numpy as np

from sharpsim.core.validation import check_allocation, check_in_interval, check_positive_int
from sharpsim.measure.arguments import check_callable, check_column_names, check_rows, check_shapes
from sharpsim.measure.complexity import INT64_MAX, sample_complexity, threshold_from_table

ROW_COLUMNS = ("shape_index", "budget", "successes", "trials", "samples")  # what search_allocations stores


def shape_grid(low: float, high: float, ratio: float = math.sqrt(2.0)) -> np.ndarray:
    """Distinct integers ⌈low·ratioᵏ⌉ up to ``high`` (both ends included): the grid of a count-valued shape
    parameter such as N."""
    low = check_in_interval(low, "low", 1.0, math.inf, closed_low=True, closed_high=False)
    high = check_in_interval(high, "high", 1.0, float(INT64_MAX), closed_low=True, closed_high=True)
    if low > high:
        raise ValueError(f"low must be at most high, got low={low!r} and high={high!r}")
    ratio = check_in_interval(ratio, "ratio", 1.0, math.inf, closed_low=False, closed_high=False)
    steps = int(math.floor(math.log(high / low) / math.log(ratio) + 1e-9))
    check_allocation((steps + 1,), f"shape_grid(low={low:g}, high={high:g}, ratio={ratio!r})")
    values = np.ceil(low * ratio ** np.arange(steps + 1) - 1e-9)
    return np.unique(np.concatenate([values, [math.ceil(high - 1e-9)]])).astype(np.int64)


def search_allocations(success: Callable, keys, rho: float, shapes: Sequence[Mapping[str, float]],
                       queries: Callable[[int, Mapping[str, float]], float], *, max_size: int,
                       stop_factor: float = 2.0, patience: int = 3,
                       resolution: float = 0.05) -> dict[str, np.ndarray]:
    """Scan ``shapes`` in order; at each, search the threshold size. Returns equal-length columns, one row per
    (shape, evaluated size): ``shape_index``, every shape parameter, the ``sample_complexity`` records
    (``budget`` = the size n, successes, trials, per-shape threshold), and ``samples`` = queries(n, shape).

    Args:
      success: ``(keys, size, shape) -> bool[seeds]``; ``size`` an int64 scalar (traced, as in
        ``complexity.vectorize_success``), ``shape`` one mapping of ``shapes``.
      keys: PRNG keys [seeds, 2], reused at every size and shape (common random numbers).
      rho: failure probability ρ ∈ (0, 1).
      shapes: the shape grid, ordered so that cost per prompt grows (the early stop assumes it).
      queries: ``(n, shape) -> m``, the queries charged at that allocation (n·N for SFT).
      max_size: the largest size searched (the padding of the success function).
      stop_factor, patience: the early stop (module docstring); ``patience=len(shapes)`` scans them all.
      resolution: relative width of the bisection on the size.
    """
    success, queries = check_callable(success, "success"), check_callable(queries, "queries")
    rho = check_in_interval(rho, "rho", 0.0, 1.0, False, False)
    max_size = check_positive_int(max_size, "max_size")
    patience = check_positive_int(patience, "patience")
    stop_factor = check_in_interval(stop_factor, "stop_factor", 1.0, math.inf, closed_low=True, closed_high=False)
    shapes = check_shapes(shapes)
    names = list(shapes[0])
    columns: dict[str, list] = {}
    best, worse_in_a_row, start = math.inf, 0, min(max_size, INT64_MAX)  # sizes reach success as int64
    for index, shape in enumerate(shapes):
        result = sample_complexity(lambda keys_, size, shape=shape: success(keys_, size, shape), keys, rho,
                                   initial_budget=start, max_budget=max_size, resolution=resolution)
        rows = result.records()
        size = rows["budget"].size
        rows["shape_index"] = np.full(size, index, dtype=np.int64)
        for name in names:
            rows[name] = np.full(size, float(shape[name]))
        rows["samples"] = np.array([queries(int(n), shape) for n in result.budgets], dtype=np.float64)
        for name, values in rows.items():
            columns.setdefault(name, []).append(np.asarray(values))
        if math.isfinite(result.estimate):
            cost = queries(int(result.estimate), shape)
            start = int(result.estimate)
            worse_in_a_row = worse_in_a_row + 1 if cost > stop_factor * best else 0
            best = min(best, cost)
            if worse_in_a_row >= patience:
                break
    return {name: np.concatenate(parts) for name, parts in columns.items()}


def shape_thresholds(rows, target: float, shape_columns: Sequence[str], confidence: float = 0.95) -> list[dict]:
    """Per searched shape (``search_allocations``' stored rows, a DataFrame): the threshold size n* and the
    queries there, m*(shape) with its interval (``threshold_from_table``, Wilson per size), and the shape's
    parameters. Infinite m and NaN n where the shape never reached ``target``."""
    target = check_in_interval(target, "target", 0.0, 1.0, False, False)
    rows = check_rows(rows, "rows", ROW_COLUMNS)
    shape_columns = check_column_names(shape_columns, "shape_columns", rows)
    profile = []
    for _, shape_rows in rows.groupby("shape_index", sort=True):
        shape_rows = shape_rows.sort_values("budget")
        estimate, lower, upper = threshold_from_table(shape_rows.budget, shape_rows.successes, shape_rows.trials,
                                                      target, confidence)
        samples = dict(zip(shape_rows.budget.astype(float), shape_rows.samples.astype(float)))

        def at(budget):
            return samples[budget] if math.isfinite(budget) else math.inf

        profile.append({"m": at(estimate), "m_low": at(lower), "m_high": at(upper),
                        "n": estimate if math.isfinite(estimate) else math.nan,
                        **{name: float(shape_rows[name].iloc[0]) for name in shape_columns}})
    return profile


def allocation_threshold(rows, target: float, shape_columns: Sequence[str], confidence: float = 0.95) -> dict:
    """m*, its interval and the optimal allocation, recomputed from ``search_allocations``' stored rows: the
    minimum over shapes of ``shape_thresholds``. Infinite (and NaN allocation) when no shape reached the target.

    Returns ``m_star``, ``m_low``, ``m_high``, ``n_star`` (the size at the optimum), each shape column at the
    optimum (suffixed ``_star``), ``shapes_searched``, ``shapes_feasible`` and ``optimum_at_edge`` (the optimum is
    the first or the last shape searched: the grid may not contain the true optimum; widen it)."""
    profile = shape_thresholds(rows, target, shape_columns, confidence)
    feasible = [p for p in profile if math.isfinite(p["m"])]
    summary = {"m_star": math.inf, "m_low": min(p["m_low"] for p in profile),
               "m_high": min(p["m_high"] for p in profile), "n_star": math.nan,
               **{f"{name}_star": math.nan for name in shape_columns},
               "shapes_searched": len(profile), "shapes_feasible": len(feasible), "optimum_at_edge": False}
    if feasible:
        best = min(feasible, key=lambda p: p["m"])
        summary.update({"m_star": best["m"], "n_star": best["n"],
                        "optimum_at_edge": best is profile[0] or best is profile[-1],
                        **{f"{name}_star": best[name] for name in shape_columns}})
    return summary
