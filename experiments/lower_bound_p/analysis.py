"""lower_bound_p analysis: per (learner, p) the fitted constant κ_p of Thm 3.1′, the log-log slope of m* in ε
against the theorem curve's own slope and the exponent −(1 + 1/p) (−1/p adaptively), and m*/(κ_p·rate)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from sharpsim.measure.statistics import fit_loglog_slope
from sharpsim.runner import figures as plotting
from sharpsim.runner.sweep import atomic_save_figure

from .sweep import COVERAGE, LEARNERS, NUM_RARE

MARKERS = {"bayes": "o", "bayes_adaptive": "s"}
COLORS = {"bayes": "tab:blue", "bayes_adaptive": "tab:cyan"}
NAMES = {"bayes": "Bayes, m*", "bayes_adaptive": "adaptive Bayes, E[m]* (open)"}
P_STYLES = {1: "-", 2: "--", 3: ":"}


def cell_rows(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (p, ε, learner): m* with its interval, Thm 3.1′'s rate and m*/rate."""
    keep = ["p", "eps", "learner", "m_star", "m_star_low", "m_star_high", "bound", "num_candidates", "delta",
            "coverage_p", "log_class_size"]
    rows = table.groupby(["p", "eps", "learner"], sort=True).first().reset_index()[keep]
    rows["ratio"] = rows.m_star / rows.bound
    return rows


def p_cells(rows: pd.DataFrame, learner: str, p) -> pd.DataFrame:
    return rows[(rows.learner == learner) & (rows.p == p)].sort_values("eps")


def fit_one(cell: pd.DataFrame, learner: str, p: int) -> tuple[float, dict | None]:
    """κ_p (geometric mean of m*/rate over ε; Δ = 16ε puts 16^(−1/p) into M, a p-dependent constant the rate
    hides) and, with ≥ 3 finite points, the slope of m* in ε with the theorem curve's slope and exponent."""
    finite = cell.ratio[np.isfinite(cell.ratio)]
    kappa = float(np.exp(np.mean(np.log(finite)))) if len(finite) else math.nan
    x, y = cell.eps.to_numpy(float), cell.m_star.to_numpy(float)
    if len(x) < 3 or not np.all(np.isfinite(y)):
        return kappa, None
    fit = fit_loglog_slope(x, y)
    return kappa, {"slope": fit.slope, "slope_low": fit.slope_low, "slope_high": fit.slope_high,
                   "theorem_curve_slope": fit_loglog_slope(x, cell.bound.to_numpy(float)).slope,
                   "exponent": -(1 + 1 / p) if learner == "bayes" else -1 / p}


def summarize(table: pd.DataFrame) -> dict:
    rows = cell_rows(table)
    constants, slopes = {}, {}
    for learner in LEARNERS:
        constants[learner], slopes[learner] = {}, {}
        for p in sorted(rows.p.unique()):
            kappa, slope = fit_one(p_cells(rows, learner, p), learner, p)
            constants[learner][str(p)] = kappa
            if slope is not None:
                slopes[learner][str(p)] = slope
    rows["ratio_to_fit"] = [row.ratio / constants[row.learner][str(row.p)] for row in rows.itertuples()]
    band = {learner: [float(np.nanmin(rows[rows.learner == learner].ratio_to_fit)),
                      float(np.nanmax(rows[rows.learner == learner].ratio_to_fit))] for learner in LEARNERS}
    return {"constants": constants, "slopes": slopes, "ratio_band": band,
            "cells": rows.replace([np.inf], None).to_dict(orient="records")}


def _eps_axis(ax, rows) -> None:
    ticks = sorted(rows.eps.unique())
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([f"1/{1 / t:g}" for t in ticks])


def _face(learner: str) -> dict:
    return {"markerfacecolor": "none"} if learner == "bayes_adaptive" else {}


def _panel_learner(ax, rows, summary, learner: str) -> None:
    """m* (E[m]* adaptively) against ε, one series per p, with κ_p·(Thm 3.1′ rate) and the fitted slopes."""
    colors, ps = plotting.plt.get_cmap("viridis"), sorted(rows.p.unique())
    for index, p in enumerate(ps):
        color, cell = colors(index / max(1, len(ps) - 1) * 0.85), p_cells(rows, learner, p)
        kappa, slope = summary["constants"][learner][str(p)], summary["slopes"][learner].get(str(p))
        label = rf"p = {p}, $\kappa_p$={kappa:.3g}"
        if slope is not None:
            label += (f": slope {slope['slope']:.2f} [{slope['slope_low']:.2f}, {slope['slope_high']:.2f}] "
                      f"(curve {slope['theorem_curve_slope']:.2f})")
        y = cell.m_star.to_numpy(float)
        high = np.where(np.isfinite(cell.m_star_high), cell.m_star_high, y)
        plotting.errorbar_points(ax, cell.eps, y, cell.m_star_low, high, color=color, marker=MARKERS[learner],
                                 label=label, **_face(learner))
        ax.plot(cell.eps, kappa * cell.bound, color=color, linestyle=P_STYLES.get(p, "-."), linewidth=1.1)
    _eps_axis(ax, rows)
    ax.set_xlabel(r"target error $\varepsilon$ ($\Delta=16\varepsilon$, $M\asymp C\varepsilon^{-1/p}$)")
    adaptive = learner == "bayes_adaptive"
    ax.set_ylabel(r"$E[m]^*$ (mean samples to reach $1-\varepsilon$)" if adaptive
                  else r"$m^*$ (samples to reach $1-\varepsilon$)")
    ax.set_title("(b) Bayes-optimal, adaptive oracle, E[m]*" if adaptive else "(a) Bayes-optimal, non-adaptive, m*",
                 fontsize=9)
    ax.plot([], [], color="black", linestyle="--",
            label=(r"Thm 3.1′ (adaptive): $\kappa C\log|\Pi|/(\varepsilon^{1/p}(1+\log(C\varepsilon^{-1/p})))$"
                   if adaptive else r"Thm 3.1′: $\kappa C\log|\Pi|/(\varepsilon^{1+1/p}(1+\log(C\varepsilon^{-1/p})))$")
            + r", $\kappa_p$ fitted per p; line style = p")


def _panel_ratio(ax, rows, summary) -> None:
    """m*/(κ_p·rate) for every (p, ε) with the m* interval carried through; κ_p is fitted on these cells."""
    for learner in LEARNERS:
        part = rows[rows.learner == learner]
        scale = part.bound * [summary["constants"][learner][str(p)] for p in part.p]
        y = (part.m_star / scale).to_numpy(float)
        high = np.where(np.isfinite(part.m_star_high), part.m_star_high / scale, y)
        plotting.errorbar_points(ax, part.eps, y, part.m_star_low / scale, high, marker=MARKERS[learner],
                                 color=COLORS[learner], label=f"{NAMES[learner]}, all p", **_face(learner))
    ax.axhline(1.0, color="black", linestyle="--", linewidth=1, label=r"ratio 1: the fitted $\kappa_p\cdot$rate")
    _eps_axis(ax, rows)
    ax.set_xlabel(r"target error $\varepsilon$")
    ax.set_ylabel(r"$m^*$ or $E[m]^*$ $/\,(\kappa_p\cdot$rate$)$")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.set_title(r"(c) measured / bound, every (p, ε); $\kappa_p$ fitted on these cells", fontsize=9)


def plot(summary: dict, table: pd.DataFrame, path) -> None:
    rows = cell_rows(table)
    figure, (ax_plain, ax_adaptive, ax_ratio) = plotting.new_figure(3, width_per_panel=5.2, height=4.6)
    _panel_learner(ax_plain, rows, summary, "bayes")
    _panel_learner(ax_adaptive, rows, summary, "bayes_adaptive")
    _panel_ratio(ax_ratio, rows, summary)
    for ax in (ax_plain, ax_adaptive, ax_ratio):
        ax.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=1)
    seeds = int(table.trials.min()) // NUM_RARE
    plotting.footnote(figure, f"Monte Carlo through the oracle, I ~ Uniform([M]^d) per seed, {seeds} seeds × d = "
                      f"{NUM_RARE} coordinates per budget; C_cov,γ,p ≈ {COVERAGE:g}, γ = 1/2; m* = smallest budget with "
                      "coordinate error ≤ 1/16, bars from per-budget 95% Wilson intervals; slopes: least squares on "
                      "log-log axes, 95% t-intervals; κ_p: geometric mean of m*/rate over ε, one per (oracle model, p).")
    figure.subplots_adjust(bottom=0.42, wspace=0.3)
    atomic_save_figure(figure, path)
    plotting.close(figure)
