"""sft_epsilon: measured sample complexity against ε — 1/ε² for SFT-Sharpening (Thm 4.1), 1/ε adaptively (Thm D.1).

Claims. Thm 4.1: at the prescribed n = c log(|Π|/ρ)/(δε), N = c C_cov log(2/δ)/ε, m = O(C_cov log(|Π|/ρ)
log(1/δ)/(δε²)). Thm D.1: adaptive SFT (stopping rule Eq. 10, μ = ln(2/δ)) with n ≳ log(|Π|/ρ)/(δε) prompts
uses E[m] = n(1 + μ)C̄_cov = O(C̄_cov log(|Π|/ρ) log(1/δ)/(δε)). The lower bounds are Thm 3.1 (1/ε²) and D.2 (1/ε).

Instance: for each ε, ``rare_prompt_instance`` with d = 4 rare prompts of total mass Δ = 2ε and M = ⌈2/ε⌉
candidates (the App. H scaling M ≍ C/ε, Δ ≍ ε), so C_cov = C̄_cov = 1 − Δ + ΔM/2 ≈ 3 stays constant while
the rare prompts become rarer (n ∝ 1/ε) and their argmax harder to sample (N ∝ 1/ε). Class: tabular.

Measured. SFT: the smallest scale s along (n, N) = s·(n₀, N₀), Thm 4.1's prescription at c = 1, with success
≥ 1 − ρ; m* = n·N there. Adaptive: the smallest n = s·n₀ (Thm D.1's n at c = 1) with success ≥ 1 − ρ; m* =
E[m] = n·E_x[E N_μ(x)], exact (``adaptive_hit_law``). Both simulated exactly in law (``_sft_common``).
Expected slopes of log m* on log ε: −2 (SFT) and −1 (adaptive).
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
    adaptive_hit_law,
    cell_threshold,
    finish,
    plain_log_ticks,
    plot_success_curves,
    plot_thresholds,
    rare_prompt_coverage,
    rare_prompt_instance,
    ray_point,
    search_adaptive,
    search_footnote,
    search_rows,
    search_sft_ray,
)
from sharpsim.measure.statistics import fit_loglog_slope
from sharpsim.runner.sweep import Experiment

DELTA, RHO = 0.25, 0.1
NUM_RARE = 4
COVERAGE_SCALE = 2.0  # M = ⌈COVERAGE_SCALE/ε⌉
SMALLEST_EPS = 0.0125
MAX_RESPONSES = math.ceil(COVERAGE_SCALE / SMALLEST_EPS) + 1  # shared response padding (one compilation)
MU = math.log(2.0 / DELTA)  # Thm D.1's stopping parameter
# the largest tape the stopping rule can need: μ / (smallest response probability (1 − 2/M)/(M − 1)) at the smallest ε
MAX_CAP = math.ceil(MU * (MAX_RESPONSES - 2) / (1 - 2 / (MAX_RESPONSES - 1))) + 2


def instance_parameters(eps: float) -> tuple[int, float]:
    """(M, Δ) for this ε."""
    if eps < SMALLEST_EPS:
        raise ValueError(f"sft_epsilon supports eps ≥ {SMALLEST_EPS}, got {eps}")
    return math.ceil(COVERAGE_SCALE / eps - 1e-9), 2.0 * eps


def log_class_size(num_candidates: int) -> float:
    return (NUM_RARE + 1) * math.log(num_candidates + 1)


def max_prompts_for(prompts_unit: float) -> int:
    """Padding for the prompts: a power of two covering scale 1.5, at least 4096 (one compilation serves every
    cell with ε ≥ 0.05; smaller ε add one each)."""
    return max(4096, int(2 ** math.ceil(math.log2(1.5 * prompts_unit))))


def run_cell(params, key, seeds):
    eps, algorithm = float(params["eps"]), params["algorithm"]
    num_candidates, rare_mass = instance_parameters(eps)
    policy = rare_prompt_instance(NUM_RARE, num_candidates, rare_mass, num_responses=MAX_RESPONSES)
    coverage = rare_prompt_coverage(num_candidates, rare_mass)
    log_size = log_class_size(num_candidates)
    model_class = TabularClass.like(policy)
    keys = jax.random.split(key, seeds)
    prompts_unit = float(theory.thm_4_1_num_prompts(log_size, eps, DELTA, RHO))
    if algorithm == "sft":
        samples_unit = float(theory.thm_4_1_num_samples(coverage, eps, DELTA))
        result, _, _ = search_sft_ray(policy, model_class, keys, eps, DELTA, RHO, prompts_unit, samples_unit,
                                      max_prompts_for(prompts_unit))
        rows = search_rows(result, lambda b: ray_point(b, prompts_unit, samples_unit), lambda n, big_n: n * big_n)
    elif algorithm == "adaptive":
        cap = math.ceil(MU / float(np.min(policy.probs[policy.probs > 0]))) + 1  # never binds
        hit, expected = adaptive_hit_law(policy, MU, cap, max_cap=MAX_CAP)
        per_prompt = float(np.sum(np.asarray(policy.prompt_probs) * np.asarray(expected)))  # E_x E[N_μ(x)]
        result, _ = search_adaptive(policy, model_class, hit, keys, eps, DELTA, RHO, prompts_unit,
                                    max_prompts_for(prompts_unit))
        rows = search_rows(result, lambda b: (ray_point(b, prompts_unit, 1.0)[0], per_prompt),
                           lambda n, big_n: n * big_n)
    else:
        raise ValueError(f"algorithm must be 'sft' or 'adaptive', got {algorithm!r}")
    size = rows["budget"].size
    rows["coverage"] = np.full(size, coverage)
    rows["log_class_size"] = np.full(size, log_size)
    rows["num_candidates"] = np.full(size, num_candidates)
    return rows


def _theory(algorithm: str, eps):
    """The theorem's rate (c = 1) on this instance family, with its log|Π| and C_cov at each ε (continuous M)."""
    eps = np.asarray(eps, dtype=float)
    candidates = COVERAGE_SCALE / eps
    coverage = rare_prompt_coverage(candidates, 2 * eps)
    log_size = (NUM_RARE + 1) * np.log(candidates + 1)
    if algorithm == "sft":
        return theory.thm_4_1_sample_complexity(coverage, log_size, eps, DELTA, RHO)
    return theory.thm_d1_sample_complexity(coverage, log_size, eps, DELTA, RHO)


def analyze(table, figure_path):
    figure, (ax_curves, ax_star) = plotting.new_figure(2, width_per_panel=5.4, height=4.4)
    target = 1 - RHO
    summary = {"delta": DELTA, "rho": RHO, "num_rare": NUM_RARE, "mu": MU, "cells": [], "slopes": {}}
    styles = {"sft": ("o", "tab:blue", "SFT-Sharpening (Thm 4.1 ray)"),
              "adaptive": ("s", "tab:orange", "adaptive SFT, E[m] (Thm D.1)")}
    for algorithm in [a for a in ("sft", "adaptive") if a in set(table.algorithm)]:
        rows = table[table.algorithm == algorithm]
        levels = sorted(rows.eps.unique())
        stats = []
        for eps in levels:
            cell = rows[rows.eps == eps]
            stats.append({"algorithm": algorithm, "eps": float(eps), "coverage": float(cell.coverage.iloc[0]),
                          **cell_threshold(cell, target)})
        summary["cells"].extend(stats)
        marker, color, label = styles[algorithm]
        epsilons = np.array(levels, dtype=float)
        m_star = np.array([s["m_star"] for s in stats])
        if len(levels) >= 3 and np.all(np.isfinite(m_star)):
            fit = fit_loglog_slope(epsilons, m_star)
            predicted = fit_loglog_slope(epsilons, _theory(algorithm, epsilons)).slope
            summary["slopes"][algorithm] = {"slope": fit.slope, "slope_low": fit.slope_low, "slope_high": fit.slope_high,
                                            "theory_slope_on_grid": predicted}
            label += f": slope {fit.slope:.2f} [{fit.slope_low:.2f}, {fit.slope_high:.2f}] (theorem on grid {predicted:.2f})"
        plot_thresholds(plotting, ax_star, epsilons, stats, label=label, marker=marker, color=color)

    eps_grid = np.geomspace(table.eps.min(), table.eps.max(), 50)
    candidates = COVERAGE_SCALE / eps_grid  # the instance's M = ⌈2/ε⌉ without the rounding, for a smooth curve
    coverage = rare_prompt_coverage(candidates, 2 * eps_grid)
    log_size = (NUM_RARE + 1) * np.log(candidates + 1)
    ax_star.plot(eps_grid, theory.thm_4_1_sample_complexity(coverage, log_size, eps_grid, DELTA, RHO),
                 **plotting.THEORY_STYLE, label=r"Thm 4.1 (c=1): $\propto \epsilon^{-2}$")
    ax_star.plot(eps_grid, theory.thm_d1_sample_complexity(coverage, log_size, eps_grid, DELTA, RHO), color="black",
                 linestyle=":", linewidth=1.4, label=r"Thm D.1 (c=1): $\propto \epsilon^{-1}$")
    ax_star.plot(eps_grid, theory.thm_3_1_lower_bound(coverage, log_size, eps_grid), color="0.5", linestyle="-.",
                 linewidth=1.1, label=r"Thm 3.1 lower bound (c=1)")
    ax_star.plot(eps_grid, theory.thm_d2_lower_bound(coverage, log_size, eps_grid), color="0.65", linestyle=(0, (1, 2)),
                 linewidth=1.1, label=r"Thm D.2 adaptive lower bound (c=1)")
    ax_star.set_xscale("log")
    ax_star.set_yscale("log")
    plain_log_ticks(ax_star)
    ax_star.set_xticks(sorted(table.eps.unique()))
    ax_star.set_xlabel(r"target error $\epsilon$ (instance: $\Delta=2\epsilon$, $M=\lceil 2/\epsilon\rceil$)")
    ax_star.set_ylabel(r"samples $m^*$ (sharp w.p. $\geq 1-\rho$)")
    ax_star.set_title(rf"(b) $m^*$ vs $\epsilon$ ($\delta$={DELTA}, $\rho$={RHO})", fontsize=9)

    sft_rows = table[table.algorithm == "sft"] if "sft" in set(table.algorithm) else table
    levels = sorted(sft_rows.eps.unique())
    plot_success_curves(plotting, ax_curves, sft_rows, "eps", levels, lambda e: rf"SFT, $\epsilon$={e:g}", target,
                        xlabel=r"samples $m=nN$ along the Thm 4.1 ray $(n,N)=s\,(n_0,N_0)$",
                        title="(a) success of SFT-Sharpening vs samples")
    footnote = search_footnote(table, f"App. H rare prompts, d={NUM_RARE}, tabular class, adaptive μ = ln(2/δ).")
    finish(plotting, figure, [ax_curves, ax_star], footnote, figure_path)
    return summary


EXPERIMENT = Experiment(
    name="sft_epsilon",
    title="SFT-Sharpening: m* vs ε, slope −2 (Thm 4.1) and −1 adaptively (Thm D.1)",
    claim="Thm 4.1: m ∝ 1/ε² at the prescribed n, N; Thm D.1: E[m] ∝ 1/ε for adaptive SFT",
    grid={"eps": [0.2, 0.1, 0.05, 0.025, 0.0125], "algorithm": ["sft", "adaptive"]},
    seeds=200,
    settings={"delta": DELTA, "rho": RHO, "num_rare": NUM_RARE, "coverage_scale": COVERAGE_SCALE,
              "max_responses": MAX_RESPONSES, "mu": MU, "max_cap": MAX_CAP, "ray_units": RAY_UNITS},
    run_cell=run_cell,
    analyze=analyze,
    quick_grid={"eps": [0.2, 0.1, 0.05]},
    quick_seeds=64,
)
