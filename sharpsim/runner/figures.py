"""Figure helpers shared by the experiments: one look for Monte-Carlo points with intervals, exact curves,
theory overlays (always labeled with the theorem) and fitted slopes.

Convention: Monte-Carlo estimates are markers with error bars (the interval method goes in the legend or a
footnote); exact computations are solid lines; theorems are dashed black/grey lines named by number.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: figures are files, never windows

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sharpsim.measure.statistics import SlopeFit, wilson_interval  # noqa: E402
from sharpsim.runner.sweep import atomic_save_figure  # noqa: E402

THEORY_STYLE = dict(color="black", linestyle="--", linewidth=1.2)
EXACT_STYLE = dict(linewidth=1.6)


def new_figure(num_panels: int, width_per_panel: float = 4.6, height: float = 3.9):
    figure, axes = plt.subplots(1, num_panels, figsize=(width_per_panel * num_panels, height), squeeze=False)
    return figure, list(axes[0])


def errorbar_points(ax, x, estimate, lower, upper, label=None, color=None, marker="o", **kwargs):
    """Monte-Carlo estimates with asymmetric interval bars."""
    estimate = np.asarray(estimate, dtype=float)
    yerr = np.vstack([estimate - np.asarray(lower, float), np.asarray(upper, float) - estimate])
    return ax.errorbar(x, estimate, yerr=np.clip(yerr, 0, None), fmt=marker, markersize=4, capsize=2,
                       linestyle="none", label=label, color=color, **kwargs)


def annotate_slope(ax, fit: SlopeFit, text_prefix: str, location=(0.03, 0.97), color="black"):
    """Print a fitted log-log slope with its interval inside the axes (top-left by default)."""
    ax.text(*location, f"{text_prefix}: {fit.describe('slope')}", transform=ax.transAxes, va="top", ha="left",
            fontsize=8, color=color, bbox=dict(facecolor="white", edgecolor="none", alpha=0.8))


def footnote(figure, text: str) -> None:
    figure.text(0.5, 0.01, text, ha="center", va="bottom", fontsize=8, color="0.3", wrap=True)


def close(figure) -> None:
    plt.close(figure)


def plot_thresholds(ax, x, stats, label, marker="o", color=None):
    """m* (``stats``: dicts with m_star, m_low, m_high) with its interval; an infinite upper end (not reached) is
    drawn up to twice the largest finite value."""
    estimate = np.array([s["m_star"] for s in stats])
    low = np.array([s["m_low"] for s in stats])
    high = np.array([s["m_high"] for s in stats])
    finite_top = np.nanmax(np.where(np.isfinite(high), high, estimate)) * 2
    high = np.where(np.isfinite(high), high, finite_top)
    return errorbar_points(ax, x, estimate, low, high, label=label, marker=marker, color=color)


def plot_success_curves(ax, table, key: str, levels, label_of, target: float, xlabel: str, title: str, colors=None):
    """Panel (a) of the SFT searches: the success fraction against m for each level of ``key`` (Monte Carlo,
    95% Wilson intervals), the 1 − ρ line, and the shared y label."""
    colors = colors or plt.get_cmap("viridis")
    for index, level in enumerate(levels):
        rows = table[table[key] == level].sort_values("samples")
        low, high = wilson_interval(rows.successes, rows.trials)
        fraction = rows.successes / rows.trials
        color = colors(index / max(1, len(levels) - 1) * 0.85)  # 0.85: the yellow end of viridis is unreadable
        errorbar_points(ax, rows.samples, fraction, low, high, color=color, label=label_of(level))
        ax.plot(rows.samples, fraction, color=color, linewidth=0.6, alpha=0.6)
    ax.axhline(target, color="0.5", linewidth=0.8, linestyle=":", label=rf"target $1-\rho$ = {target:g}")
    ax.set_xscale("log")
    ax.set_ylim(-0.03, 1.05)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(r"$P[\,\hat\pi$ is $(\epsilon,\delta)$-sharpened$\,]$")
    ax.set_title(title, fontsize=9)


def plot_allocation_profiles(ax, table, key: str, levels, label_of, target: float, shape: str = "num_samples",
                             colors=None) -> None:
    """The allocation landscape behind an algorithm's own m*: for each level of ``key``, m*(shape) — the least
    queries at that shape (e.g. N) with success ≥ ``target`` — against the shape, with its interval; the optimum
    (the minimum over shapes, ``measure.allocation``) is ringed. Infeasible shapes are not drawn."""
    from sharpsim.measure.allocation import shape_thresholds

    colors = colors or plt.get_cmap("viridis")
    for index, level in enumerate(levels):
        rows = table[(table[key] == level) & table["shape_index"].notna()]
        profile = [p for p in shape_thresholds(rows, target, [shape]) if np.isfinite(p["m"])]
        if not profile:
            continue
        color = colors(index / max(1, len(levels) - 1) * 0.85)
        x = [p[shape] for p in profile]
        high = [p["m_high"] if np.isfinite(p["m_high"]) else 2 * p["m"] for p in profile]
        errorbar_points(ax, x, [p["m"] for p in profile], [p["m_low"] for p in profile], high, color=color,
                        label=label_of(level))
        ax.plot(x, [p["m"] for p in profile], color=color, linewidth=0.6, alpha=0.6)
        best = min(profile, key=lambda p: p["m"])
        ax.plot([best[shape]], [best["m"]], marker="o", markersize=9, markerfacecolor="none", color=color)
    ax.set_xscale("log")
    ax.set_yscale("log")


def search_footnote(table, instance: str, simulation: str = "runs simulated exactly in law") -> str:
    """The method line under every SFT sample-complexity figure: seeds, simulation, intervals, slope fit."""
    seeds = int(table.trials.iloc[0])
    return (f"{seeds} seeds per budget (common random numbers), {simulation}; 95% Wilson intervals per budget; "
            "m* interval = budgets whose Wilson bounds straddle 1−ρ; slopes: least squares on log-log axes, "
            f"95% t-intervals. {instance}")


def plain_log_ticks(ax, axis: str = "x") -> None:
    """Log axis with plain-number major labels and unlabeled minor ticks (no '3×10⁰' clutter)."""
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    if axis not in ("x", "y"):
        raise ValueError(f"axis must be 'x' or 'y', got {axis!r}")
    target = ax.xaxis if axis == "x" else ax.yaxis
    formatter = ScalarFormatter()
    formatter.set_scientific(False)
    target.set_major_formatter(formatter)
    target.set_minor_formatter(NullFormatter())


def finish(figure, axes, footnote_text: str, figure_path, wspace: float = 0.3) -> None:
    """Legends below the panels, a footnote, then save atomically and close (the layout of bon_coverage)."""
    for ax in axes:
        handles, labels = ax.get_legend_handles_labels()
        if handles:
            columns = 1 if len(handles) <= 3 or max(len(label) for label in labels) > 45 else 2
            ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=columns)
    footnote(figure, footnote_text)
    figure.subplots_adjust(bottom=0.4, wspace=wspace)
    atomic_save_figure(figure, figure_path)
    close(figure)
