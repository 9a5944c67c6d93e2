"""Figure helpers shared by the experiments: one look for Monte-Carlo points with intervals, exact curves,
theory overlays (always labelled with the theorem) and fitted slopes.

Convention: Monte-Carlo estimates are markers with error bars (the interval method goes in the legend or a
footnote); exact computations are solid lines; theorems are dashed black/grey lines named by number.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: figures are files, never windows

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sharpsim.measure.statistics import SlopeFit  # noqa: E402

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
