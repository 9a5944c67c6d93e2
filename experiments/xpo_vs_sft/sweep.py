"""xpo_vs_sft: the separation of Example J.1 — sample complexity of XPO and SFT-Sharpening on ``sphere`` against d.

Claim (Theorem 4.3 / J.3 against Theorem 4.1). On the sphere instance (one prompt, |Y| = e^{Θ(d)} codewords,
γ_margin = e^{1/2} − 1, C_cov = Ω(|Y|)), RLHF with exploration (Algorithm 1) needs poly(d) queries, while SFT-
Sharpening needs ≳ C_cov = e^{Ω(d)}: the best-of-N law it imitates is not sharp until N ≈ C_cov.

Measured. For each d, the smallest budget m* at which the learner is (ε, δ)-sharp (one prompt: π̂(y*) ≥ 1 − δ,
δ = 0.1) with probability ≥ 1 − ρ (ρ = 0.1) over seeds, found by ``complexity.sample_complexity`` (common random
numbers; 95% Wilson intervals per budget), both learners over the same class Π_{φ,B} (``sphere``'s linear class):

* SFT-Sharpening with n = 1 prompt and N samples (m = N; with one prompt, more prompts only add cost: the MLE is
  sharp only if every BoN pick is y*). One draw of N_max samples per seed gives BoN_N for every N
  (``measure.first_success.first_success``); SFT succeeds at N iff BoN_N = y* and the single-target fit at y* is
  δ-sharp (``single_target_fit_mass``, which also checks the fit at a nearest other codeword; δ < 1/2). The exact
  m* = ⌈log ρ / log(1 − p*)⌉ (``bon_samples_needed``) is drawn beside it.
* XPO (``measure.rlhf_engine.xpo_success_curves``), β = γ_margin/(2 log(2|Y|/δ)) (Theorem J.2 / 4.3), K = 20 Adam
  steps per round, V = 32 validation draws per iterate, one run of T_max = 6d + 24 rounds per seed giving the output
  at every T ≤ T_max. Budget m = 2T (one sample + one evaluation per round: the paper's accounting, Theorem J.2);
  m including validation, 2T + (T + 1)V, is reported too. Three optimism weights: "XPO, α = 0 (on-policy regression,
  no exploration bonus)": the optimism term is off, so this row does not test exploration (the SEC mechanism of
  Theorem 4.3); on this instance the linear regression alone identifies θ (``xpo_alpha`` varies α where it
  matters); α = 10⁻³·α_J2; and α = α_J2, Theorem J.2's α at T = T_max (``xpo_constants``: SEC from Lemma J.5,
  log N(Π, ε_disc) from Lemma J.4, R_max from Theorem J.3), ε = 0.1. With α_J2 itself (constant 1) the optimism
  term can outweigh the regression term until T ≫ R_max²·SEC/β² (Theorem J.2's own condition on T), in which case
  no seed is sharp within T_max and m* is reported as beyond the largest budget.

``analysis.py`` overlays C_cov (exact) and the Theorem 4.1 / 4.3 rates as functions of d, each scaled to pass
through the first measured point (their absolute constants are unspecified): Theorem 4.1 ∝ C_cov·log|Π| with
log|Π| → d log(6B/ε_disc); Theorem 4.3 ∝ SEC·log|Π| = d log(T+1)·d log(6B/ε_disc).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.instances.sphere import sphere
from sharpsim.measure.complexity import sample_complexity
from sharpsim.measure.first_success import bon_samples_needed, first_success, single_target_fit_mass
from sharpsim.measure.rlhf_engine import xpo_constants, xpo_success_curves
from sharpsim.runner.experiment import Sweep

DELTA = 0.1
RHO = 0.1
EPS = 0.1
NUM_STEPS = 20
NUM_VALIDATION = 32
LEARNING_RATE = 0.5
SFT_MAX_SAMPLES = 2**16
METHODS = ("sft", "xpo_alpha0", "xpo_alpha_small", "xpo_alpha_thm")
ALPHA_SCALES = {"xpo_alpha0": 0.0, "xpo_alpha_small": 1e-3, "xpo_alpha_thm": 1.0}


def max_rounds(dimension: int) -> int:
    return 6 * dimension + 24


def constants(dimension: int) -> dict:
    """Theorem J.2's β, R_max, SEC, log N(Π, ε_disc) and α_J2 on ``sphere(dimension)`` at T = T_max."""
    return xpo_constants(sphere(dimension, delta=DELTA), max_rounds(dimension), DELTA, EPS)


def _sft_cell(instance, keys):
    first = np.asarray(first_success(instance.policy, keys, SFT_MAX_SAMPLES)[1])
    mass_optimum, mass_other = single_target_fit_mass(instance)
    fit_sharp = mass_optimum >= 1.0 - DELTA
    success = lambda _, budget: (first > 0) & (first <= int(budget)) & fit_sharp  # noqa: E731
    result = sample_complexity(success, keys, RHO, initial_budget=max(1, int(instance.coverage)),
                               max_budget=SFT_MAX_SAMPLES, grid="log", resolution=0.05)
    extra = {"fit_mass_at_optimum": mass_optimum, "fit_mass_other_target": mass_other, "beta": np.nan,
             "alpha": np.nan, "exact_threshold": float(bon_samples_needed(instance.coverage, RHO)),
             "last_iterate_success": np.nan}
    return result, extra, lambda m: m


def _xpo_cell(instance, keys, dimension: int, method: str):
    num_rounds = max_rounds(dimension)
    fixed = constants(dimension)
    alpha = ALPHA_SCALES[method] * fixed["alpha_thm"]
    curves = xpo_success_curves(instance.policy, instance.model_class, keys, fixed["beta"], jnp.asarray(alpha),
                                fixed["reward_range"], instance.optimum, num_rounds, delta=DELTA, num_steps=NUM_STEPS,
                                num_validation=NUM_VALIDATION, learning_rate=LEARNING_RATE)
    success_curves = np.asarray(curves.success)  # [seeds, T_max + 1], column T = output after T rounds
    success = lambda _, rounds: success_curves[:, int(rounds)]  # noqa: E731
    result = sample_complexity(success, keys, RHO, initial_budget=dimension, min_budget=1, max_budget=num_rounds,
                               grid="integer")
    result = dataclasses.replace(result, budgets=2 * result.budgets, estimate=2 * result.estimate,
                                 lower=2 * result.lower, upper=2 * result.upper)  # rounds T → queries m = 2T
    extra = {"fit_mass_at_optimum": np.nan, "fit_mass_other_target": np.nan, "beta": fixed["beta"], "alpha": alpha,
             "exact_threshold": np.nan,
             "last_iterate_success": float(np.mean(np.asarray(curves.last_iterate_mass) >= 1 - DELTA))}
    return result, extra, lambda m: m + (m / 2 + 1) * NUM_VALIDATION


def run_cell(params, key, seeds):
    dimension, method = int(params["dimension"]), params["method"]
    if method not in METHODS:
        raise ValueError(f"xpo_vs_sft knows methods {METHODS}, got {method!r}")
    instance = sphere(dimension, delta=DELTA)
    keys = jax.random.split(key, seeds)
    if method == "sft":
        result, extra, total = _sft_cell(instance, keys)
    else:
        result, extra, total = _xpo_cell(instance, keys, dimension, method)
    info = {"num_responses": instance.num_responses, "coverage": instance.coverage, "margin": instance.margin,
            "radius": instance.radius}
    columns = result.records()
    size = len(columns["budget"])
    columns.update({
        "threshold_with_validation": np.full(size, total(result.estimate)),
        "threshold_with_validation_lower": np.full(size, total(result.lower)),
        "threshold_with_validation_upper": np.full(size, total(result.upper)),
    })
    columns.update({name: np.full(size, value, dtype=float) for name, value in {**info, **extra}.items()})
    return columns


SWEEP = Sweep(
    title="Example J.1: XPO (poly d) vs SFT-Sharpening (∝ C_cov = e^{Θ(d)}) sample complexity on sphere",
    claim="Thm 4.3/J.3 vs Thm 4.1 on Example J.1: XPO needs poly(d) queries, SFT needs ≳ C_cov = exp(Ω(d))",
    grid={"dimension": [4, 8, 12, 16, 20, 24], "method": list(METHODS)},
    seeds=100,
    settings={"delta": DELTA, "rho": RHO, "eps": EPS, "num_steps": NUM_STEPS, "num_validation": NUM_VALIDATION,
              "learning_rate": LEARNING_RATE, "sft_max_samples": SFT_MAX_SAMPLES, "alpha_scales": ALPHA_SCALES},
    run_cell=run_cell,
    quick_grid={"dimension": [4], "method": ["sft", "xpo_alpha0"]},  # one XPO compilation: --quick is a smoke test
    quick_seeds=40,
)
