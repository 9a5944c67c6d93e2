"""xpo_vs_sft analysis: m* per (d, learner) from the stored budget search, growth fits (log m* on d, log m* on
log d), the first d at which XPO, α = 0 (on-policy regression, no exploration bonus) beats SFT, and the two-panel
figure.

Panels: (a) m* against d (log scale) for every learner, with SFT's exact m*, C_cov and the Theorem 4.1 / 4.3 rates
scaled to the first point; (b) m*/d (flat = linear in d) with the fitted log-log slopes.
"""

from __future__ import annotations

import math

import numpy as np

from sharpsim.measure.complexity import threshold_from_table
from sharpsim.measure.statistics import fit_loglog_slope
from sharpsim.runner import figures as plotting
from sharpsim.runner.sweep import atomic_save_figure
from sharpsim.theory.rlhf import lemma_j5_sec_bound

from .sweep import DELTA, METHODS, NUM_VALIDATION, RHO, constants, max_rounds

LABELS = {"sft": "SFT-Sharpening (n = 1)",
          "xpo_alpha0": "XPO, $\\alpha=0$\n(on-policy regression, no exploration bonus)",  # two lines: fits the legend
          "xpo_alpha_small": r"XPO, $\alpha=10^{-3}\alpha_{J.2}$", "xpo_alpha_thm": r"XPO, $\alpha=\alpha_{J.2}$"}
MARKERS = {"sft": "s", "xpo_alpha0": "o", "xpo_alpha_small": "^", "xpo_alpha_thm": "v"}


def cell_rows(table) -> list[dict]:
    """One row per (d, learner): m* with its interval, m* including validation, and the cell's constants."""
    rows = []
    for (dimension, method), cell in table.groupby(["dimension", "method"], sort=True):
        estimate, lower, upper = threshold_from_table(cell.budget, cell.successes, cell.trials, 1 - RHO)
        first = cell.iloc[0]
        rows.append({"dimension": int(dimension), "method": method, "m_star": estimate, "m_star_lower": lower,
                     "m_star_upper": upper, "m_star_with_validation": float(first.threshold_with_validation),
                     "m_star_with_validation_upper": float(first.threshold_with_validation_upper),
                     "num_responses": int(first.num_responses), "coverage": float(first.coverage),
                     "margin": float(first.margin), "beta": float(first.beta), "alpha": float(first.alpha),
                     "exact_sft_threshold": float(first.exact_threshold),
                     "sft_fit_mass_at_optimum": float(first.fit_mass_at_optimum),
                     "xpo_last_iterate_success": float(first.last_iterate_success),
                     "max_budget": float(cell.budget.max()), "seeds": int(cell.trials.iloc[0])})
    return rows


def growth_fits(rows) -> dict:
    """log m* against d (exponential growth rate) and log m* against log d (polynomial degree), per method."""
    fits = {}
    coverage = sorted({(r["dimension"], r["coverage"]) for r in rows})
    if len(coverage) >= 3:
        d, c = np.array(coverage, dtype=float).T
        fits["coverage"] = {"log_m_per_dimension": fit_loglog_slope(np.exp(d), c).slope}
    for method in METHODS:
        points = [(r["dimension"], r["m_star"]) for r in rows if r["method"] == method and math.isfinite(r["m_star"])]
        if len(points) >= 3:
            d, m = np.array(points, dtype=float).T
            rate = fit_loglog_slope(np.exp(d), m)  # slope of log m* against d, with its t-interval
            degree = fit_loglog_slope(d, m)
            fits[method] = {"log_m_per_dimension": rate.slope, "log_m_per_dimension_low": rate.slope_low,
                            "log_m_per_dimension_high": rate.slope_high, "loglog_slope": degree.slope,
                            "loglog_slope_low": degree.slope_low, "loglog_slope_high": degree.slope_high,
                            "dimensions": d.tolist()}
    return fits


def first_dimension_beating_sft(rows, method: str = "xpo_alpha0"):
    """The smallest d at which ``method``'s m* is below SFT's (None if never)."""
    for dimension in sorted({r["dimension"] for r in rows}):
        by = {r["method"]: r["m_star"] for r in rows if r["dimension"] == dimension}
        if "sft" in by and method in by and by[method] < by["sft"]:
            return dimension
    return None


def summarize(table) -> dict:
    rows = cell_rows(table)
    return {"delta": DELTA, "rho": RHO, "cells": rows, "growth": growth_fits(rows),
            "first_dimension_xpo_alpha0_beats_sft": first_dimension_beating_sft(rows),
            "labels": {"sft": "SFT-Sharpening (n = 1)",
                       "xpo_alpha0": "XPO, α = 0 (on-policy regression, no exploration bonus)",
                       "xpo_alpha_small": "XPO, α = 1e-3·α_J2", "xpo_alpha_thm": "XPO, α = α_J2"}}


def log_class_size(dimension: int) -> float:
    """log|Π| → log N(Π, ε_disc) = d log(6B/ε_disc) (Lemma J.4) at the XPO cell's T_max."""
    return constants(dimension)["log_net_size"]


def _sorted_rows(summary: dict, method: str) -> list[dict]:
    return sorted((r for r in summary["cells"] if r["method"] == method), key=lambda r: r["dimension"])


def _draw_method(ax, method: str, mine: list[dict]) -> None:
    """One learner's m* with intervals, arrows where m* lies beyond the largest budget, XPO's total with validation."""
    d = np.array([r["dimension"] for r in mine], dtype=float)
    est, low, high = (np.array([r[k] for r in mine]) for k in ("m_star", "m_star_lower", "m_star_upper"))
    reached = np.isfinite(est)
    if reached.any():
        plotting.errorbar_points(ax, d[reached], est[reached], low[reached],
                                 np.where(np.isfinite(high), high, est)[reached], marker=MARKERS[method],
                                 label=LABELS[method])
    censored = [r for r in mine if not math.isfinite(r["m_star"])]
    for r in censored:
        ax.annotate("", xy=(r["dimension"], r["max_budget"] * 1.8), xytext=(r["dimension"], r["max_budget"]),
                    arrowprops=dict(arrowstyle="->", color="C3"))
    if censored:
        ax.plot([], [], marker=r"$\uparrow$", color="C3", linestyle="none", markersize=9,
                label=LABELS[method] + r": not sharp by $T_{max}$ (m* > arrow base)")
    if method.startswith("xpo") and reached.any():
        with_validation = np.array([r["m_star_with_validation"] for r in mine])
        ax.plot(d[reached], with_validation[reached], linestyle=":", marker=MARKERS[method], fillstyle="none",
                color="0.5", label=LABELS[method] + " incl. validation")


def _draw_theory(ax, summary: dict) -> None:
    """SFT's exact m*, C_cov, and the Theorem 4.1 / 4.3 rates scaled through the first measured point."""
    sft_rows = _sorted_rows(summary, "sft")
    if sft_rows:
        d = np.array([r["dimension"] for r in sft_rows], dtype=float)
        coverage = np.array([r["coverage"] for r in sft_rows])
        ax.plot(d, [r["exact_sft_threshold"] for r in sft_rows], color="C0", linewidth=1.2,
                label=r"SFT exact: $\lceil\log\rho/\log(1-1/C_{cov})\rceil$")
        ax.plot(d, coverage, color="0.3", linewidth=1.0, label=r"$C_{cov}=1/\pi_{base}(y^*)$ (exact)")
        if math.isfinite(sft_rows[0]["m_star"]):
            rate = coverage * np.array([log_class_size(int(x)) for x in d])
            ax.plot(d, sft_rows[0]["m_star"] * rate / rate[0], **plotting.THEORY_STYLE,
                    label=r"Thm 4.1 rate $\propto C_{cov}\log|\Pi|$ (scaled)")
    xpo_rows = _sorted_rows(summary, "xpo_alpha0")
    if xpo_rows and math.isfinite(xpo_rows[0]["m_star"]):
        d = [r["dimension"] for r in xpo_rows]
        rate = np.array([lemma_j5_sec_bound(x, max_rounds(x)) * log_class_size(x) for x in d])
        ax.plot(d, xpo_rows[0]["m_star"] * rate / rate[0], color="0.5", linestyle="--", linewidth=1.2,
                label=r"Thm 4.3 rate $\propto$ SEC$\cdot\log|\Pi|$ (scaled)")


def _panel_complexity(ax, summary: dict) -> None:
    for method in METHODS:
        mine = _sorted_rows(summary, method)
        if mine:
            _draw_method(ax, method, mine)
    _draw_theory(ax, summary)
    ax.set_yscale("log")
    ax.set_xlabel("dimension d")
    ax.set_ylabel(r"queries $m^*$ for $\pi(y^*)\geq 1-\delta$ w.p. $\geq 1-\rho$")
    ax.set_title(r"(a) sample complexity on sphere (Example J.1)")
    ax.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)


def _growth_label(method: str, fit: dict | None) -> str:
    """SFT's exponential rate (log m* per unit d), XPO's polynomial degree (log-log slope), with 95% t-intervals."""
    if fit is None:
        return LABELS[method]
    if method == "sft":
        return LABELS[method] + (rf": $m^*\propto e^{{rd}}$, r = {fit['log_m_per_dimension']:.2f} "
                                 f"[{fit['log_m_per_dimension_low']:.2f}, {fit['log_m_per_dimension_high']:.2f}]")
    return LABELS[method] + (f": log-log slope {fit['loglog_slope']:.2f} "
                             f"[{fit['loglog_slope_low']:.2f}, {fit['loglog_slope_high']:.2f}]")


def _panel_ratio(ax, summary: dict) -> None:
    for method in ("sft", "xpo_alpha0", "xpo_alpha_small"):
        mine = [r for r in _sorted_rows(summary, method) if math.isfinite(r["m_star"])]
        if not mine:
            continue
        d = np.array([r["dimension"] for r in mine], dtype=float)
        ratio = np.array([r["m_star"] for r in mine]) / d
        low = np.array([r["m_star_lower"] for r in mine]) / d
        high = np.array([r["m_star_upper"] if math.isfinite(r["m_star_upper"]) else r["m_star"] for r in mine]) / d
        ax.errorbar(d, ratio, yerr=np.clip([ratio - low, high - ratio], 0, None), marker=MARKERS[method],
                    markersize=5, capsize=2, label=_growth_label(method, summary["growth"].get(method)))
    ax.set_yscale("log")
    ax.set_xlabel("dimension d")
    ax.set_ylabel(r"$m^*/d$")
    ax.set_title(r"(b) $m^*/d$: flat = linear in d")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=1)


def plot(summary: dict, table, path) -> None:
    figure, (ax, ax_ratio) = plotting.new_figure(2, width_per_panel=5.6, height=5.4)
    _panel_complexity(ax, summary)
    _panel_ratio(ax_ratio, summary)
    seeds = int(min(r["seeds"] for r in summary["cells"]))
    plotting.footnote(figure, f"δ = {DELTA}, ρ = {RHO}; {seeds} seeds per point (common random numbers); bars: 95% "
                      "Wilson intervals per budget turned into an interval on m* (complexity.sample_complexity); an "
                      "arrow marks m* beyond the largest budget tried. XPO m = 2T (1 sample + 1 evaluation per "
                      f"round); dotted: + {NUM_VALIDATION}(T+1) validation evaluations. Theory rates scaled to the "
                      "first point (constants unspecified); (b) fits: least squares of log m* on d (SFT) or on log d "
                      "(XPO), 95% t-intervals.")
    figure.subplots_adjust(bottom=0.46, wspace=0.3)
    atomic_save_figure(figure, path)
    plotting.close(figure)
