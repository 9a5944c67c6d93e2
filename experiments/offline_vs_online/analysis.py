"""offline_vs_online analysis: m* per (scale, learner) from the stored budget search, log-log slopes of m* on C_cov,
and the figure (m* against C_cov with SFT's exact m*, the Theorem 4.1 / Proposition C.1 shape and m = 2d)."""

from __future__ import annotations

import math

import numpy as np

from sharpsim.measure.complexity import threshold_from_table
from sharpsim.measure.statistics import fit_loglog_slope
from sharpsim.runner import figures as plotting
from sharpsim.runner.sweep import atomic_save_figure

from .sweep import DELTA, DIMENSION, METHODS, NUM_VALIDATION, RHO

LABELS = {"sft": "SFT-Sharpening (n = 1)", "rlhf_offline": "offline RLHF (Eq. 8)",
          "xpo": r"XPO, $\alpha=0$ (on-policy regression, no exploration bonus)"}
MARKERS = {"sft": "s", "rlhf_offline": "D", "xpo": "o"}
XPO_SHIFT = 1.06  # XPO drawn 6% to the right of its C_cov: it overlaps offline RLHF


def cell_rows(table) -> list[dict]:
    """One row per (scale, learner): m* with its interval and the cell's constants."""
    rows = []
    for (scale, method), cell in table.groupby(["scale", "method"], sort=True):
        estimate, lower, upper = threshold_from_table(cell.budget, cell.successes, cell.trials, 1 - RHO)
        first = cell.iloc[0]
        rows.append({"scale": float(scale), "method": method, "m_star": estimate, "m_star_lower": lower,
                     "m_star_upper": upper, "coverage": float(first.coverage), "margin": float(first.margin),
                     "beta": float(first.beta), "exact_sft_threshold": float(first.exact_sft_threshold),
                     "max_budget": float(cell.budget.max()), "seeds": int(cell.trials.iloc[0])})
    return rows


def _by_coverage(rows, method: str) -> list[dict]:
    return sorted((r for r in rows if r["method"] == method), key=lambda r: r["coverage"])


def coverage_slopes(rows) -> dict:
    """Per learner with ≥ 3 finite m*: the least-squares slope of log m* on log C_cov with its 95% t-interval."""
    slopes = {}
    for method in METHODS:
        reached = [r for r in _by_coverage(rows, method) if math.isfinite(r["m_star"])]
        if len(reached) >= 3:
            fit = fit_loglog_slope([r["coverage"] for r in reached], [r["m_star"] for r in reached])
            slopes[method] = {"slope": fit.slope, "slope_low": fit.slope_low, "slope_high": fit.slope_high}
    return slopes


def summarize(table) -> dict:
    rows = cell_rows(table)
    return {"delta": DELTA, "rho": RHO, "dimension": DIMENSION, "cells": rows, "slopes": coverage_slopes(rows),
            "labels": {"sft": "SFT-Sharpening (n = 1)", "rlhf_offline": "offline RLHF (Eq. 8)",
                       "xpo": "XPO, α = 0 (on-policy regression, no exploration bonus)"}}


def _draw_method(ax, method: str, mine: list[dict], slope: dict | None) -> None:
    coverage = np.array([r["coverage"] for r in mine])
    est, low, high = (np.array([r[k] for r in mine]) for k in ("m_star", "m_star_lower", "m_star_upper"))
    reached = np.isfinite(est)
    label = LABELS[method]
    if slope is not None:
        label += f": slope {slope['slope']:.2f} [{slope['slope_low']:.2f}, {slope['slope_high']:.2f}]"
    shown = coverage * (XPO_SHIFT if method == "xpo" else 1.0)
    if reached.any():
        plotting.errorbar_points(ax, shown[reached], est[reached], low[reached],
                                 np.where(np.isfinite(high), high, est)[reached], marker=MARKERS[method], label=label)
    for r in mine:
        if not math.isfinite(r["m_star"]):
            ax.annotate("", xy=(r["coverage"], r["max_budget"] * 1.8), xytext=(r["coverage"], r["max_budget"]),
                        arrowprops=dict(arrowstyle="->", color="0.4"))


def _draw_reference(ax, rows) -> None:
    sft_rows = _by_coverage(rows, "sft")
    if sft_rows:
        coverage = np.array([r["coverage"] for r in sft_rows])
        ax.plot(coverage, [r["exact_sft_threshold"] for r in sft_rows], color="C0", linewidth=1.2,
                label=r"SFT exact: $\lceil\log\rho/\log(1-1/C_{cov})\rceil$")
        ax.plot(coverage, coverage * np.log(1 / RHO), **plotting.THEORY_STYLE,
                label=r"Thm 4.1 / Prop. C.1 shape: $C_{cov}\log(1/\rho)$")
    ax.axhline(2 * DIMENSION, color="0.6", linestyle=":", linewidth=1, label=r"$m = 2d$ (d pairs)")


def plot(summary: dict, table, path) -> None:
    rows = summary["cells"]
    figure, (ax,) = plotting.new_figure(1, width_per_panel=6.4, height=4.8)
    for method in METHODS:
        mine = _by_coverage(rows, method)
        if mine:
            _draw_method(ax, method, mine, summary["slopes"].get(method))
    _draw_reference(ax, rows)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(rf"coverage coefficient $C_{{cov}}$ (sphere, d = {DIMENSION}, scale 4 → 0.25)")
    ax.set_ylabel(r"queries $m^*$ for $\pi(y^*)\geq 1-\delta$ w.p. $\geq 1-\rho$")
    ax.set_title(r"offline RLHF, XPO ($\alpha=0$: no exploration bonus) and SFT across coverage")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    seeds = int(min(r["seeds"] for r in rows))
    plotting.footnote(figure, f"δ = {DELTA}, ρ = {RHO}; {seeds} seeds per point; bars: 95% Wilson intervals per "
                      "budget turned into an interval on m*; arrows: m* beyond the largest budget. RLHF m = 2n, "
                      "XPO, α = 0 (on-policy regression, no exploration bonus): m = 2T (plus "
                      f"{NUM_VALIDATION}(T+1) validation evaluations, not counted); slopes: "
                      "least squares on log-log axes, 95% t-intervals; XPO points drawn 6% right of their C_cov.")
    figure.subplots_adjust(bottom=0.4)
    atomic_save_figure(figure, path)
    plotting.close(figure)
