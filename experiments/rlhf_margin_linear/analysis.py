"""rlhf_margin_linear analysis: m* = 2n* per (nuisance dimension k, β rule, γ_margin) with its interval (recomputed from
the stored counts, 95% Wilson per budget), the log-log slope of m* on γ_margin (t-interval) beside Theorem 4.2's −2,
and m* against 2d, the budget at which d generic pair differences identify θ exactly."""

from __future__ import annotations

import numpy as np

from sharpsim.measure.complexity import threshold_from_table
from sharpsim.measure.statistics import bootstrap_slope_interval, slope_against_theory
from sharpsim.runner import figures as plotting
from sharpsim.runner.sweep import atomic_save_figure

from .sweep import BEST_BETA, COVERAGE, DELTA, EPS, NUISANCE_SCALE, NUM_RESPONSES, RHO

RULES = {"thm42": ("β = γ_margin·δ·ε (Thm 4.2, c = 1)", "o", "-"),
         "best": (f"β = {BEST_BETA:g} (the algorithm's best β)", "s", "--")}
SMALL_MARGIN = 0.1  # slopes are also fitted on γ_margin ≤ this, where Thm 4.2's γ^{-2} should dominate
RESAMPLES = 2000


def _cells(table):
    for dimension in sorted(int(k) for k in table.nuisance_dimension.unique()):
        for rule in [r for r in RULES if r in set(table.beta_rule)]:
            rows = table[(table.nuisance_dimension == dimension) & (table.beta_rule == rule)]
            yield dimension, rule, rows


def _threshold(rows) -> dict:
    estimate, low, high = threshold_from_table(rows.budget, rows.successes, rows.trials, 1.0 - RHO)
    return {"m_star": float(estimate), "m_low": float(low), "m_high": float(high), "seeds": int(rows.trials.iloc[0]),
            "budgets_evaluated": int(len(rows))}


def _slope(margins, m_star):
    margins, m_star = np.asarray(margins), np.asarray(m_star)
    return slope_against_theory(margins, m_star, margins**-2.0)


def _resampled_thresholds(rows, rng) -> np.ndarray:
    """[RESAMPLES] m* of one cell with successes ∼ Binomial(trials, observed fraction) per budget: the smallest budget
    from which every fraction is ≥ 1 − ρ (``threshold_from_table``'s estimate, vectorized); inf when none."""
    budgets = rows.budget.to_numpy(float)
    trials = rows.trials.to_numpy()
    draws = rng.binomial(trials, rows.successes.to_numpy() / trials, size=(RESAMPLES, len(budgets)))
    passing = draws / trials >= 1.0 - RHO
    suffix = np.flip(np.cumprod(np.flip(passing, axis=1), axis=1), axis=1).astype(bool)  # all pass from here on
    first = np.argmax(suffix, axis=1)
    return np.where(suffix.any(axis=1), budgets[first], np.inf)


def _bootstrap(cells_rows, margins, seed: int = 0):
    """Parametric bootstrap of the slope: per budget successes ∼ Binomial(trials, observed fraction), m* recomputed,
    slope refitted; 95% percentile interval (``bootstrap_slope_interval``). Resamples whose m* is beyond the
    searched budgets are dropped (their count is returned); None on fewer than three margins, like the t-interval."""
    if len(margins) < 3:
        return None
    rng = np.random.default_rng(seed)
    draws = np.stack([_resampled_thresholds(rows, rng) for rows in cells_rows], axis=1)  # [RESAMPLES, margins]
    finite = np.all(np.isfinite(draws), axis=1)
    if not finite.any():
        return {"slope_low": None, "slope_high": None, "resamples": 0, "dropped": int((~finite).sum())}
    low, high = bootstrap_slope_interval(margins, draws[finite])
    return {"slope_low": low, "slope_high": high, "resamples": int(finite.sum()), "dropped": int((~finite).sum())}


def summarize(table) -> dict:
    cells, slopes = [], {}
    for dimension, rule, rows in _cells(table):
        series, cells_rows = [], []
        for margin in sorted(rows.margin.unique()):
            cell = rows[rows.margin == margin].sort_values("budget")
            cells_rows.append(cell)
            entry = {"nuisance_dimension": dimension, "beta_rule": rule, "margin": float(margin),
                     "dimension": int(cell.dimension.iloc[0]), "beta": float(cell.beta.iloc[0]),
                     "fit_inside_ball": bool(cell.fit_inside_ball.min() > 0), **_threshold(cell),
                     "success_by_budget": {str(int(b)): [int(s), int(t)] for b, s, t in
                                           zip(cell.budget, cell.successes, cell.trials)}}
            series.append(entry)
        cells.extend(series)
        margins = [c["margin"] for c in series]
        m_star = [c["m_star"] for c in series]
        small = [i for i, g in enumerate(margins) if g <= SMALL_MARGIN]
        slopes[f"k={dimension},{rule}"] = {
            "all_margins": _slope(margins, m_star),
            f"margin<={SMALL_MARGIN:g}": _slope([margins[i] for i in small], [m_star[i] for i in small]),
            "bootstrap_all_margins": _bootstrap(cells_rows, np.array(margins)),
            "two_d": 2 * series[0]["dimension"],
            "max_m_star_over_two_d": float(max(m_star) / (2 * series[0]["dimension"]))}
    return {"num_responses": NUM_RESPONSES, "coverage": COVERAGE, "nuisance_scale": NUISANCE_SCALE, "delta": DELTA,
            "eps": EPS, "rho": RHO, "best_beta": BEST_BETA, "theory_slope": -2.0, "cells": cells, "slopes": slopes}


def plot(summary: dict, table, path) -> None:
    figure, (left, right) = plotting.plt.subplots(1, 2, figsize=(12, 6.6))
    dimensions = sorted({c["nuisance_dimension"] for c in summary["cells"]})
    for index, dimension in enumerate(dimensions):
        color = f"C{index}"
        for rule, (label, marker, style) in RULES.items():
            series = [c for c in summary["cells"] if c["nuisance_dimension"] == dimension and c["beta_rule"] == rule]
            if not series:
                continue
            margins = np.array([c["margin"] for c in series])
            m_star = np.array([c["m_star"] for c in series])
            low = np.array([c["m_low"] for c in series])
            high = np.array([c["m_high"] for c in series])
            two_d = 2 * series[0]["dimension"]
            offset = 1.0 if rule == "thm42" else 1.06  # side by side: the two β rules often coincide
            for ax, scale in ((left, 1.0), (right, 1.0 / two_d)):
                ax.errorbar(margins * offset, m_star * scale, yerr=[(m_star - low) * scale, (high - m_star) * scale],
                            marker=marker, linestyle=style, color=color, capsize=2, markersize=4,
                            label=f"d = {series[0]['dimension']}, {label}")
        left.axhline(2 * (dimension + 1), color=color, linewidth=0.8, linestyle=":")
    anchor = [c for c in summary["cells"] if c["nuisance_dimension"] == dimensions[-1] and c["beta_rule"] == "thm42"]
    if anchor:
        gm = np.geomspace(min(c["margin"] for c in anchor), max(c["margin"] for c in anchor), 50)
        reference = anchor[-1]
        left.plot(gm, reference["m_star"] * (gm / reference["margin"]) ** -2.0, **plotting.THEORY_STYLE,
                  label=r"Thm 4.2 rate $\propto\gamma_{margin}^{-2}$ (anchored at the largest γ, d = "
                        f"{reference['dimension']})")
    left.set_ylim(2, 4e3)
    right.axhline(1.0, color="gray", linewidth=0.8, linestyle=":")
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(r"margin $\gamma_{margin}$")
    left.set_ylabel(r"$m^* = 2n^*$ (samples), dotted: $m = 2d$")
    right.set_ylabel(r"$m^*/(2d)$")
    plotting.plain_log_ticks(right, "y")
    left.set_title(rf"(a) offline RLHF (Eq. 8), min-norm fit, $C_{{cov}}$ = {COVERAGE:g}, |Y| = {NUM_RESPONSES}",
                   fontsize=10)
    right.set_title(r"(b) normalized by the exact-identification budget 2d", fontsize=10)
    handles, labels = left.get_legend_handles_labels()
    figure.legend(handles, labels, fontsize=7.5, loc="lower center", ncol=2, bbox_to_anchor=(0.5, 0.07))
    seeds = int(table.trials.max())
    plotting.footnote(figure, f"m* = smallest m = 2n with P[π̂(y*) ≥ 1 − δ] ≥ 1 − ρ (δ = {DELTA}, ρ = {RHO}), "
                      f"{seeds} seeds, integer search over n with common random numbers; bars: 95% Wilson intervals "
                      f"per budget (complexity.threshold_from_table). Features φ(y) = (log π_base(y), σz_y), "
                      f"σ = {NUISANCE_SCALE:g}, d = 1 + k.")
    figure.subplots_adjust(bottom=0.34, wspace=0.25)
    atomic_save_figure(figure, path)
    plotting.close(figure)
