"""sft_bitstring: SFT-Sharpening's measured sample complexity m* grows linearly in C_cov on an autoregressive
instance, the ``bitstring`` family (Thm 4.1 on sequences).

Claim (Thm 4.1, Eq. 7). With n = c·log(|Π|/ρ)/(δε) and N = c·C_cov·log(2/δ)/ε, SFT-Sharpening is (ε, δ)-sharp
w.p. ≥ 1 − ρ, so m* = n·N = O(C_cov log(|Π|/ρ) log(1/δ)/(δε²)): linear in C_cov at fixed horizon H.

Instance: ``families_autoregressive.bitstring`` with X prompts (random planted targets y*(x) ∈ {0,1}^H, uniform
prompts), each token equal to y*_h(x) w.p. q = C^(−1/H), so π(y*(x)|x) = 1/C and C_cov = C. The horizon H is
fixed, so the sequence space 2^H (and every array shape) is the same for all coverage levels: one compilation.
Class: tabular over whole sequences (realizable), log|Π| := X·H·log 2 (deterministic rows).
Method: ``complexity.sample_complexity`` along the Thm 4.1 ray (n, N) = s·(n₀, N₀) (as ``sft_coverage``).
Runs are simulated exactly in law on the enumerated sequence policy ``base.to_tabular()`` (training pairs drawn
from π^BoN_N, ``_sft_common``); the test checks that ``sft_sharpen`` run token-level through the ``Oracle`` on
the ``MarkovPolicy`` base (tabular class fitted on the picked sequences) succeeds with the same probability.

Expected: slope 1 of log m* against log C_cov.
"""

from __future__ import annotations

import math

import jax
import numpy as np

from sharpsim.runner import figures as plotting
from sharpsim import theory
from sharpsim.classes import TabularClass
from sharpsim.measure.sft_engine import (
    RAY_UNITS,
    cell_threshold,
    finish,
    plain_log_ticks,
    plot_success_curves,
    plot_thresholds,
    ray_point,
    search_footnote,
    search_rows,
    search_sft_ray,
)
from sharpsim.instances.autoregressive import bitstring
from sharpsim.measure.statistics import fit_loglog_slope
from sharpsim.runner.sweep import Experiment

EPS, DELTA, RHO = 0.1, 0.25, 0.1
HORIZON = 6
NUM_PROMPTS = 4
MAX_PROMPTS = 512  # prompts padded (and masked) to this: scales s ≤ 0.67, thresholds sit near s ≈ 0.1
TARGET_SEED = 0


def instance(coverage: float, horizon: int = HORIZON):
    """The enumerated [X, 2^H] sequence policy of a ``bitstring`` base with C_cov = ``coverage``."""
    if not 1.0 < float(coverage) < 2.0**horizon:
        raise ValueError(f"coverage must lie in (1, 2^horizon) = (1, {2.0**horizon:g}), got {coverage}")
    base = bitstring(horizon=horizon, coverage=float(coverage), key=jax.random.PRNGKey(TARGET_SEED),
                     num_prompts=NUM_PROMPTS)
    return base.to_tabular()


def ray_units(coverage: float) -> tuple[float, float, float]:
    """(n₀, N₀, log|Π|) with Thm 4.1's prescriptions at c = 1."""
    log_class_size = NUM_PROMPTS * HORIZON * math.log(2)
    n0 = float(theory.thm_4_1_num_prompts(log_class_size, EPS, DELTA, RHO))
    big_n0 = float(theory.thm_4_1_num_samples(coverage, EPS, DELTA))
    return n0, big_n0, log_class_size


def run_cell(params, key, seeds):
    coverage = float(params["coverage"])
    policy = instance(coverage)
    prompts_unit, samples_unit, log_class_size = ray_units(coverage)
    keys = jax.random.split(key, seeds)
    result, _, _ = search_sft_ray(policy, TabularClass.like(policy), keys, EPS, DELTA, RHO, prompts_unit,
                                  samples_unit, MAX_PROMPTS)
    rows = search_rows(result, lambda b: ray_point(b, prompts_unit, samples_unit), lambda n, big_n: n * big_n)
    size = rows["budget"].size
    rows["log_class_size"] = np.full(size, log_class_size)
    return rows


def analyze(table, figure_path):
    figure, (ax_curves, ax_star) = plotting.new_figure(2, width_per_panel=5.4, height=4.4)
    target = 1 - RHO
    levels = sorted(table.coverage.unique())
    cells = [{"coverage": float(c), **cell_threshold(table[table.coverage == c], target)} for c in levels]
    coverage = np.array([c["coverage"] for c in cells])
    m_star = np.array([c["m_star"] for c in cells])
    summary = {"eps": EPS, "delta": DELTA, "rho": RHO, "horizon": HORIZON, "num_prompts": NUM_PROMPTS,
               "cells": cells}
    label = rf"measured $m^*$ (bitstring, H={HORIZON})"
    if np.all(np.isfinite(m_star)) and len(m_star) >= 3:
        fit = fit_loglog_slope(coverage, m_star)
        summary["slope"] = {"slope": fit.slope, "slope_low": fit.slope_low, "slope_high": fit.slope_high}
        label += f": slope {fit.slope:.2f} [{fit.slope_low:.2f}, {fit.slope_high:.2f}]"
        print(f"sft_bitstring: slope of log m* vs log C_cov = {fit.slope:.3f} "
              f"[{fit.slope_low:.3f}, {fit.slope_high:.3f}] (95%)")
    plot_thresholds(plotting, ax_star, coverage, cells, label=label)
    grid = np.geomspace(coverage.min(), coverage.max(), 50)
    log_size = NUM_PROMPTS * HORIZON * math.log(2)
    ax_star.plot(grid, theory.thm_4_1_sample_complexity(grid, log_size, EPS, DELTA, RHO), **plotting.THEORY_STYLE,
                 label="Thm. 4.1 (c=1), slope 1")
    ax_star.set_xscale("log")
    ax_star.set_yscale("log")
    plain_log_ticks(ax_star)
    ax_star.set_xlabel(r"coverage coefficient $C_{cov}$ (bitstring knob)")
    ax_star.set_ylabel(r"$m^*=nN$ (sharp w.p. $\geq 1-\rho$)")
    ax_star.set_title(rf"(b) $m^*$ vs $C_{{cov}}$ ($\epsilon$={EPS}, $\delta$={DELTA}, $\rho$={RHO})", fontsize=9)
    plot_success_curves(plotting, ax_curves, table, "coverage", levels, lambda c: rf"$C_{{cov}}$={c:g}", target,
                        xlabel=r"samples $m = nN$ along the Thm 4.1 ray",
                        title=f"(a) SFT-Sharpening on bitstring (H={HORIZON}, X={NUM_PROMPTS})")
    footnote = search_footnote(table, "Tabular class over sequences.",
                               simulation="runs simulated exactly in law on the enumerated 2^H sequences")
    finish(plotting, figure, [ax_curves, ax_star], footnote, figure_path)
    return summary


EXPERIMENT = Experiment(
    name="sft_bitstring",
    title="SFT-Sharpening on an autoregressive instance (bitstring): m* vs C_cov (Thm 4.1)",
    claim="Thm 4.1 on sequences: m* linear in C_cov at fixed horizon",
    grid={"coverage": [2.0, 4.0, 8.0, 16.0, 32.0]},
    seeds=200,
    settings={"eps": EPS, "delta": DELTA, "rho": RHO, "horizon": HORIZON, "num_prompts": NUM_PROMPTS,
              "max_prompts": MAX_PROMPTS, "target_seed": TARGET_SEED, "ray_units": RAY_UNITS},
    run_cell=run_cell,
    analyze=analyze,
    quick_grid={"coverage": [2.0, 8.0, 32.0]},
    quick_seeds=64,
)
