"""xpo_vs_sft: the separation of Example J.1 — sample complexity of XPO and SFT-Sharpening on ``sphere`` against d.

Claim (digest §4 item 2, Thm 4.3 / J.3 vs Thm 4.1). On the sphere instance (one prompt, |Y| = e^{Θ(d)} codewords,
γ_margin = e^{1/2} − 1, C_cov = Ω(|Y|)), RLHF with exploration (Algorithm 1) needs poly(d) queries, while SFT-
Sharpening needs ≳ C_cov = e^{Ω(d)}: the best-of-N law it imitates is not sharp until N ≈ C_cov.

Measured. For each d, the smallest budget m* at which the learner is (ε, δ)-sharp (one prompt: π̂(y*) ≥ 1 − δ,
δ = 0.1) with probability ≥ 1 − ρ (ρ = 0.1) over seeds, found by ``complexity.sample_complexity`` (common random
numbers; 95% Wilson intervals per budget), both learners over the same class Π_{φ,B} (``sphere``'s linear class):

* SFT-Sharpening with n = 1 prompt and N samples (m = N; with one prompt, more prompts only add cost: the MLE is
  sharp only if every BoN pick is y*). One draw of N_max samples per seed gives BoN_N for every N
  (``running_best_index``); the MLE of a single target is computed by ``model_class.fit`` at the target y*, and the
  linear code's isometries (y ↦ y ⊕ c flips coordinate signs of φ, an orthogonal map of θ) make the fit at any other
  target its relabelling, so SFT succeeds at N iff BoN_N = y* and fit(y*) is δ-sharp (checked; δ < 1/2). The exact
  m* = ⌈log ρ / log(1 − p*)⌉ is drawn beside it.
* XPO (``xpo_sharpen``), β = γ_margin/(2 log(2|Y|/δ)) (Thm J.2 / 4.3), K = 20 Adam steps per round, V = 32 validation
  draws per iterate, one run of T_max rounds per seed giving the output at every T ≤ T_max (``select_prefix``).
  Budget m = 2T (one sample + one evaluation per round: the paper's accounting, Thm J.2); m including validation,
  2T + (T + 1)V, is reported too. Three optimism weights: α = 0 (no exploration bonus), α = 10⁻³·α_J2 and α = α_J2,
  Thm J.2's α = (β/R_max)√(log(2N(Π, ε_disc)T/δ)/(SEC·T)) at T = T_max with SEC = d log(T+1) (Lemma J.5),
  log N = d log(6B/ε_disc) (Lemma J.4), ε_disc = εδ/√(SEC·T), R_max from Thm J.3 (which absorbs V_max), ε = 0.1.

Measured (full run, 100 seeds, d = 4…24, |Y| = 16…8192, C_cov = 6.7…3082). SFT's m* tracks its exact value and
grows like e^{0.31 d} (slope of log m* on d: 0.31 [0.22, 0.39]; C_cov's own: 0.29), from 15 to 9103. XPO (α = 0)
needs m* = 2T* = 12…36 (log-log slope 0.62 [0.51, 0.74]: at most linear in d), α = 10⁻³α_J2: 12…50; both are
below SFT at every d ≥ 8 with disjoint intervals (d = 4: 12 [10, 14] vs 15 [12, 18]). Counting XPO's 32(T+1)
validation evaluations too, XPO costs 236…644 queries and overtakes SFT between d = 12 and 16. With Thm J.2's α
itself (constant 1), no seed is sharp within T_max = 6d + 24 rounds: the optimism term outweighs the regression
term until T ≫ R_max²·SEC/β² (Thm J.2's own condition on T), so the separation is shown by XPO with a small α.

Overlays: C_cov (exact) and the Thm 4.1 / Thm 4.3 rates as functions of d, each scaled to pass through the
first measured point (their absolute constants are unspecified): Thm 4.1 ∝ C_cov·log|Π| with log|Π| → d log(6B/ε_disc);
Thm 4.3 ∝ SEC·log|Π| = d log(T+1)·d log(6B/ε_disc).
"""

from __future__ import annotations

import dataclasses
import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.runner import figures as plotting
from sharpsim.algorithms.xpo import select_prefix, xpo_sharpen
from sharpsim.measure.complexity import sample_complexity, threshold_from_table
from sharpsim.experiments.bon_coverage import first_success
from sharpsim.instances.sphere import sphere
from sharpsim.core.oracle import Oracle
from sharpsim.measure.statistics import fit_loglog_slope
from sharpsim.runner.sweep import Experiment, atomic_save_figure, counted_jit
from sharpsim.theory.rlhf import (lemma_j4_log_net_size, lemma_j5_sec_bound, thm_j2_alpha, thm_j2_beta,
                                  thm_j2_eps_disc, thm_j3_reward_range)

DELTA = 0.1
RHO = 0.1
EPS = 0.1
NUM_STEPS = 20
NUM_VALIDATION = 32
LEARNING_RATE = 0.5
SFT_MAX_SAMPLES = 2**16
METHODS = ("sft", "xpo_alpha0", "xpo_alpha_small", "xpo_alpha_thm")
ALPHA_SCALES = {"xpo_alpha0": 0.0, "xpo_alpha_small": 1e-3, "xpo_alpha_thm": 1.0}
LABELS = {"sft": "SFT-Sharpening (n = 1)", "xpo_alpha0": r"XPO, $\alpha=0$",
          "xpo_alpha_small": r"XPO, $\alpha=10^{-3}\alpha_{J.2}$", "xpo_alpha_thm": r"XPO, $\alpha=\alpha_{J.2}$"}


def max_rounds(dimension: int) -> int:
    return 6 * dimension + 24


def xpo_constants(instance, num_rounds: int) -> dict:
    """β (Thm J.2), R_max (Thm J.3) and α_J2 at T = ``num_rounds`` (module docstring)."""
    num_responses, dimension, radius = instance.num_responses, instance.dimension, instance.radius
    beta = float(thm_j2_beta(instance.margin, num_responses, DELTA))
    reward_range = float(thm_j3_reward_range(beta, radius, num_responses))
    sec = float(lemma_j5_sec_bound(dimension, num_rounds))
    eps_disc = float(thm_j2_eps_disc(EPS, DELTA, sec, num_rounds))
    log_net = float(lemma_j4_log_net_size(radius, eps_disc, dimension))
    alpha = float(thm_j2_alpha(beta, reward_range, sec, log_net, num_rounds, DELTA))
    return {"beta": beta, "reward_range": reward_range, "sec": sec, "log_net_size": log_net, "alpha_thm": alpha}


@partial(counted_jit, static_argnames=("num_rounds",))
def xpo_success_curves(policy, model_class, keys, beta, alpha, reward_range, optimum, num_rounds: int):
    """Per seed and T = 0..T_max: whether XPO's output after T rounds puts ≥ 1 − δ on y*. Also returns the
    per-seed sharpness of the last iterate and the queries of one full run."""

    def one_seed(key):
        result, oracle = xpo_sharpen(key, Oracle(policy), model_class, num_rounds, beta, alpha, num_steps=NUM_STEPS,
                                     num_validation=NUM_VALIDATION, learning_rate=LEARNING_RATE,
                                     reward_range=reward_range, value_range=0.0)
        mass = jax.vmap(lambda theta: model_class.policy(theta).probs[0, optimum])(result.iterates)
        chosen = select_prefix(result.validation, jnp.arange(num_rounds + 1))
        return mass[chosen] >= 1.0 - DELTA, mass[-1], result.queries.total, oracle.queries.total

    return jax.vmap(one_seed)(keys)


def sft_first_hit(policy, keys, max_samples: int):
    """Per seed: the first N ≤ max_samples at which the BoN_N pick (n = 1) is y* (0 if none), through the oracle
    (``bon_coverage.first_success``)."""
    return first_success(policy, keys, max_samples)[1]


def sft_fit_mass(instance) -> tuple[float, float]:
    """π̂(y*) of the linear-class MLE on the single target y*, and on the single target of a nearest codeword."""
    model_class = instance.model_class
    at_optimum = model_class.fit(jnp.zeros(1, jnp.int64), jnp.array([instance.optimum]))
    distances = np.sum(instance.codewords != instance.codewords[instance.optimum], axis=1)
    other = int(np.flatnonzero(distances == instance.min_distance)[0])
    at_other = model_class.fit(jnp.zeros(1, jnp.int64), jnp.array([other]))
    return (float(at_optimum.policy.probs[0, instance.optimum]), float(at_other.policy.probs[0, instance.optimum]))


def exact_sft_threshold(coverage: float) -> float:
    """Smallest N with P[BoN_N = y*] = 1 − (1 − p*)^N ≥ 1 − ρ, p* = 1/C_cov."""
    return float(math.ceil(math.log(RHO) / math.log1p(-1.0 / coverage)))


def run_cell(params, key, seeds):
    dimension, method = int(params["dimension"]), params["method"]
    instance = sphere(dimension, delta=DELTA)
    keys = jax.random.split(key, seeds)
    info = {"num_responses": instance.num_responses, "coverage": instance.coverage, "margin": instance.margin,
            "radius": instance.radius}
    if method == "sft":
        first = np.asarray(sft_first_hit(instance.policy, keys, SFT_MAX_SAMPLES))
        mass_optimum, mass_other = sft_fit_mass(instance)
        fit_sharp = mass_optimum >= 1.0 - DELTA
        success = lambda _, budget: (first > 0) & (first <= int(budget)) & fit_sharp  # noqa: E731
        result = sample_complexity(success, keys, RHO, initial_budget=max(1, int(instance.coverage)),
                                   max_budget=SFT_MAX_SAMPLES, grid="log", resolution=0.05)
        extra = {"fit_mass_at_optimum": mass_optimum, "fit_mass_other_target": mass_other, "beta": np.nan,
                 "alpha": np.nan, "exact_threshold": exact_sft_threshold(instance.coverage),
                 "last_iterate_success": np.nan}
        rounds_to_total = None
    else:
        num_rounds = max_rounds(dimension)
        constants = xpo_constants(instance, num_rounds)
        alpha = ALPHA_SCALES[method] * constants["alpha_thm"]
        success_curves, last_mass, _, _ = xpo_success_curves(
            instance.policy, instance.model_class, keys, constants["beta"], jnp.asarray(alpha),
            constants["reward_range"], instance.optimum, num_rounds)
        success_curves = np.asarray(success_curves)  # [seeds, T_max + 1], column T = output after T rounds
        success = lambda _, rounds: success_curves[:, int(rounds)]  # noqa: E731
        result = sample_complexity(success, keys, RHO, initial_budget=dimension, min_budget=1,
                                   max_budget=num_rounds, grid="integer")
        result = dataclasses.replace(result, budgets=2 * result.budgets, estimate=2 * result.estimate,
                                     lower=2 * result.lower, upper=2 * result.upper)  # rounds T → queries m = 2T
        extra = {"fit_mass_at_optimum": np.nan, "fit_mass_other_target": np.nan, "beta": constants["beta"],
                 "alpha": alpha, "exact_threshold": np.nan,
                 "last_iterate_success": float(np.mean(np.asarray(last_mass) >= 1 - DELTA))}
        rounds_to_total = lambda m: m + (m / 2 + 1) * NUM_VALIDATION  # noqa: E731
    columns = result.records()
    size = len(columns["budget"])
    total = (lambda m: m) if rounds_to_total is None else rounds_to_total
    columns.update({
        "threshold_with_validation": np.full(size, total(result.estimate)),
        "threshold_with_validation_lower": np.full(size, total(result.lower)),
        "threshold_with_validation_upper": np.full(size, total(result.upper)),
    })
    columns.update({name: np.full(size, value, dtype=float) for name, value in {**info, **extra}.items()})
    return columns


def summarise(table) -> list[dict]:
    rows = []
    for (dimension, method), cell in table.groupby(["dimension", "method"], sort=True):
        estimate, lower, upper = threshold_from_table(cell.budget, cell.successes, cell.trials, 1 - RHO)
        first = cell.iloc[0]
        rows.append({"dimension": int(dimension), "method": method, "m_star": estimate, "m_star_lower": lower,
                     "m_star_upper": upper, "m_star_with_validation": float(first.threshold_with_validation),
                     "m_star_with_validation_upper": float(first.threshold_with_validation_upper),
                     "num_responses": int(first.num_responses), "coverage": float(first.coverage),
                     "margin": float(first.margin), "beta": float(first.beta), "alpha": float(first.alpha),
                     "exact_sft_threshold": float(first.exact_threshold),
                     "sft_fit_mass_at_optimum": float(first.fit_mass_at_optimum),
                     "xpo_last_iterate_success": float(first.last_iterate_success),
                     "max_budget": float(cell.budget.max()), "seeds": int(cell.trials.iloc[0])})
    return rows


def _growth_fits(rows) -> dict:
    """log m* against d (exponential growth rate) and log m* against log d (polynomial degree), per method."""
    fits = {}
    coverage = sorted({(r["dimension"], r["coverage"]) for r in rows})
    if len(coverage) >= 3:
        d, c = np.array(coverage, dtype=float).T
        fits["coverage"] = {"log_m_per_dimension": fit_loglog_slope(np.exp(d), c).slope}
    for method in METHODS:
        points = [(r["dimension"], r["m_star"]) for r in rows if r["method"] == method and math.isfinite(r["m_star"])]
        if len(points) >= 3:
            d, m = np.array(points, dtype=float).T
            rate = fit_loglog_slope(np.exp(d), m)  # slope of log m* against d, with its t-interval
            degree = fit_loglog_slope(d, m)
            fits[method] = {"log_m_per_dimension": rate.slope, "log_m_per_dimension_low": rate.slope_low,
                            "log_m_per_dimension_high": rate.slope_high, "loglog_slope": degree.slope,
                            "loglog_slope_low": degree.slope_low, "loglog_slope_high": degree.slope_high,
                            "dimensions": d.tolist()}
    return fits


def analyze(table, figure_path):
    rows = summarise(table)
    figure, (ax, ax_ratio) = plotting.new_figure(2, width_per_panel=5.6, height=4.6)
    markers = {"sft": "s", "xpo_alpha0": "o", "xpo_alpha_small": "^", "xpo_alpha_thm": "v"}
    dims = sorted({r["dimension"] for r in rows})
    for method in METHODS:
        mine = [r for r in rows if r["method"] == method]
        if not mine:
            continue
        d = np.array([r["dimension"] for r in mine], dtype=float)
        est = np.array([r["m_star"] for r in mine])
        low = np.array([r["m_star_lower"] for r in mine])
        high = np.array([r["m_star_upper"] for r in mine])
        reached = np.isfinite(est)
        if reached.any():
            plotting.errorbar_points(ax, d[reached], est[reached], low[reached],
                                     np.where(np.isfinite(high), high, est)[reached], marker=markers[method],
                                     label=LABELS[method])
        censored = [r for r in mine if not math.isfinite(r["m_star"])]
        for r in censored:
            ax.annotate("", xy=(r["dimension"], r["max_budget"] * 1.8), xytext=(r["dimension"], r["max_budget"]),
                        arrowprops=dict(arrowstyle="->", color="C3"))
        if censored:
            ax.plot([], [], marker=r"$\uparrow$", color="C3", linestyle="none", markersize=9,
                    label=LABELS[method] + r": not sharp by $T_{max}$ (m* > arrow base)")
        if method.startswith("xpo") and reached.any():
            with_val = np.array([r["m_star_with_validation"] for r in mine])
            ax.plot(d[reached], with_val[reached], linestyle=":", marker=markers[method], fillstyle="none",
                    color="0.5", label=LABELS[method] + " incl. validation")
    sft_rows = sorted((r for r in rows if r["method"] == "sft"), key=lambda r: r["dimension"])
    if sft_rows:
        d = np.array([r["dimension"] for r in sft_rows], dtype=float)
        coverage = np.array([r["coverage"] for r in sft_rows])
        ax.plot(d, [r["exact_sft_threshold"] for r in sft_rows], color="C0", linewidth=1.2,
                label=r"SFT exact: $\lceil\log\rho/\log(1-1/C_{cov})\rceil$")
        ax.plot(d, coverage, color="0.3", linewidth=1.0, label=r"$C_{cov}=1/\pi_{base}(y^*)$ (exact)")
        anchor = sft_rows[0]["m_star"]
        log_class = np.array([_log_class(int(x)) for x in d])
        if math.isfinite(anchor):
            rate = coverage * log_class
            ax.plot(d, anchor * rate / rate[0], **plotting.THEORY_STYLE,
                    label=r"Thm 4.1 rate $\propto C_{cov}\log|\Pi|$ (scaled)")
    xpo_rows = sorted((r for r in rows if r["method"] == "xpo_alpha0"), key=lambda r: r["dimension"])
    if xpo_rows and math.isfinite(xpo_rows[0]["m_star"]):
        d = np.array([r["dimension"] for r in xpo_rows], dtype=float)
        rate = np.array([lemma_j5_sec_bound(int(x), max_rounds(int(x))) * _log_class(int(x)) for x in d])
        ax.plot(d, xpo_rows[0]["m_star"] * rate / rate[0], color="0.5", linestyle="--", linewidth=1.2,
                label=r"Thm 4.3 rate $\propto$ SEC$\cdot\log|\Pi|$ (scaled)")
    ax.set_yscale("log")
    ax.set_xlabel("dimension d")
    ax.set_ylabel(rf"queries $m^*$ for $\pi(y^*)\geq 1-\delta$ w.p. $\geq 1-\rho$")
    ax.set_title(r"(a) sample complexity on sphere (Example J.1)")
    ax.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)

    fits = _growth_fits(rows)
    for method in ("sft", "xpo_alpha0", "xpo_alpha_small"):
        mine = [r for r in rows if r["method"] == method and math.isfinite(r["m_star"])]
        if mine:
            ax_ratio.plot([r["dimension"] for r in mine], [r["m_star"] / r["dimension"] for r in mine],
                          marker=markers[method], label=LABELS[method])
    ax_ratio.set_yscale("log")
    ax_ratio.set_xlabel("dimension d")
    ax_ratio.set_ylabel(r"$m^*/d$")
    ax_ratio.set_title(r"(b) $m^*/d$: flat = linear in d")
    ax_ratio.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    seeds = int(min(r["seeds"] for r in rows))
    plotting.footnote(figure, f"δ = {DELTA}, ρ = {RHO}; {seeds} seeds per point (common random numbers); bars: 95% "
                      "Wilson intervals per budget turned into an interval on m* (complexity.sample_complexity); an "
                      "arrow marks m* beyond the largest budget tried. XPO m = 2T (1 sample + 1 evaluation per "
                      f"round); dotted: + {NUM_VALIDATION}(T+1) validation evaluations. Theory rates scaled to the "
                      "first point (constants unspecified).")
    figure.subplots_adjust(bottom=0.4, wspace=0.3)
    atomic_save_figure(figure, figure_path)
    plotting.close(figure)
    crossover = None
    for dim in dims:
        by = {r["method"]: r["m_star"] for r in rows if r["dimension"] == dim}
        if "sft" in by and "xpo_alpha0" in by and by["xpo_alpha0"] < by["sft"]:
            crossover = dim
            break
    return {"delta": DELTA, "rho": RHO, "cells": rows, "growth": fits,
            "first_dimension_xpo_alpha0_beats_sft": crossover}


def _log_class(dimension: int) -> float:
    """log|Π| → log N(Π, ε_disc) = d log(6B/ε_disc) (Lemma J.4) at the XPO cell's T_max."""
    instance = sphere(dimension, delta=DELTA)
    return xpo_constants(instance, max_rounds(dimension))["log_net_size"]


EXPERIMENT = Experiment(
    name="xpo_vs_sft",
    title="Example J.1: XPO (poly d) vs SFT-Sharpening (∝ C_cov = e^{Θ(d)}) sample complexity on sphere",
    claim="Thm 4.3/J.3 vs Thm 4.1 on Example J.1: XPO needs poly(d) queries, SFT needs ≳ C_cov = exp(Ω(d))",
    grid={"dimension": [4, 8, 12, 16, 20, 24], "method": list(METHODS)},
    seeds=100,
    settings={"delta": DELTA, "rho": RHO, "eps": EPS, "num_steps": NUM_STEPS, "num_validation": NUM_VALIDATION,
              "learning_rate": LEARNING_RATE, "sft_max_samples": SFT_MAX_SAMPLES, "alpha_scales": ALPHA_SCALES},
    run_cell=run_cell,
    analyze=analyze,
    quick_grid={"dimension": [4], "method": ["sft", "xpo_alpha0"]},  # one XPO compilation: --quick is a smoke test
    quick_seeds=40,
)
