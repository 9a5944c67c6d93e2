"""bon_coverage analysis: samples needed per cell (order-statistic interval), log-log slopes on C_cov, the exact
law of best-of-N (Proposition C.1's event, exactly), and the three-panel figure.

Panels: (a) needle and (b) two_type success against N, Monte Carlo with 95% Wilson intervals, the exact curve from
``best_of_n_law`` and Proposition C.1's sufficient N; (c) samples needed against C_cov (log-log) with fitted slopes,
the exact values and Proposition C.1's sufficient N.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim import theory
from sharpsim.algorithms.best_of_n import best_of_n_law
from sharpsim.measure.statistics import fit_loglog_slope, quantile_interval, wilson_interval
from sharpsim.referee.quantities import argmax_mass, coverage_coefficient, sharpness
from sharpsim.runner import figures as plotting
from sharpsim.runner.sweep import atomic_save_figure

from .sweep import RHO, TWO_TYPE_P_HI, TWO_TYPE_WEIGHT_LO, instance

FAMILIES = ("needle", "two_type")
CURVE_POINTS = 28  # N values per Monte-Carlo success curve (log-spaced)


@jax.jit
def _exact_success(policy, n):
    """E_{x∼μ}[ P(BoN_n(x) ∈ y*(x)) ] from the exact law of best-of-n."""
    return jnp.sum(policy.prompt_probs * sharpness(best_of_n_law(policy, n), policy))


def exact_success(policy, ns) -> np.ndarray:
    return np.asarray(jax.vmap(lambda n: _exact_success(policy, n))(jnp.asarray(ns, dtype=jnp.float64)))


def exact_samples_needed(policy, rho: float, high: int = 2**20) -> int:
    """Smallest N with exact success ≥ 1 − ρ (bisection; success is increasing in N)."""
    low = 1
    if float(_exact_success(policy, 1.0)) >= 1 - rho:
        return 1
    while float(_exact_success(policy, float(high))) < 1 - rho:
        high *= 2
    while high - low > 1:
        middle = (low + high) // 2
        if float(_exact_success(policy, float(middle))) >= 1 - rho:
            high = middle
        else:
            low = middle
    return high


def shown_levels(levels) -> list:
    """The (at most five) coverage levels whose success curves panels (a, b) draw."""
    return list(levels[:: max(1, len(levels) // 4)][:5])


def first_success_times(cell) -> np.ndarray:
    """Each seed's first successful N, with ∞ for seeds censored at max_samples (no success)."""
    first = cell.first_success_n.to_numpy().astype(float)
    first[first == 0] = np.inf
    return first


def success_curve(first: np.ndarray, max_samples: int):
    """Monte-Carlo success at log-spaced N: (ns, successes, Wilson low, Wilson high)."""
    ns = np.unique(np.geomspace(1, max_samples, CURVE_POINTS).astype(int))
    successes = (first[None, :] <= ns[:, None]).sum(axis=1)
    low, high = wilson_interval(successes, len(first))
    return ns, successes, low, high


def _cell_summary(family: str, level: float, cell) -> dict:
    policy = instance(family, level)
    estimate, lower, upper = quantile_interval(first_success_times(cell), 1 - RHO)
    p_min = float(np.min(np.asarray(argmax_mass(policy))))
    return {"family": family, "coverage": float(level), "coverage_computed": float(coverage_coefficient(policy)),
            "samples_needed": estimate, "samples_needed_low": lower, "samples_needed_high": upper,
            "samples_needed_exact": exact_samples_needed(policy, RHO),
            "prop_c1_sufficient_n": float(theory.prop_c1_num_samples(p_min, RHO)), "seeds": int(len(cell))}


def _slope(cells: list[dict]) -> dict | None:
    """Log-log slope of samples needed on C_cov (measured, with its t-interval, and exact)."""
    levels = np.array([c["coverage"] for c in cells], dtype=float)
    estimates = np.array([c["samples_needed"] for c in cells])
    if len(levels) < 3 or not np.all(np.isfinite(estimates)):
        return None
    fit = fit_loglog_slope(levels, estimates)
    return {"slope": fit.slope, "slope_low": fit.slope_low, "slope_high": fit.slope_high,
            "exact_slope": fit_loglog_slope(levels, [c["samples_needed_exact"] for c in cells]).slope}


def _wilson_coverage(table, family: str, level: float) -> tuple[int, int]:
    """(points whose Wilson interval contains the exact success, points) on one drawn success curve."""
    cell = table[(table.family == family) & (table.coverage == level)]
    ns, _, low, high = success_curve(first_success_times(cell), int(cell.max_samples.iloc[0]))
    exact = exact_success(instance(family, level), ns)
    return int(np.sum((low <= exact) & (exact <= high))), int(ns.size)


def summarize(table) -> dict:
    cells, slopes = [], {}
    covered = {"inside": 0, "points": 0}  # MC points whose Wilson interval contains the exact success probability
    for family in FAMILIES:
        rows = table[table.family == family]
        levels = sorted(rows.coverage.unique())
        mine = [_cell_summary(family, level, rows[rows.coverage == level]) for level in levels]
        cells += mine
        for level in shown_levels(levels):
            inside, points = _wilson_coverage(table, family, level)
            covered["inside"] += inside
            covered["points"] += points
        slope = _slope(mine)
        if slope is not None:
            slopes[family] = slope
    return {"rho": RHO, "slopes": slopes, "cells": cells, "exact_inside_wilson_interval": covered}


def _panel_success(ax, family: str, table, letter: str) -> None:
    """Success of best-of-N against N for the shown levels: MC with Wilson bars, exact law, Prop. C.1's N."""
    rows = table[table.family == family]
    levels = sorted(rows.coverage.unique())
    if not levels:
        ax.set_axis_off()
        ax.text(0.5, 0.5, f"{family}: not in this run's grid", ha="center", transform=ax.transAxes)
        return
    shown = shown_levels(levels)
    colors = plotting.plt.get_cmap("viridis")
    for index, level in enumerate(shown):
        color = colors(index / max(1, len(shown) - 1) * 0.85)
        cell = rows[rows.coverage == level]
        policy, max_samples = instance(family, level), int(cell.max_samples.iloc[0])
        first = first_success_times(cell)
        ns, successes, low, high = success_curve(first, max_samples)
        plotting.errorbar_points(ax, ns, successes / len(first), low, high, color=color,
                                 label=rf"MC, $C_{{cov}}$={level:g}")
        dense = np.unique(np.geomspace(1, max_samples, 200).astype(int))
        ax.plot(dense, exact_success(policy, dense), color=color, **plotting.EXACT_STYLE)
        p_min = float(np.min(np.asarray(argmax_mass(policy))))
        ax.axvline(theory.prop_c1_num_samples(p_min, RHO), color=color, linestyle=":", linewidth=1)
    ax.axhline(1 - RHO, color="0.5", linewidth=0.8)
    ax.plot([], [], color="0.3", **plotting.EXACT_STYLE, label=r"exact: law of BoN$_N$")
    ax.plot([], [], color="0.3", linestyle=":", label=r"Prop. C.1: $N=\log(1/\rho)/\min_x p^*$")
    ax.plot([], [], color="0.5", linewidth=0.8, label=rf"$1-\rho$ ($\rho$={RHO})")
    ax.set_xscale("log")
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel("N (samples per prompt)")
    ax.set_ylabel(r"$P_{x\sim\mu}[\,\mathrm{BoN}_N(x)\in y^*(x)\,]$")
    ax.set_title(f"({letter}) {family}: success of best-of-N")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=2)


def _panel_needed(ax, summary: dict) -> None:
    """Samples needed against C_cov: MC quantiles with order-statistic intervals, exact values, Prop. C.1."""
    for family, marker, style in (("needle", "o", "-"), ("two_type", "s", "-.")):
        cells = [c for c in summary["cells"] if c["family"] == family]
        if not cells:
            continue
        levels = np.array([c["coverage"] for c in cells])
        label = f"MC {family}"
        if family in summary["slopes"]:
            fit = summary["slopes"][family]
            label += f": slope {fit['slope']:.3f} [{fit['slope_low']:.3f}, {fit['slope_high']:.3f}]"
        plotting.errorbar_points(ax, levels, [c["samples_needed"] for c in cells],
                                 [c["samples_needed_low"] for c in cells], [c["samples_needed_high"] for c in cells],
                                 marker=marker, label=label)
        ax.plot(levels, [c["samples_needed_exact"] for c in cells], color="0.4", linewidth=1, linestyle=style,
                label=f"exact {family}")
    coverages = [c["coverage"] for c in summary["cells"]]
    grid = np.geomspace(min(coverages), max(coverages), 50)
    ax.plot(grid, grid * np.log(1 / RHO), **plotting.THEORY_STYLE, label=r"Prop. C.1, needle: $N=C_{cov}\log(1/\rho)$")
    easy = (1 - TWO_TYPE_WEIGHT_LO) / TWO_TYPE_P_HI
    ax.plot(grid, np.log(1 / RHO) * (grid - easy) / TWO_TYPE_WEIGHT_LO, color="0.5", linestyle="--", linewidth=1.2,
            label=r"Prop. C.1, two_type: $N=\log(1/\rho)/p_{lo}$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"coverage coefficient $C_{cov}=E_x[1/\pi_{base}(y^*(x)|x)]$")
    ax.set_ylabel(rf"samples needed $N_\rho$ for success $\geq 1-\rho$ ($\rho$={RHO})")
    ax.set_title("(c) samples needed vs coverage")
    ax.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=2)


def plot(summary: dict, table, path) -> None:
    figure, (ax_needle, ax_two, ax_needed) = plotting.new_figure(3, height=5.4)
    _panel_success(ax_needle, "needle", table, "a")
    _panel_success(ax_two, "two_type", table, "b")
    _panel_needed(ax_needed, summary)
    seeds = int(table.groupby("cell_id").size().min())
    plotting.footnote(figure, f"Monte Carlo over {seeds} seeds per cell through the oracle: (a, b) 95% Wilson "
                      "intervals; (c) 95% order-statistic intervals for the (1−ρ)-quantile of the first successful N; "
                      "slopes by least squares on log-log axes with 95% t-intervals.")
    figure.subplots_adjust(bottom=0.33, wspace=0.32)
    atomic_save_figure(figure, path)
    plotting.close(figure)
