"""bon_coverage: inference-time best-of-N against coverage (Prop. C.1).

Claim. For a prompt x with argmax mass p* = π_base(y*(x)|x), best-of-N lands in y*(x) with probability
1 − (1 − p*)^N, so N ≥ log(1/ρ)/p* samples suffice for success ≥ 1 − ρ; averaged over prompts the
samples needed grow linearly in the coverage coefficient C_cov = E_x[1/p*(x)].

Each seed draws one prompt x ∼ μ and N_max responses through the oracle. Best-of-N for every N ≤ N_max is
read off the same draws (``running_best_index``, as the paper's experiments subsample their 50
generations), and the referee records the first N at which the pick is in y*(x). Since BoN_N ∈ y* is
monotone in N, that one number per seed gives the whole success curve, and the samples needed for
success ≥ 1 − ρ is the (1 − ρ)-quantile of its distribution (order-statistic interval).

Panels: (a) needle and (b) two_type success against N, Monte Carlo with 95% Wilson intervals, the exact
curve from ``best_of_n_law`` and the Prop. C.1 threshold; (c) samples needed against C_cov (log-log) with
fitted slopes, the exact values and Prop. C.1's sufficient N.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.runner import figures as plotting
from sharpsim import theory
from sharpsim.algorithms.best_of_n import best_of_n_law, running_best_index
from sharpsim.instances.registry import make
from sharpsim.core.oracle import Oracle
from sharpsim.referee.quantities import argmax_mask, argmax_mass, coverage_coefficient, sharpness
from sharpsim.measure.statistics import fit_loglog_slope, quantile_interval, wilson_interval
from sharpsim.runner.sweep import Experiment, atomic_save_figure, counted_jit

NUM_RESPONSES = 4096
NUM_PROMPTS = 2  # both families share shapes, so one compilation serves the whole sweep
RHO = 0.05
TWO_TYPE_P_HI = 0.5
TWO_TYPE_WEIGHT_LO = 0.5
SEED_BATCH = 256


def instance(family: str, coverage: float):
    """The base policy of a cell, with C_cov = ``coverage`` exactly.

    needle: p* = 1/C_cov on every prompt. two_type: half the μ-mass on easy prompts with p* = 1/2 and half
    on hard prompts with p_lo chosen so that C_cov = (1 − w)/p_hi + w/p_lo, i.e. p_lo = w/(C_cov − (1 − w)/p_hi).
    """
    if family == "needle":
        return make("needle", num_prompts=NUM_PROMPTS, num_responses=NUM_RESPONSES, coverage=coverage)
    if family == "two_type":
        easy_part = (1.0 - TWO_TYPE_WEIGHT_LO) / TWO_TYPE_P_HI
        p_lo = TWO_TYPE_WEIGHT_LO / (coverage - easy_part)
        return make("two_type", num_prompts=NUM_PROMPTS, num_responses=NUM_RESPONSES, p_hi=TWO_TYPE_P_HI,
                    p_lo=p_lo, weight_lo=TWO_TYPE_WEIGHT_LO)
    raise ValueError(f"bon_coverage knows families 'needle' and 'two_type', got {family!r}")


@partial(counted_jit, static_argnames=("max_samples",))
def first_success(policy, keys, max_samples: int):
    """Per seed: the prompt drawn, and the first N ≤ max_samples whose BoN pick is in y*(x) (0 if none)."""
    in_argmax = argmax_mask(policy)

    def one_seed(key):
        key_prompt, key_samples = jax.random.split(key)
        oracle = Oracle(policy)
        prompt, oracle = oracle.draw_prompts(key_prompt, 1)
        batch, oracle = oracle.sample(key_samples, prompt, max_samples)
        picks = batch.responses[0][running_best_index(batch.log_probs[0])]  # BoN_N pick for N = 1..max
        success = in_argmax[prompt[0], picks]
        first = jnp.where(success.any(), jnp.argmax(success) + 1, 0)
        return prompt[0], first, oracle.queries.samples

    return jax.lax.map(one_seed, keys, batch_size=SEED_BATCH)


def run_cell(params, key, seeds):
    policy = instance(params["family"], params["coverage"])
    prompts, first, samples = first_success(policy, jax.random.split(key, seeds), params["max_samples"])
    p_star = np.asarray(argmax_mass(policy))[np.asarray(prompts)]
    return {"prompt": prompts, "p_star": p_star, "first_success_n": first, "samples": samples}


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


def analyze(table, figure_path):
    figure, (ax_needle, ax_two, ax_needed) = plotting.new_figure(3, height=5.4)
    colors = plotting.plt.get_cmap("viridis")
    summary_cells, slope_summary = [], {}
    covered = {"inside": 0, "points": 0}  # MC points whose Wilson interval contains the exact success probability
    for family, ax in (("needle", ax_needle), ("two_type", ax_two)):
        rows = table[table.family == family]
        levels = sorted(rows.coverage.unique())
        if not levels:
            ax.set_axis_off()
            ax.text(0.5, 0.5, f"{family}: not in this run's grid", ha="center", transform=ax.transAxes)
            continue
        shown = levels[:: max(1, len(levels) // 4)][:5]
        measured, exact_needed = [], []
        for level in levels:
            cell = rows[rows.coverage == level]
            policy = instance(family, level)
            max_samples = int(cell.max_samples.iloc[0])
            first = cell.first_success_n.to_numpy().astype(float)
            first[first == 0] = np.inf  # censored: no success within max_samples
            estimate, lower, upper = quantile_interval(first, 1 - RHO)
            exact_n = exact_samples_needed(policy, RHO)
            p_min = float(np.min(np.asarray(argmax_mass(policy))))
            summary_cells.append({
                "family": family, "coverage": float(level),
                "coverage_computed": float(coverage_coefficient(policy)),
                "samples_needed": estimate, "samples_needed_low": lower, "samples_needed_high": upper,
                "samples_needed_exact": exact_n, "prop_c1_sufficient_n": float(theory.prop_c1_num_samples(p_min, RHO)),
                "seeds": int(len(cell)),
            })
            measured.append((level, estimate, lower, upper))
            exact_needed.append(exact_n)
            if level in shown:
                color = colors(shown.index(level) / max(1, len(shown) - 1) * 0.85)
                ns = np.unique(np.geomspace(1, max_samples, 28).astype(int))
                successes = (first[None, :] <= ns[:, None]).sum(axis=1)
                low, high = wilson_interval(successes, len(first))
                plotting.errorbar_points(ax, ns, successes / len(first), low, high, color=color,
                                         label=f"MC, $C_{{cov}}$={level:g}")
                exact_at_ns = exact_success(policy, ns)
                covered["inside"] += int(np.sum((low <= exact_at_ns) & (exact_at_ns <= high)))
                covered["points"] += int(ns.size)
                dense = np.unique(np.geomspace(1, max_samples, 200).astype(int))
                ax.plot(dense, exact_success(policy, dense), color=color, **plotting.EXACT_STYLE)
                ax.axvline(theory.prop_c1_num_samples(p_min, RHO), color=color, linestyle=":", linewidth=1)
        ax.axhline(1 - RHO, color="0.5", linewidth=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("N (samples per prompt)")
        ax.set_ylabel(r"$P_{x\sim\mu}[\,\mathrm{BoN}_N(x)\in y^*(x)\,]$")
        ax.set_title(f"({'a' if family == 'needle' else 'b'}) {family}: success of best-of-N")
        ax.plot([], [], color="0.3", **plotting.EXACT_STYLE, label=r"exact: law of BoN$_N$")
        ax.plot([], [], color="0.3", linestyle=":", label=r"Prop. C.1: $N=\log(1/\rho)/\min_x p^*$")
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=2)
        ax.set_ylim(-0.02, 1.05)

        coverage_levels = np.array([m[0] for m in measured], dtype=float)
        estimates = np.array([m[1] for m in measured])
        label = f"MC {family}"
        if len(coverage_levels) >= 3 and np.all(np.isfinite(estimates)):
            fit = fit_loglog_slope(coverage_levels, estimates)
            slope_summary[family] = {"slope": fit.slope, "slope_low": fit.slope_low, "slope_high": fit.slope_high,
                                     "exact_slope": fit_loglog_slope(coverage_levels, exact_needed).slope}
            label += f": slope {fit.slope:.3f} [{fit.slope_low:.3f}, {fit.slope_high:.3f}]"
        marker = "o" if family == "needle" else "s"
        plotting.errorbar_points(ax_needed, coverage_levels, estimates, [m[2] for m in measured],
                                 [m[3] for m in measured], marker=marker, label=label)
        ax_needed.plot(coverage_levels, exact_needed, color="0.4", linewidth=1,
                       linestyle="-" if family == "needle" else "-.", label=f"exact {family}")

    grid = np.geomspace(min(r["coverage"] for r in summary_cells), max(r["coverage"] for r in summary_cells), 50)
    ax_needed.plot(grid, grid * np.log(1 / RHO), **plotting.THEORY_STYLE,
                   label=r"Prop. C.1, needle: $N=C_{cov}\log(1/\rho)$")
    easy = (1 - TWO_TYPE_WEIGHT_LO) / TWO_TYPE_P_HI
    ax_needed.plot(grid, np.log(1 / RHO) * (grid - easy) / TWO_TYPE_WEIGHT_LO, color="0.5", linestyle="--",
                   linewidth=1.2, label=r"Prop. C.1, two_type: $N=\log(1/\rho)/p_{lo}$")
    ax_needed.set_xscale("log")
    ax_needed.set_yscale("log")
    ax_needed.set_xlabel(r"coverage coefficient $C_{cov}=E_x[1/\pi_{base}(y^*(x)|x)]$")
    ax_needed.set_ylabel(rf"samples needed $N_\rho$ for success $\geq 1-\rho$ ($\rho$={RHO})")
    ax_needed.set_title("(c) samples needed vs coverage")
    ax_needed.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=2)
    seeds = int(table.groupby("cell_id").size().min())
    plotting.footnote(figure, f"Monte Carlo over {seeds} seeds per cell through the oracle: (a, b) 95% Wilson "
                      "intervals; (c) 95% order-statistic intervals for the (1−ρ)-quantile of the first successful N; "
                      "slopes by least squares on log-log axes with 95% t-intervals.")
    figure.subplots_adjust(bottom=0.33, wspace=0.32)
    atomic_save_figure(figure, figure_path)
    plotting.close(figure)
    return {"rho": RHO, "slopes": slope_summary, "cells": summary_cells,
            "exact_inside_wilson_interval": covered}


EXPERIMENT = Experiment(
    name="bon_coverage",
    title="Best-of-N success vs N, and samples needed vs C_cov (Prop. C.1)",
    claim="Prop. C.1: N ≥ log(1/ρ)/π_base(y*|x) suffices; samples needed grow linearly in C_cov",
    grid={"family": ["needle", "two_type"], "coverage": [2.0 ** k for k in range(1, 11)], "max_samples": [8192]},
    seeds=2000,
    settings={"num_responses": NUM_RESPONSES, "num_prompts": NUM_PROMPTS, "rho": RHO, "two_type_p_hi": TWO_TYPE_P_HI,
              "two_type_weight_lo": TWO_TYPE_WEIGHT_LO},
    seed_rows=True,
    run_cell=run_cell,
    analyze=analyze,
    quick_grid={"coverage": [2.0, 8.0, 32.0, 128.0], "max_samples": [1024]},
    quick_seeds=300,
)
