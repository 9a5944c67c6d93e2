"""xpo_alpha analysis: m* per (α, objective scale), the window of α that is sharp, the largest sharp α after T
rounds, and the horizon at which Theorem J.2's α_J2(T) would enter that window (two extrapolations, stated).

Extrapolation. α_crit(T) is the α at which the success fraction after T rounds crosses 1 − ρ on the upper side of
the sharp window, interpolated linearly in log α between grid points ("unit" runs, curve rows). Theorem J.2's α
is sharp only once α_J2(T) ≤ α_crit(T). Two fits give T_needed, and neither claims more than its model:
(i) α_crit held at its value at T_max. Both parts of the objective grow ∝ T, so the optimism's bias has a
T-independent population limit. (ii) a power law α_crit(T) = a·T^b fitted by least squares on log-log axes over the
second half of [1, T_max] (the points come from the same runs and are not independent, so the slope's t-interval is
nominal). α_J2(T) is the closed form of ``xpo_constants`` at each T. Theorem J.2's own condition on T
(``thm_j2_min_rounds``, constant C = 1) is evaluated too.
"""

from __future__ import annotations

import math

import numpy as np

from sharpsim.measure.complexity import threshold_from_table
from sharpsim.measure.first_success import bon_samples_needed
from sharpsim.measure.rlhf_engine import xpo_constants
from sharpsim.measure.statistics import fit_loglog_slope
from sharpsim.runner import figures as plotting
from sharpsim.runner.sweep import atomic_save_figure
from sharpsim.theory.rlhf import thm_j2_min_rounds

from .sweep import DELTA, EPS, NUM_VALIDATION, RHO, instance

LABEL_ZERO = r"XPO, $\alpha=0$ (on-policy regression, no exploration bonus)"
LABELS = {"unit": r"XPO, objective $\times R_{max}^2$ (same argmin)",
          "thm_scale": r"XPO, objective at the printed scale ($R_{max}$ of Thm J.3)"}


def cell_rows(table) -> list[dict]:
    """One row per (d0, α/α_J2, objective): m* = 2T* with its interval (search rows) and the cell's constants."""
    rows = []
    search = table[table.kind == "search"]
    for (dimension, ratio, objective), cell in search.groupby(["dimension", "alpha_ratio", "objective"], sort=True):
        estimate, lower, upper = threshold_from_table(cell.budget, cell.successes, cell.trials, 1 - RHO)
        first = cell.iloc[0]
        rows.append({"dimension": int(dimension), "alpha_ratio": float(ratio), "objective": objective,
                     "alpha": float(first.alpha), "alpha_thm": float(first.alpha_thm), "m_star": estimate,
                     "m_star_lower": lower, "m_star_upper": upper, "max_budget": 2.0 * float(first.max_rounds),
                     "last_iterate_success": float(first.last_iterate_success), "coverage": float(first.coverage),
                     "margin": float(first.margin), "beta": float(first.beta),
                     "reward_range": float(first.reward_range), "num_responses": int(first.num_responses),
                     "seeds": int(first.trials)})
    return rows


def success_fractions(table, dimension: int, objective: str = "unit"):
    """(α values > 0 sorted, rounds T [R], success fraction [len(α), R]) from the curve rows, over the rounds every
    α > 0 run covers."""
    curve = table[(table.kind == "curve") & (table.objective == objective) & (table.dimension == dimension)
                  & (table.alpha_ratio > 0)]
    alphas = np.array(sorted(curve.alpha.unique()))
    rounds = np.array(sorted(curve.budget.unique())) // 2
    fractions = np.full((alphas.size, rounds.size), np.nan)
    for i, alpha in enumerate(alphas):
        mine = curve[curve.alpha == alpha].sort_values("budget")
        index = np.searchsorted(rounds, mine.budget.to_numpy() // 2)
        fractions[i, index] = mine.successes.to_numpy() / mine.trials.to_numpy()
    keep = ~np.isnan(fractions).any(axis=0)
    return alphas, rounds[keep], fractions[:, keep]


def upper_edge(alphas, fractions, target: float) -> float:
    """The α where the success fraction falls below ``target`` above the largest sharp grid α, interpolated in
    log α; nan when no grid α is sharp, inf when the largest grid α still is."""
    sharp = np.flatnonzero(fractions >= target)
    if sharp.size == 0:
        return math.nan
    top = sharp[-1]
    if top == alphas.size - 1:
        return math.inf
    f0, f1 = fractions[top], fractions[top + 1]
    weight = (f0 - target) / (f0 - f1) if f0 > f1 else 0.0
    return float(np.exp(np.log(alphas[top]) + weight * (np.log(alphas[top + 1]) - np.log(alphas[top]))))


def alpha_j2(dimension: int, rounds) -> np.ndarray:
    problem = instance(dimension)
    return np.array([xpo_constants(problem, int(t), DELTA, EPS)["alpha_thm"] for t in np.atleast_1d(rounds)])


def first_crossing(dimension: int, critical, start: float, stop: float = 1e16) -> float:
    """The smallest T on a log grid of [start, stop] (40 points per decade) with α_J2(T) ≤ critical(T)."""
    grid = np.unique(np.round(np.geomspace(start, stop, int(40 * math.log10(stop / start)) + 1)))
    below = np.flatnonzero(alpha_j2(dimension, grid) <= critical(grid))
    return float(grid[below[0]]) if below.size else math.inf


def theorem_j2_rounds(dimension: int) -> float:
    """Theorem J.2's condition on T with C = 1, with SEC and log N evaluated at that T (fixed point)."""
    problem, rounds = instance(dimension), 1000
    for _ in range(30):
        fixed = xpo_constants(problem, int(min(rounds, 1e18)), DELTA, EPS)
        rounds = float(thm_j2_min_rounds(fixed["reward_range"], fixed["sec"], fixed["log_net_size"], EPS, DELTA,
                                         fixed["beta"], RHO))
    return rounds


def horizon_extrapolation(table, dimension: int) -> dict:
    """α_crit(T) over the second half of the rounds, the power-law fit, and T_needed by both models."""
    alphas, rounds, fractions = success_fractions(table, dimension)
    edges = np.array([upper_edge(alphas, fractions[:, j], 1 - RHO) for j in range(rounds.size)])
    late = (rounds >= rounds.max() / 2) & np.isfinite(edges)
    result = {"rounds": rounds[late].tolist(), "alpha_crit": edges[late].tolist(),
              "alpha_thm_at_max_rounds": float(alpha_j2(dimension, rounds.max())[0]),
              "theorem_j2_condition_rounds": theorem_j2_rounds(dimension)}
    if late.sum() < 3:
        return result
    final = float(edges[late][-1])
    fit = fit_loglog_slope(rounds[late], edges[late])
    result.update({
        "alpha_crit_at_max_rounds": final,
        "ratio_alpha_thm_to_alpha_crit": result["alpha_thm_at_max_rounds"] / final,
        "fit_slope": fit.slope, "fit_slope_low": fit.slope_low, "fit_slope_high": fit.slope_high,
        "fit_intercept": fit.intercept,
        "rounds_needed_constant": first_crossing(dimension, lambda t: np.full(np.shape(t), final), rounds.max()),
        "rounds_needed_power_law": first_crossing(dimension, fit.predict, rounds.max()),
    })
    return result


def summarize(table) -> dict:
    rows = cell_rows(table)
    dimensions = sorted({r["dimension"] for r in rows})
    per_dimension = {}
    for dimension in dimensions:
        mine = [r for r in rows if r["dimension"] == dimension and r["objective"] == "unit"]
        sharp = [r for r in mine if r["alpha_ratio"] > 0 and math.isfinite(r["m_star"])]
        best = min(sharp, key=lambda r: r["m_star"]) if sharp else None
        coverage = mine[0]["coverage"]
        per_dimension[str(dimension)] = {
            "coverage": coverage,
            "alpha_zero_reference_m": 2.0 * bon_samples_needed(coverage, RHO),
            "sharp_window_alpha_ratio": [min(r["alpha_ratio"] for r in sharp), max(r["alpha_ratio"] for r in sharp)]
            if sharp else None,
            "best": best,
            "extrapolation": horizon_extrapolation(table, dimension),
        }
    return {"delta": DELTA, "rho": RHO, "eps": EPS, "cells": rows, "per_dimension": per_dimension}


def _draw_zero(ax, row: dict, color: str) -> None:
    """α = 0 has log α = −∞: a horizontal line at its m* with the interval as a band, labelled."""
    if math.isfinite(row["m_star"]):
        ax.axhline(row["m_star"], color=color, linewidth=1.4,
                   label=LABEL_ZERO + rf": $m^*$ = {row['m_star']:.0f} (band: its interval)")
        upper = row["m_star_upper"] if math.isfinite(row["m_star_upper"]) else row["max_budget"]
        ax.axhspan(row["m_star_lower"], upper, color=color, alpha=0.15, linewidth=0)
    else:
        ax.axhline(row["max_budget"], color=color, linewidth=1.4, linestyle="-.",
                   label=LABEL_ZERO + rf": not sharp by $m=2T_{{max}}$ = {row['max_budget']:.0f}")


def _panel_alpha(ax, summary: dict, dimension: int) -> None:
    rows = [r for r in summary["cells"] if r["dimension"] == dimension]
    info = summary["per_dimension"][str(dimension)]
    for objective, color, marker in (("unit", "C0", "o"), ("thm_scale", "C1", "s")):
        mine = sorted((r for r in rows if r["objective"] == objective), key=lambda r: r["alpha_ratio"])
        zero = [r for r in mine if r["alpha_ratio"] == 0]
        if zero and objective == "unit":
            _draw_zero(ax, zero[0], "C2")
        positive = [r for r in mine if r["alpha_ratio"] > 0]
        ratio = np.array([r["alpha_ratio"] for r in positive])
        est = np.array([r["m_star"] for r in positive])
        low = np.array([r["m_star_lower"] for r in positive])
        high = np.array([r["m_star_upper"] for r in positive])
        reached = np.isfinite(est)
        if reached.any():
            plotting.errorbar_points(ax, ratio[reached], est[reached], low[reached],
                                     np.where(np.isfinite(high), high, est)[reached], marker=marker, color=color,
                                     label=LABELS[objective], fillstyle="full" if objective == "unit" else "none")
        for r in positive:
            if not math.isfinite(r["m_star"]):
                ax.annotate("", xy=(r["alpha_ratio"], r["max_budget"] * 1.4), xytext=(r["alpha_ratio"],
                            r["max_budget"]), arrowprops=dict(arrowstyle="->", color=color))
        if (~reached).any():
            ax.plot([], [], marker=r"$\uparrow$", color=color, linestyle="none", markersize=9,
                    label=LABELS[objective] + r": not sharp by $T_{max}$")
    ax.axhline(info["alpha_zero_reference_m"], color="0.4", linestyle=":", linewidth=1.2,
               label=r"$y^*$ only from base samples: $2\lceil\log\rho/\log(1-1/C_{cov})\rceil$")
    ax.axvline(1.0, **plotting.THEORY_STYLE, label=r"$\alpha_{J.2}$ (Thm J.2's $\alpha$ at $T_{max}$)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ratios = [r["alpha_ratio"] for r in rows if r["alpha_ratio"] > 0]
    lows = [r["m_star_lower"] for r in rows if math.isfinite(r["m_star_lower"])] + [info["alpha_zero_reference_m"]]
    ax.set_xlim(min(ratios) / 2, max(ratios) * 2)  # annotations (the arrows) do not extend the limits by themselves
    ax.set_ylim(min(lows) / 1.5, max(r["max_budget"] for r in rows) * 2.5)
    ax.set_xlabel(r"optimism weight $\alpha/\alpha_{J.2}$")
    ax.set_ylabel(r"queries $m^*=2T^*$ for $\pi(y^*)\geq 1-\delta$ w.p. $\geq 1-\rho$")
    ax.set_title(rf"(a) $m^*$ against $\alpha$ (hidden_sphere, $C_{{cov}}$ = {info['coverage']:.0f})")
    ax.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=1)


def _panel_horizon(ax, summary: dict, dimension: int) -> None:
    info = summary["per_dimension"][str(dimension)]["extrapolation"]
    rounds, critical = np.array(info["rounds"]), np.array(info["alpha_crit"])
    if rounds.size:
        ax.plot(rounds, critical, "o", markersize=3, color="C0",
                label=r"measured $\alpha_{crit}(T)$: largest sharp $\alpha$ after $T$ rounds")
    stop = max(10 * max(info.get("rounds_needed_constant", 0), info.get("rounds_needed_power_law", 0), 1), 1e4)
    stop = min(stop, 1e16)
    start = rounds.min() if rounds.size else 10
    horizon = np.geomspace(start, stop, 200)
    ax.plot(horizon, alpha_j2(dimension, horizon), **plotting.THEORY_STYLE, label=r"Thm J.2: $\alpha_{J.2}(T)$")
    if "fit_slope" in info:
        fit_line = np.exp(info["fit_intercept"]) * horizon ** info["fit_slope"]
        ax.plot(horizon, fit_line, color="C0", linewidth=1,
                label=rf"fit $\alpha_{{crit}}\propto T^{{b}}$, b = {info['fit_slope']:.2f} "
                      f"[{info['fit_slope_low']:.2f}, {info['fit_slope_high']:.2f}] (nominal)")
        ax.axhline(info["alpha_crit_at_max_rounds"], color="C0", linestyle=":", linewidth=1,
                   label=r"$\alpha_{crit}$ held at its $T_{max}$ value")
        for key, marker, model in (("rounds_needed_power_law", "*", "power-law fit"),
                                   ("rounds_needed_constant", "X", r"$\alpha_{crit}$ held")):
            if math.isfinite(info[key]):
                ax.plot(info[key], alpha_j2(dimension, info[key])[0], marker=marker, color="C3", markersize=10,
                        linestyle="none", label=rf"$T$ needed at $\alpha_{{J.2}}$ ({model}): {info[key]:.3g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"rounds $T$")
    ax.set_ylabel(r"optimism weight $\alpha$")
    ax.set_title(r"(b) when Thm J.2's $\alpha$ becomes sharp (extrapolated)")
    ax.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=1)


def plot(summary: dict, table, path) -> None:
    dimension = max(int(d) for d in summary["per_dimension"])
    figure, (ax, ax_horizon) = plotting.new_figure(2, width_per_panel=5.8, height=5.4)
    _panel_alpha(ax, summary, dimension)
    _panel_horizon(ax_horizon, summary, dimension)
    seeds = int(min(r["seeds"] for r in summary["cells"]))
    j2 = summary["per_dimension"][str(dimension)]["extrapolation"]["theorem_j2_condition_rounds"]
    plotting.footnote(figure, f"d0 = {dimension}, δ = {DELTA}, ρ = {RHO}; {seeds} seeds per point; bars: 95% Wilson "
                      "intervals per budget turned into an interval on m* (complexity.sample_complexity); arrows: "
                      f"m* beyond 2T_max. m = 2T (validation, {NUM_VALIDATION}(T+1) evaluations, not counted). "
                      f"Theorem J.2's own condition on T (C = 1): T ≥ {j2:.2g}. (b): α_crit(T) interpolated in log α "
                      "between grid points; the fit's interval is nominal (the points share runs).")
    figure.subplots_adjust(bottom=0.42, wspace=0.3)
    atomic_save_figure(figure, path)
    plotting.close(figure)
