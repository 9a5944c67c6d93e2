"""sft_class_size: the measured sample complexity of SFT-Sharpening grows linearly in log|Π| (Theorem 4.1).

Claim (Theorem 4.1 / Lemma F.1). The statistical part of SFT-Sharpening needs n = c·log(|Π|/ρ)/(δε) prompts, so
at a fixed number N of samples per prompt m = n·N grows linearly in log|Π|; the lower bound (Theorem 3.1) also
grows linearly in log|Π| ≍ d(1 + log(C/ε)).

Instance: ``rare_prompt_instance`` with d rare prompts (d = 2 … 64) of total mass Δ = 2ε, M = 8 candidates
(C_cov = 1 − Δ + ΔM/2 fixed). Classes:
* ``product``: Π = ∏_x {π_j : j = 0..M}, π_j(·|x) = (1 − η)·1{y_j} + η/|Y| with η = δ/2 (every prompt picks
  which response to be sharp on), |Π| = (M + 1)^(d+1), log|Π| = (d + 1) log(M + 1); its MLE is the mode of the
  prompt's BoN picks; an unseen prompt gets π_0 (sharp on y₀, wrong for a rare prompt);
* ``tabular`` for comparison (log|Π| = ∞; plotted at the product class's log|Π|).
Two measurements per cell (``search``):
* ``optimum`` — SFT-Sharpening's own m*: the least n·N over all (n, N) with success ≥ 1 − ρ (N on ``samples_grid``
  from 1 to 8·N₀, n searched at each, ``measure.allocation``; the product class's mode-of-picks MLE can find y*
  even from N = 1 samples, where y* is merely the most likely pick);
* ``fixed_N`` — N at Theorem 4.1's N₀ = C_cov log(2/δ)/ε (c = 1), n searched (``sample_complexity``); m* = n*·N₀.
Runs are simulated exactly in law (``sharpsim.referee.sft_laws``).
Measured: the slope of log m* against log log|Π| per class and search. Expected: 1 (here n* ≍ d/Δ: each of the d
rare prompts must be seen, while N* depends on C_cov only).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim import theory
from sharpsim.classes import ProductClass, TabularClass
from sharpsim.core.policy import TabularPolicy
from sharpsim.instances.rare_prompt import rare_prompt_coverage, rare_prompt_instance
from sharpsim.measure.complexity import sample_complexity
from sharpsim.measure.sft_search import RAY_UNITS, SAMPLES_GRID_RATIO, samples_grid, search_rows, search_sft_optimum
from sharpsim.referee.sft_laws import sft_success_law
from sharpsim.runner.experiment import Sweep

EPS, DELTA, RHO = 0.1, 0.25, 0.1
NUM_CANDIDATES = 8
RARE_MASS = 2 * EPS
MAX_RARE = 64  # prompts padded (with μ = 0) to MAX_RARE + 1 so every cell shares one compilation per class
MAX_PROMPTS = 4096
COVERAGE = rare_prompt_coverage(NUM_CANDIDATES, RARE_MASS)
NUM_SAMPLES = math.ceil(float(theory.thm_4_1_num_samples(COVERAGE, EPS, DELTA)))


def instance(num_rare: int) -> TabularPolicy:
    """The rare-prompt instance with ``num_rare`` rare prompts, padded with zero-mass prompts to MAX_RARE + 1."""
    if not 1 <= num_rare <= MAX_RARE:
        raise ValueError(f"num_rare must lie in [1, {MAX_RARE}], got {num_rare}")
    core = rare_prompt_instance(num_rare, NUM_CANDIDATES, RARE_MASS)
    probs = np.zeros((MAX_RARE + 1, NUM_CANDIDATES + 1))
    probs[: num_rare + 1] = np.asarray(core.probs)
    probs[num_rare + 1:, 0] = 1.0  # never drawn (μ = 0)
    prompt_probs = np.zeros(MAX_RARE + 1)
    prompt_probs[: num_rare + 1] = np.asarray(core.prompt_probs)
    return TabularPolicy(probs, prompt_probs)


def product_class(policy: TabularPolicy) -> ProductClass:
    """Every prompt chooses which response j to be sharp on: rows[x, j] = (1 − η)e_j + η/|Y|, η = δ/2."""
    num_responses = policy.num_responses
    eta = DELTA / 2
    candidates = (1 - eta) * np.eye(num_responses) + eta / num_responses
    return ProductClass.shared(candidates, prompt_probs=policy.prompt_probs)


def log_class_size(num_rare: int) -> float:
    """log|Π| of the product class on the d + 1 prompts that carry mass."""
    return (num_rare + 1) * math.log(NUM_CANDIDATES + 1)


def run_cell(params, key, seeds):
    num_rare, learner, search = int(params["num_rare"]), params["model_class"], params["search"]
    policy = instance(num_rare)
    if learner == "product":
        model_class = product_class(policy)
    elif learner == "tabular":
        model_class = TabularClass.like(policy)
    else:
        raise ValueError(f"model_class must be 'product' or 'tabular', got {learner!r}")
    keys = jax.random.split(key, seeds)
    if search == "optimum":
        grid = samples_grid(NUM_SAMPLES, below=NUM_SAMPLES)  # from N = 1
        rows = search_sft_optimum(policy, model_class, keys, EPS, DELTA, RHO, grid, MAX_PROMPTS)
        return _with_instance_columns(rows, num_rare)
    if search != "fixed_N":
        raise ValueError(f"search must be 'optimum' or 'fixed_N', got {search!r}")
    big_n = jnp.asarray(float(NUM_SAMPLES))

    def success(keys_, budget):
        return sft_success_law(policy, model_class, keys_, jnp.asarray(budget, jnp.int64), big_n, EPS, DELTA,
                               MAX_PROMPTS)

    # start at n₀/8 (Thm 4.1, c = 1): the search doubles up from a start below the threshold more cheaply than
    # it bisects down from one far above it
    start = max(1, int(theory.thm_4_1_num_prompts(log_class_size(num_rare), EPS, DELTA, RHO)) // 8)
    result = sample_complexity(success, keys, RHO, initial_budget=min(start, MAX_PROMPTS), max_budget=MAX_PROMPTS)
    rows = search_rows(result, lambda b: (b, NUM_SAMPLES), lambda n, n_samples: n * n_samples)
    rows["scale"] = rows["budget"].astype(float)  # the budget is n itself here
    return _with_instance_columns(rows, num_rare)


def _with_instance_columns(rows, num_rare: int):
    size = rows["budget"].size
    rows["log_class_size"] = np.full(size, log_class_size(num_rare))
    rows["coverage"] = np.full(size, COVERAGE)
    return rows


SWEEP = Sweep(
    title="SFT-Sharpening: m* vs log|Π| (Thm 4.1, Lemma F.1)",
    claim="Thm 4.1: m ∝ log(|Π|/ρ) at fixed ε, δ, C_cov",
    grid={"num_rare": [2, 4, 8, 16, 32, 64], "model_class": ["product", "tabular"],
          "search": ["optimum", "fixed_N"]},
    seeds=200,
    settings={"eps": EPS, "delta": DELTA, "rho": RHO, "num_candidates": NUM_CANDIDATES, "rare_mass": RARE_MASS,
              "max_prompts": MAX_PROMPTS, "num_samples": NUM_SAMPLES, "max_rare": MAX_RARE, "ray_units": RAY_UNITS,
              "samples_grid_ratio": SAMPLES_GRID_RATIO, "samples_grid_low": 1},
    run_cell=run_cell,
    quick_grid={"num_rare": [2, 8], "model_class": ["product"]},
    quick_seeds=40,
)
