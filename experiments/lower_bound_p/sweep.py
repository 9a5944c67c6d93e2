"""lower_bound_p: Thm 3.1′'s ε-exponent 1 + 1/p measured with the Bayes-optimal learner on App. H's family.

Claim (Thm 3.1′, γ = 1/2). For every integer p ≥ 1 there is a class with C_cov,γ,p ≲ C and log|Π| ≍ d(1 + log(C
ε^(−1/p))) on which any learner reaching E_I E P_x[π̂(y*_γ(x)|x) > 1/2] ≥ 1 − ε needs

    m ≳ C log|Π| / (ε^(1+1/p) (1 + log(C ε^(−1/p))))          (sample-and-evaluate oracle),
    E[m] ≳ C log|Π| / (ε^(1/p) (1 + log(C ε^(−1/p))))          (adaptive oracle, Def. D.1).

Instance: ``hard_parameters(C, ε, d, p)``: Δ = 16ε and the M whose C_cov,γ,p = ((1 − Δ) + (M(1 − γ))^p Δ)^(1/p) is
closest to C, so M ≍ C ε^(−1/p). The Bayes learners of ``lower_bound`` (the strongest learners, so their m* is an
empirical lower bound for every algorithm) are searched as there (``lower_bound.measure``): m* = smallest budget
with coordinate error ≤ ε/Δ = 1/16 (Lemma H.2), 95% Wilson intervals per budget. Lemma H.3 predicts m* ∝ dM/Δ ∝
ε^(−(1+1/p)) and Lemma H.4 E[m]* ∝ dM ∝ ε^(−1/p): expected slopes in ε of −2, −1.5, −1.33 (non-adaptive) and
−1, −0.5, −0.33 (adaptive) for p = 1, 2, 3, up to the log factor and M's rounding.

Compilation: shapes are padded to the largest instance of the grid, so each learner compiles once per run.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import pandas as pd
from matplotlib.ticker import FixedLocator, NullLocator

from sharpsim.runner import figures as plotting
from sharpsim.experiments.lower_bound import (
    COLORS,
    MARKERS,
    RESOLUTION,
    TARGET_ERROR,
    instance,
    measure,
    measured_records,
    shapes_for,
)
from sharpsim.measure.statistics import fit_loglog_slope
from sharpsim.runner.sweep import Experiment, atomic_save_figure
from sharpsim.theory.bounds import thm_3_1_prime_lower_bound

LEARNERS = ("bayes", "bayes_adaptive")
COVERAGE, NUM_RARE = 4.0, 4
GRID = {"p": [1, 2, 3], "eps": [1 / 32, 1 / 48, 1 / 64, 1 / 96, 1 / 128]}
QUICK_GRID = {"p": [2], "eps": [1 / 32, 1 / 64]}
P_STYLES = {1: "-", 2: "--", 3: ":"}


def point(p: int, eps: float) -> dict:
    return {"coverage": COVERAGE, "eps": float(eps), "d": NUM_RARE, "p": int(p)}


def grid_shapes(grid, extra: dict | None = None) -> dict:
    """Padding for every instance of ``grid`` (so every cell shares one compilation per learner), widened for an
    ``extra`` point outside it (``sharpsim run lower_bound_p --set eps=0.001``)."""
    classes = [instance(point(p, eps)) for p in grid["p"] for eps in grid["eps"]]
    return shapes_for(classes + ([] if extra is None else [instance(extra)]), LEARNERS)


def run_cell(params, key, seeds):
    p, eps = int(params["p"]), float(params["eps"])
    grid = QUICK_GRID if params["scale"] == "quick" else GRID
    shapes = grid_shapes(grid, point(p, eps))
    model_class = instance(point(p, eps), shapes["max_rare"], shapes["max_candidates"])
    keys = jax.random.split(key, seeds)
    coverage_p = float(model_class.coverage(p))
    columns: dict[str, list] = {}
    for learner in LEARNERS:
        records = measured_records(learner, *measure(learner, model_class, keys, shapes, RESOLUTION[params["scale"]]))
        records["bound"] = np.full(records["budget"].size, float(thm_3_1_prime_lower_bound(
            coverage_p, model_class.log_size, eps, p=p, adaptive=learner == "bayes_adaptive")))
        for name, values in records.items():
            columns.setdefault(name, []).extend(np.asarray(values).tolist())
    size = len(columns["budget"])
    extra = {"num_candidates": int(model_class.num_candidates), "delta": float(model_class.delta),
             "coverage_p": coverage_p, "log_class_size": float(model_class.log_size)}
    for name, value in extra.items():
        columns[name] = [value] * size
    return {name: np.asarray(values) for name, values in columns.items()}


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    keep = ["p", "eps", "learner", "m_star", "m_star_low", "m_star_high", "bound", "num_candidates", "delta",
            "coverage_p", "log_class_size"]
    rows = table.groupby(["p", "eps", "learner"], sort=True).first().reset_index()[keep]
    rows["ratio"] = rows.m_star / rows.bound
    return rows


def analyze(table, figure_path):
    rows = summarize(table)
    figure, (ax_plain, ax_adaptive, ax_ratio) = plotting.new_figure(3, width_per_panel=5.2, height=4.6)
    colors = plotting.plt.get_cmap("viridis")
    ps = sorted(rows.p.unique())
    constants, slopes = {}, {}
    for learner, ax in (("bayes", ax_plain), ("bayes_adaptive", ax_adaptive)):
        constants[learner], slopes[learner] = {}, {}
        for index, p in enumerate(ps):
            color = colors(index / max(1, len(ps) - 1) * 0.85)
            cell = rows[(rows.learner == learner) & (rows.p == p)].sort_values("eps")
            finite = cell.ratio[np.isfinite(cell.ratio)]
            # κ_p: the construction's Δ = 16ε puts 16^(−1/p) into M, a p-dependent (bounded) constant the rate hides
            kappa = float(np.exp(np.mean(np.log(finite)))) if len(finite) else math.nan
            constants[learner][str(p)] = kappa
            x, y = cell.eps.to_numpy(float), cell.m_star.to_numpy(float)
            high = np.where(np.isfinite(cell.m_star_high), cell.m_star_high, y)
            label = rf"p = {p}, $\kappa_p$={kappa:.3g}"
            if len(x) >= 3 and np.all(np.isfinite(y)):
                fit = fit_loglog_slope(x, y)
                curve = fit_loglog_slope(x, cell.bound.to_numpy(float)).slope
                slopes[learner][str(p)] = {"slope": fit.slope, "slope_low": fit.slope_low,
                                           "slope_high": fit.slope_high, "theorem_curve_slope": curve,
                                           "exponent": -(1 + 1 / p) if learner == "bayes" else -1 / p}
                label += f": slope {fit.slope:.2f} [{fit.slope_low:.2f}, {fit.slope_high:.2f}] (curve {curve:.2f})"
            plotting.errorbar_points(ax, x, y, cell.m_star_low, high, color=color, marker=MARKERS[learner],
                                     label=label)
            ax.plot(x, kappa * cell.bound, color=color, linestyle=P_STYLES.get(p, "-."), linewidth=1.1)
        ticks = sorted(rows.eps.unique())
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticklabels([f"1/{1 / t:g}" for t in ticks])
        ax.set_xlabel(r"target error $\varepsilon$ ($\Delta=16\varepsilon$, $M\asymp C\varepsilon^{-1/p}$)")
        kind = "non-adaptive, m*" if learner == "bayes" else "adaptive, E[m]*"
        ax.set_ylabel(r"$m^*$ (samples for success $\geq 1-\varepsilon$)")
        ax.set_title(f"({'a' if learner == 'bayes' else 'b'}) Bayes-optimal, {kind}", fontsize=9)
        ax.plot([], [], color="black", linestyle="--",
                label=(r"Thm 3.1′: $\kappa C\log|\Pi|/(\varepsilon^{1+1/p}(1+\log(C\varepsilon^{-1/p})))$"
                       if learner == "bayes" else
                       r"Thm 3.1′ (adaptive): $\kappa C\log|\Pi|/(\varepsilon^{1/p}(1+\log(C\varepsilon^{-1/p})))$")
                + r", $\kappa_p$ fitted per p; line style = p")
    rows["ratio_to_fit"] = [row.ratio / constants[row.learner][str(row.p)] for row in rows.itertuples()]
    for learner in LEARNERS:
        part = rows[rows.learner == learner]
        ax_ratio.plot(part.eps, part.ratio_to_fit, marker=MARKERS[learner], linestyle="none",
                      color=COLORS[learner], label=f"{'Bayes' if learner == 'bayes' else 'adaptive Bayes'}, all p")
    ax_ratio.axhline(1.0, color="black", linestyle="--", linewidth=1)
    ax_ratio.set_xscale("log")
    ax_ratio.set_yscale("log")
    ax_ratio.xaxis.set_major_locator(FixedLocator(sorted(rows.eps.unique())))
    ax_ratio.xaxis.set_minor_locator(NullLocator())
    ax_ratio.set_xticklabels([f"1/{1 / t:g}" for t in sorted(rows.eps.unique())])
    ax_ratio.set_xlabel(r"target error $\varepsilon$")
    ax_ratio.set_ylabel(r"$m^*/(\kappa_p\cdot$Thm 3.1′ rate$)$")
    ax_ratio.set_title("(c) measured / bound, every (p, ε)", fontsize=9)
    for ax in (ax_plain, ax_adaptive, ax_ratio):
        ax.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=1)
    seeds = int(table.trials.min()) // NUM_RARE
    plotting.footnote(figure, f"Monte Carlo through the oracle, I ~ Uniform([M]^d) per seed, {seeds} seeds × d = "
                      f"{NUM_RARE} coordinates per budget; C_cov,γ,p ≈ {COVERAGE:g}, γ = 1/2; m* = smallest budget with "
                      "coordinate error ≤ 1/16, bars from per-budget 95% Wilson intervals; slopes: least squares on "
                      "log-log axes, 95% t-intervals; κ_p: geometric mean of m*/rate over ε, one per (oracle model, p).")
    figure.subplots_adjust(bottom=0.42, wspace=0.3)
    atomic_save_figure(figure, figure_path)
    plotting.close(figure)
    cells = rows.replace([np.inf], None).to_dict(orient="records")
    band = {learner: [float(np.nanmin(rows[rows.learner == learner].ratio_to_fit)),
                      float(np.nanmax(rows[rows.learner == learner].ratio_to_fit))] for learner in LEARNERS}
    return {"constants": constants, "slopes": slopes, "ratio_band": band, "cells": cells}


EXPERIMENT = Experiment(
    name="lower_bound_p",
    title="Thm 3.1′: the Bayes-optimal m* against ε for p = 1, 2, 3 (exponent 1 + 1/p; 1/p adaptively)",
    claim="Thm 3.1′: m ≳ C log|Π|/(ε^{1+1/p}(1+log(Cε^{−1/p}))), E[m] ≳ C log|Π|/(ε^{1/p}(…)) adaptively",
    grid={**GRID, "scale": ["full"]},
    seeds=128,
    settings={"coverage": COVERAGE, "num_rare": NUM_RARE, "grid": GRID, "quick_grid": QUICK_GRID,
              "resolution": RESOLUTION, "target_error": TARGET_ERROR},
    run_cell=run_cell,
    analyze=analyze,
    quick_grid={**QUICK_GRID, "scale": ["quick"]},
    quick_seeds=32,
)
