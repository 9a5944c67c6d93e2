"""lower_bound_allocation analysis: per (point, learner) the algorithm's own m* (the minimum over its allocation,
``allocation.allocation_threshold``) and the prescription's m* (the f = 1 shape, ``allocation.shape_thresholds``),
both with the intervals of 95% Wilson bounds per n carried through; their ratio to Thm 3.1's rate (SFT) or Thm
D.2's (adaptive SFT) at constant 1; the optimal N*/N_C1 (μ*/BOOST); log-log slopes along each sweep.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sharpsim.measure.allocation import allocation_threshold, shape_thresholds
from sharpsim.measure.hard_learners import ALLOCATION_LEARNERS, BOOST, TARGET_ERROR
from sharpsim.measure.statistics import fit_loglog_slope
from sharpsim.runner import figures as plotting
from sharpsim.runner.sweep import atomic_save_figure

SHAPES = {"sft": ["num_samples"], "adaptive_sft": ["mu", "cap"]}
BOUND_OF = {"sft": "thm_3_1", "adaptive_sft": "thm_d2"}
SWEEP_X = {"eps": "eps", "coverage": "coverage_actual"}
SERIES = ("optimum", "prescribed")
TARGET = 1.0 - TARGET_ERROR


def _shape_ratio(learner: str, shape: dict, n_c1: float) -> float:
    """N/N_C1 for SFT, μ/BOOST for adaptive SFT."""
    return shape["num_samples"] / n_c1 if learner == "sft" else shape["mu"] / BOOST


def cell_rows(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (point, learner, series ∈ {optimum, prescribed}): m* with its interval, the allocation there,
    the bound and m*/bound with its interval, and whether the optimum's shape is the grid's top or bottom."""
    records = []
    for (point, learner), part in table.groupby(["point", "learner"], sort=False):
        if learner not in ALLOCATION_LEARNERS:
            raise ValueError(f"learner must be one of {ALLOCATION_LEARNERS}, got {learner!r}")
        first = part.iloc[0]
        shape_columns = SHAPES[learner]
        optimum = allocation_threshold(part, TARGET, shape_columns)
        profile = shape_thresholds(part, TARGET, shape_columns)
        (prescribed,) = shape_thresholds(part[part.prescribed.astype(bool)], TARGET, shape_columns)
        bound = float(first[BOUND_OF[learner]])
        base = {"point": point, "sweep": first.sweep, "learner": learner, "eps": float(first.eps),
                "coverage_actual": float(first.coverage_actual), "d": int(first.d),
                "num_candidates": int(first.num_candidates), "N_C1": float(first.N_C1), "bound": bound,
                "bound_name": BOUND_OF[learner], "seeds": int(first.trials) // int(first.d)}
        star = {name: optimum[f"{name}_star"] for name in shape_columns}
        best_index = int(np.nanargmin([p["m"] for p in profile])) if optimum["shapes_feasible"] else -1
        for series, m, low, high, n, shape in (
                ("optimum", optimum["m_star"], optimum["m_low"], optimum["m_high"], optimum["n_star"], star),
                ("prescribed", prescribed["m"], prescribed["m_low"], prescribed["m_high"], prescribed["n"],
                 {name: prescribed[name] for name in shape_columns})):
            records.append({**base, "series": series, "m_star": m, "m_low": low, "m_high": high, "n_star": n,
                            **{f"{k}_star": v for k, v in shape.items()},
                            "shape_ratio": _shape_ratio(learner, shape, base["N_C1"]) if math.isfinite(m) else math.nan,
                            "ratio": m / bound, "ratio_low": low / bound, "ratio_high": high / bound,
                            "at_top_edge": series == "optimum" and best_index == len(profile) - 1,
                            "at_bottom_edge": series == "optimum" and best_index == 0})
    return pd.DataFrame(records)


def profiles(table: pd.DataFrame) -> pd.DataFrame:
    """Every searched shape of every cell: m(shape) with its interval and the shape ratio (N/N_C1 or μ/BOOST)."""
    records = []
    for (point, learner), part in table.groupby(["point", "learner"], sort=False):
        n_c1 = float(part.N_C1.iloc[0])
        for p in shape_thresholds(part, TARGET, SHAPES[learner]):
            records.append({"point": point, "learner": learner, "sweep": part.sweep.iloc[0],
                            "shape_ratio": _shape_ratio(learner, p, n_c1), "m": p["m"], "m_low": p["m_low"],
                            "m_high": p["m_high"], "n": p["n"]})
    return pd.DataFrame(records)


def sweep_slopes(rows: pd.DataFrame, axis: str) -> dict:
    """Log-log slopes (95% t-intervals) of m* along one sweep per (learner, series), and of the bound curves."""
    sweep, column, slopes = rows[rows.sweep == axis], SWEEP_X[axis], {}
    for (learner, series), part in sweep.groupby(["learner", "series"], sort=False):
        part = part.sort_values(column)
        if len(part) >= 3 and np.all(np.isfinite(part.m_star)):
            fit = fit_loglog_slope(part[column], part.m_star)
            slopes[f"{learner}/{series}"] = {"slope": fit.slope, "slope_low": fit.slope_low, "slope_high": fit.slope_high}
            if series == "optimum":
                slopes[f"{BOUND_OF[learner]}_curve"] = {"slope": fit_loglog_slope(part[column], part.bound).slope}
    return slopes


def summarize(table: pd.DataFrame) -> dict:
    rows = cell_rows(table)
    gains = {}
    for learner in ALLOCATION_LEARNERS:
        part = rows[rows.learner == learner].pivot(index="point", columns="series", values="m_star")
        gain = (part.prescribed / part.optimum).to_numpy(float)
        gains[learner] = [float(np.nanmin(gain)), float(np.nanmax(gain))] if gain.size else [math.nan, math.nan]
    ratio_range = {f"{learner}/{series}": [float(part.ratio.min()), float(part.ratio.max())]
                   for (learner, series), part in rows.groupby(["learner", "series"], sort=False)}
    optimum = rows[rows.series == "optimum"]
    return {"target_coordinate_error": TARGET_ERROR, "ratio_range": ratio_range,
            "prescribed_over_optimum_range": gains,
            "shape_ratio_range": {learner: [float(part.shape_ratio.min()), float(part.shape_ratio.max())]
                                  for learner, part in optimum.groupby("learner", sort=False)},
            "optimum_at_top_edge": sorted(optimum[optimum.at_top_edge].point + "/" + optimum[optimum.at_top_edge].learner),
            "optimum_at_bottom_edge": sorted(optimum[optimum.at_bottom_edge].point + "/"
                                             + optimum[optimum.at_bottom_edge].learner),
            "slopes": {axis: sweep_slopes(rows, axis) for axis in SWEEP_X},
            "cells": [{k: _json_number(v) for k, v in record.items()} for record in rows.to_dict(orient="records")]}


def _json_number(value):
    """None for inf/NaN (strict JSON), plain Python numbers otherwise."""
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value.item() if isinstance(value, np.generic) else value


COLORS = {"sft": "tab:blue", "adaptive_sft": "tab:red"}
NAMES = {"sft": "SFT", "adaptive_sft": "adaptive SFT"}
STYLE = {"optimum": ("o", "-", "own optimum"), "prescribed": ("s", "--", "prescribed")}
XLABEL = {"eps": "target error ε", "coverage": "coverage $C_{cov}$ (actual)"}


def _errorbars(ax, part, x, y, low, high, color, series, label):
    marker, line, _ = STYLE[series]
    ax.errorbar(part[x], part[y], yerr=[part[y] - part[low], part[high] - part[y]], color=color, marker=marker,
                linestyle=line, capsize=3, label=label, markerfacecolor="white" if series == "prescribed" else color)


def plot(summary: dict, table: pd.DataFrame, path) -> None:
    rows, profile = cell_rows(table), profiles(table)
    figure, axes = plotting.plt.subplots(2, 3, figsize=(17, 10))
    for column, axis in enumerate(SWEEP_X):
        x = SWEEP_X[axis]
        sweep = rows[rows.sweep == axis].sort_values(x)
        ax_m, ax_r = axes[0, column], axes[1, column]
        if sweep.empty:  # a run restricted to the other sweep (``sharpsim run --set point=…``)
            for ax in (ax_m, ax_r):
                ax.text(0.5, 0.5, f"no cells on the {axis} sweep", ha="center", va="center", transform=ax.transAxes)
                ax.set_axis_off()
            continue
        for learner in ALLOCATION_LEARNERS:
            for series in SERIES:
                part = sweep[(sweep.learner == learner) & (sweep.series == series)]
                label = f"{NAMES[learner]}, {STYLE[series][2]}"
                _errorbars(ax_m, part, x, "m_star", "m_low", "m_high", COLORS[learner], series, label)
                _errorbars(ax_r, part, x, "ratio", "ratio_low", "ratio_high", COLORS[learner], series, label)
            bound = sweep[(sweep.learner == learner) & (sweep.series == "optimum")]
            ax_m.plot(bound[x], bound.bound, color=COLORS[learner], linestyle=":",
                      label=f"{'Thm 3.1' if learner == 'sft' else 'Thm D.2'} rate, constant 1 (shape only)")
        for ax in (ax_m, ax_r):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel(XLABEL[axis])
            ax.grid(True, which="both", alpha=0.3)
            values = sorted(sweep[x].unique())
            ax.set_xticks(values, [f"1/{1 / v:.0f}" if axis == "eps" else f"{v:.2g}" for v in values])
            ax.xaxis.set_minor_locator(plotting.plt.NullLocator())  # the sweep's own values label the axis
            if axis == "eps":
                ax.invert_xaxis()
        tag = "ab"[column]
        ax_m.set_ylabel("m* (queries; adaptive: E[m])")
        ax_m.set_title(f"({tag}) m* along the {axis} sweep")
        ax_r.set_ylabel("m* / rate (SFT: Thm 3.1, adaptive: Thm D.2)")
        ax_r.set_title(f"({'de'[column]}) m* / rate along the {axis} sweep")
        ax_m.legend(fontsize=7.5, loc="upper left")
    ax_p, ax_q = axes[0, 2], axes[1, 2]
    for ax, learner, xlabel in ((ax_p, "sft", "N / N_C1"), (ax_q, "adaptive_sft", "μ / ln(2Δ/ε)")):
        part = profile[(profile.learner == learner) & np.isfinite(profile.m)]
        cmap = plotting.plt.get_cmap("tab10")
        for index, (point, cell) in enumerate(part.groupby("point", sort=False)):
            upper = np.where(np.isfinite(cell.m_high), cell.m_high, cell.m)  # no confident upper end: no bar up
            ax.errorbar(cell.shape_ratio, cell.m, yerr=[cell.m - cell.m_low, upper - cell.m], marker="o",
                        capsize=2, color=cmap(index % 10), label=point)
        finite = part.m_high[np.isfinite(part.m_high)]
        ax.set_ylim(part.m_low.min() / 1.3, 4 * max(finite.max(), part.m.max()))  # room for the legend above
        ax.axvline(1.0, color="gray", linestyle="--", linewidth=1)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel(f"{xlabel} (1 = prescription)")
        ax.set_ylabel("m(shape) at the least passing n")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, ncol=2, loc="upper left")
    ax_p.set_title("(c) SFT: m over the N grid (infeasible N omitted)")
    ax_q.set_title("(f) adaptive SFT: E[m] over the μ grid")
    seeds = int(rows.seeds.min())
    plotting.footnote(figure, f"Monte Carlo through the oracle, I ~ Uniform([M]^d) per seed, {seeds} seeds × d "
                      "coordinates per n; m* = least n·N (adaptive: mean samples used) with coordinate error ≤ ε/Δ "
                      "= 1/16 (Lemma H.2), minimized over the shape grid; bars: per-n 95% Wilson bounds carried "
                      "through the minimum.\nPrescribed: N = N_C1 = ⌈ln(2Δ/ε)/a⌉ (Prop. C.1), μ = ln(2Δ/ε) "
                      "(Lemma I.1). Rates at constant 1: their shape, not their level, is the claim.")
    figure.subplots_adjust(bottom=0.1, top=0.95, left=0.05, right=0.99, hspace=0.3, wspace=0.25)
    atomic_save_figure(figure, path)
    plotting.close(figure)
