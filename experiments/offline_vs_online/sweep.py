"""offline_vs_online: offline RLHF (Eq. 8), XPO (Algorithm 1) and SFT-Sharpening side by side across coverage.

Claim. SFT-Sharpening must *see* y* among the base samples, so its sample complexity grows with C_cov (Thm 4.1,
and Example J.1's lower-bound argument). RLHF-Sharpening regresses the β-scaled log-ratio on the self-reward; its
guarantees pay concentrability C_conc ≥ C_cov offline (Thm 4.2) and SEC(Π) online with exploration (Thm 4.3, no
C_cov). Here we measure all three on the same instances and class.

Instances: ``sphere`` in d = 12 (|Y| = 256, one prompt) with θ* = scale·y*, scale ∈ {0.25, …, 4}: C_cov falls from
≈ 200 to ≈ 9 as the scale grows (γ_margin = e^{scale/2} − 1 rises with it; β = γ_margin/(2 log(2|Y|/δ)) follows,
Thm J.2). Class: the instance's Π_{φ,B}; success: π̂(y*) ≥ 1 − δ (δ = 0.1), with probability ≥ 1 − ρ (ρ = 0.1);
m* from ``complexity.sample_complexity`` (95% Wilson intervals per budget, common random numbers):

* SFT-Sharpening, n = 1, m = N (as in ``xpo_vs_sft``);
* offline RLHF (Eq. 8): n pairs y, y' ∼ π_base, m = 2n, fitted by ``algorithms.rlhf.linear_rlhf_fit`` (projected
  gradient to its tolerance). One draw of n_max pairs per seed serves every n ≤ n_max: the pairs beyond the first n
  are replaced by (y, y), whose residual is identically 0, which is exactly dropping them;
* XPO with α = 0 (``xpo_vs_sft.xpo_success_curves``), m = 2T (validation queries reported apart).

What to expect on this instance: the reward-regression targets are noiseless and the class is linear, so any
≈ d pairs whose feature differences span R^d identify π*_β = π_{(1+1/β)θ*} — offline as well as online. The
C_conc and SEC of the theorems are worst-case over classes; here neither RLHF variant needs y* to be sampled.

Measured (full run, 100 seeds). SFT: m* = 18 → 453 as C_cov = 9.2 → 200, log-log slope 1.02 [0.89, 1.15] on
C_cov, on top of its exact curve. Offline RLHF and XPO: m* = 22–24 at every coverage (slope −0.03 [−0.05, 0.00]),
≈ 2d, i.e. about d pairs; at the highest scale (C_cov = 9.2) SFT is cheaper (18 vs 24). Offline RLHF is *not*
worse than XPO here: exploration is not what removes C_cov on this instance, the linear regression is.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.runner import figures as plotting
from sharpsim.algorithms.rlhf import linear_rlhf_fit
from sharpsim.measure.complexity import sample_complexity, threshold_from_table
from sharpsim.experiments.xpo_vs_sft import (NUM_VALIDATION, exact_sft_threshold, sft_first_hit, sft_fit_mass,
                                             xpo_constants, xpo_success_curves)
from sharpsim.instances.sphere import sphere
from sharpsim.core.oracle import Oracle
from sharpsim.measure.statistics import fit_loglog_slope
from sharpsim.runner.sweep import Experiment, atomic_save_figure, counted_jit

DIMENSION = 12
DELTA = 0.1
RHO = 0.1
MAX_PAIRS = 8 * DIMENSION
MAX_ROUNDS = 8 * DIMENSION
SFT_MAX_SAMPLES = 2**14
METHODS = ("sft", "rlhf_offline", "xpo")
LABELS = {"sft": "SFT-Sharpening (n = 1)", "rlhf_offline": "offline RLHF (Eq. 8)", "xpo": r"XPO ($\alpha$ = 0)"}


def instance(scale: float):
    return sphere(DIMENSION, scale=scale, delta=DELTA)


@partial(counted_jit, static_argnames=("max_pairs",))
def rlhf_success(policy, model_class, keys, beta, optimum, num_pairs, max_pairs: int):
    """Per seed: whether offline RLHF with the first ``num_pairs`` of ``max_pairs`` drawn pairs is δ-sharp at y*."""

    def one_seed(key):
        key_prompts, key_pairs = jax.random.split(key)
        oracle = Oracle(policy)
        prompts, oracle = oracle.draw_prompts(key_prompts, max_pairs)
        batch, oracle = oracle.sample(key_pairs, prompts, 2)
        kept = (jnp.arange(max_pairs) < num_pairs)[:, None]
        responses = jnp.where(kept, batch.responses, batch.responses[:, :1])  # dropped pairs become (y, y)
        log_probs = jnp.where(kept, batch.log_probs, batch.log_probs[:, :1])
        fit = linear_rlhf_fit(model_class, prompts, responses, log_probs, beta)
        return fit.policy.probs[0, optimum] >= 1.0 - DELTA

    return jax.vmap(one_seed)(keys)


def run_cell(params, key, seeds):
    scale, method = float(params["scale"]), params["method"]
    problem = instance(scale)
    keys = jax.random.split(key, seeds)
    beta = float(xpo_constants(problem, MAX_ROUNDS)["beta"])
    if method == "sft":
        first = np.asarray(sft_first_hit(problem.policy, keys, SFT_MAX_SAMPLES))
        fit_sharp = sft_fit_mass(problem)[0] >= 1.0 - DELTA
        success = lambda _, budget: (first > 0) & (first <= int(budget)) & fit_sharp  # noqa: E731
        result = sample_complexity(success, keys, RHO, initial_budget=max(1, int(problem.coverage)),
                                   max_budget=SFT_MAX_SAMPLES, grid="log", resolution=0.05)
        factor = 1
    elif method == "rlhf_offline":
        success = lambda k, pairs: np.asarray(rlhf_success(  # noqa: E731
            problem.policy, problem.model_class, k, beta, problem.optimum, pairs, MAX_PAIRS))
        result = sample_complexity(success, keys, RHO, initial_budget=DIMENSION, max_budget=MAX_PAIRS,
                                   grid="integer")
        factor = 2
    elif method == "xpo":
        constants = xpo_constants(problem, MAX_ROUNDS)
        curves, _, _, _ = xpo_success_curves(problem.policy, problem.model_class, keys, beta, jnp.asarray(0.0),
                                             constants["reward_range"], problem.optimum, MAX_ROUNDS)
        curves = np.asarray(curves)
        success = lambda _, rounds: curves[:, int(rounds)]  # noqa: E731
        result = sample_complexity(success, keys, RHO, initial_budget=DIMENSION, max_budget=MAX_ROUNDS,
                                   grid="integer")
        factor = 2
    else:
        raise ValueError(f"offline_vs_online knows methods {METHODS}, got {method!r}")
    columns = result.records()
    columns["budget"] = factor * columns["budget"]
    for name in ("threshold_estimate", "threshold_lower", "threshold_upper"):
        columns[name] = factor * columns[name]
    size = len(columns["budget"])
    for name, value in {"coverage": problem.coverage, "margin": problem.margin, "beta": beta,
                        "radius": problem.radius, "exact_sft_threshold": exact_sft_threshold(problem.coverage)}.items():
        columns[name] = np.full(size, value, dtype=float)
    return columns


def summarise(table) -> list[dict]:
    rows = []
    for (scale, method), cell in table.groupby(["scale", "method"], sort=True):
        estimate, lower, upper = threshold_from_table(cell.budget, cell.successes, cell.trials, 1 - RHO)
        first = cell.iloc[0]
        rows.append({"scale": float(scale), "method": method, "m_star": estimate, "m_star_lower": lower,
                     "m_star_upper": upper, "coverage": float(first.coverage), "margin": float(first.margin),
                     "beta": float(first.beta), "exact_sft_threshold": float(first.exact_sft_threshold),
                     "max_budget": float(cell.budget.max()), "seeds": int(cell.trials.iloc[0])})
    return rows


def analyze(table, figure_path):
    rows = summarise(table)
    figure, (ax,) = plotting.new_figure(1, width_per_panel=6.4, height=4.8)
    markers = {"sft": "s", "rlhf_offline": "D", "xpo": "o"}
    slopes = {}
    for method in METHODS:
        mine = sorted((r for r in rows if r["method"] == method), key=lambda r: r["coverage"])
        if not mine:
            continue
        coverage = np.array([r["coverage"] for r in mine])
        est = np.array([r["m_star"] for r in mine])
        low = np.array([r["m_star_lower"] for r in mine])
        high = np.array([r["m_star_upper"] for r in mine])
        reached = np.isfinite(est)
        label = LABELS[method]
        if reached.sum() >= 3:
            fit = fit_loglog_slope(coverage[reached], est[reached])
            slopes[method] = {"slope": fit.slope, "slope_low": fit.slope_low, "slope_high": fit.slope_high}
            label += f": slope {fit.slope:.2f} [{fit.slope_low:.2f}, {fit.slope_high:.2f}]"
        shown = coverage * (1.06 if method == "xpo" else 1.0)  # XPO drawn 6% to the right: it overlaps RLHF
        if reached.any():
            plotting.errorbar_points(ax, shown[reached], est[reached], low[reached],
                                     np.where(np.isfinite(high), high, est)[reached], marker=markers[method],
                                     label=label)
        for r in mine:
            if not math.isfinite(r["m_star"]):
                ax.annotate("", xy=(r["coverage"], r["max_budget"] * 1.8), xytext=(r["coverage"], r["max_budget"]),
                            arrowprops=dict(arrowstyle="->", color="0.4"))
    sft_rows = sorted((r for r in rows if r["method"] == "sft"), key=lambda r: r["coverage"])
    if sft_rows:
        coverage = np.array([r["coverage"] for r in sft_rows])
        ax.plot(coverage, [r["exact_sft_threshold"] for r in sft_rows], color="C0", linewidth=1.2,
                label=r"SFT exact: $\lceil\log\rho/\log(1-1/C_{cov})\rceil$")
        ax.plot(coverage, coverage * np.log(1 / RHO), **plotting.THEORY_STYLE,
                label=r"Thm 4.1 / Prop. C.1 shape: $C_{cov}\log(1/\rho)$")
    ax.axhline(2 * DIMENSION, color="0.6", linestyle=":", linewidth=1, label=r"$m = 2d$ (d pairs)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"coverage coefficient $C_{cov}$ (sphere, d = 12, scale 4 → 0.25)")
    ax.set_ylabel(r"queries $m^*$ for $\pi(y^*)\geq 1-\delta$ w.p. $\geq 1-\rho$")
    ax.set_title("offline RLHF, XPO and SFT across coverage")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    seeds = int(min(r["seeds"] for r in rows))
    plotting.footnote(figure, f"δ = {DELTA}, ρ = {RHO}; {seeds} seeds per point; bars: 95% Wilson intervals per "
                      "budget turned into an interval on m*; arrows: m* beyond the largest budget. RLHF m = 2n, "
                      f"XPO m = 2T (plus {NUM_VALIDATION}(T+1) validation evaluations, not counted); slopes: "
                      "least squares on log-log axes, 95% t-intervals; XPO points drawn 6% right of their C_cov.")
    figure.subplots_adjust(bottom=0.4)
    atomic_save_figure(figure, figure_path)
    plotting.close(figure)
    return {"delta": DELTA, "rho": RHO, "dimension": DIMENSION, "cells": rows, "slopes": slopes}


EXPERIMENT = Experiment(
    name="offline_vs_online",
    title="Offline RLHF, XPO and SFT-Sharpening sample complexity across coverage (sphere, d = 12)",
    claim="SFT needs ∝ C_cov queries (Thm 4.1); RLHF's regression on a linear class does not need y* sampled "
          "(Thm 4.2 pays C_conc in the worst case, Thm 4.3 only SEC)",
    grid={"scale": [0.25, 0.5, 1.0, 2.0, 4.0], "method": list(METHODS)},
    seeds=100,
    settings={"dimension": DIMENSION, "delta": DELTA, "rho": RHO, "max_pairs": MAX_PAIRS, "max_rounds": MAX_ROUNDS,
              "sft_max_samples": SFT_MAX_SAMPLES},
    run_cell=run_cell,
    analyze=analyze,
    quick_grid={"scale": [1.0]},  # one scale: --quick is a smoke test
    quick_seeds=40,
)
