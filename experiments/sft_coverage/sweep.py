"""sft_coverage: the measured sample complexity m* of SFT-Sharpening grows linearly in C_cov (Theorem 4.1).

Claim (Theorem 4.1, Eq. 7). With n = c·log(|Π|/ρ)/(δε) and N = c·C_cov·log(2/δ)/ε, SFT-Sharpening is
(ε, δ)-sharp w.p. ≥ 1 − ρ, with m = n·N = O(C_cov log(|Π|/ρ) log(1/δ)/(δε²)): linear in C_cov at fixed ε, δ, ρ,
|Π|.

Instance: ``rare_prompt_instance`` (the shape of Appendix H's family: d rare prompts of total mass Δ = 2ε,
argmax mass 2/M), the tabular class. Varying M at fixed ε moves C_cov = (1 − Δ) + ΔM/2. Two measurements per
instance (``search``):
* ``optimum`` — SFT-Sharpening's own m*: the least n·N over all (n, N) with P[(ε, δ)-sharp] ≥ 1 − ρ (N on
  ``samples_grid`` around Theorem 4.1's N₀, n searched at each up to ``prompt_padding(ε)``, ``measure.allocation``);
* ``ray`` — the theorem's prescription: the smallest scale s along (n, N) = s·(n₀, N₀), Theorem 4.1 at c = 1
  (log|Π| := X log|supp Y|, the product class of deterministic rows); m* = n·N there.
Runs are simulated exactly in law (``sharpsim.referee.sft_laws``: n training pairs from π^BoN_N instead of n·N
oracle samples).

Measured: the slopes of log m* against log C_cov (optimum and ray), and of the optimum against the rare prompts'
coverage C_cov − (1 − Δ) = ΔM/2. Expected: slope 1 for C_cov ≫ 1. The construction explains the difference: the
common prompt (mass 1 − Δ) is answered surely, so only the rare prompts need samples, N* ∝ M (their argmax mass is
2/M) while n* stays put (they must be seen, n ≍ d/Δ): m* ∝ ΔM/2 = C_cov − (1 − Δ), whose offset flattens the slope
against C_cov at small C_cov. The theorem's ray also scales n₀ with log|Π| = (d + 1) log(M + 1), which grows along
the family: its curve is steeper than C_cov (its local slope is ``theory_slope_on_grid``).
"""

from __future__ import annotations

import math

import jax
import numpy as np

from sharpsim import theory
from sharpsim.classes import TabularClass
from sharpsim.instances.rare_prompt import rare_prompt_coverage, rare_prompt_instance
from sharpsim.measure.sft_search import (PROMPT_PADDING_FACTOR, RAY_UNITS, SAMPLES_GRID_RATIO, prompt_padding,
                                         search_sft_cell)
from sharpsim.runner.experiment import Sweep

EPS, DELTA, RHO = 0.1, 0.25, 0.1
NUM_RARE = 4
RARE_MASS = 2 * EPS
MAX_CANDIDATES = 512  # responses are padded to MAX_CANDIDATES + 1 so every cell shares one compilation
MAX_PROMPTS = 4096  # prompts padded (and masked) to this; covers scales s ≥ 1.5 (c = 1 in Thm 4.1 is s = 1)


def instance(num_candidates: int):
    return rare_prompt_instance(NUM_RARE, num_candidates, RARE_MASS, num_responses=MAX_CANDIDATES + 1)


def family_log_class_size(num_candidates):
    """log|Π| = (d + 1) log(M + 1) of the family (elementwise; M need not be an integer)."""
    return (NUM_RARE + 1) * np.log(np.asarray(num_candidates, dtype=float) + 1)


def ray_units(num_candidates: int) -> tuple[float, float, float]:
    """(n₀, N₀, log|Π|) with Theorem 4.1's n₀, N₀ at c = 1."""
    log_class_size = (NUM_RARE + 1) * math.log(num_candidates + 1)
    coverage = rare_prompt_coverage(num_candidates, RARE_MASS)
    n0 = float(theory.thm_4_1_num_prompts(log_class_size, EPS, DELTA, RHO))
    big_n0 = float(theory.thm_4_1_num_samples(coverage, EPS, DELTA))
    return n0, big_n0, log_class_size


def run_cell(params, key, seeds):
    num_candidates, search = int(params["num_candidates"]), params["search"]
    policy = instance(num_candidates)
    prompts_unit, samples_unit, log_class_size = ray_units(num_candidates)
    keys = jax.random.split(key, seeds)
    rows = search_sft_cell(search, policy, TabularClass.like(policy), keys, EPS, DELTA, RHO, prompts_unit,
                           samples_unit, MAX_PROMPTS, prompt_padding(EPS))
    size = rows["budget"].size
    rows["coverage"] = np.full(size, rare_prompt_coverage(num_candidates, RARE_MASS))
    rows["log_class_size"] = np.full(size, log_class_size)
    return rows


SWEEP = Sweep(
    title="SFT-Sharpening: its own sample complexity m* vs C_cov (Thm 4.1)",
    claim="Thm 4.1: m = O(C_cov log(|Π|/ρ) log(1/δ)/(δ ε²)), linear in C_cov",
    grid={"num_candidates": [8, 16, 32, 64, 128, 256, 512], "search": ["optimum", "ray"]},
    seeds=200,
    settings={"eps": EPS, "delta": DELTA, "rho": RHO, "num_rare": NUM_RARE, "rare_mass": RARE_MASS,
              "max_candidates": MAX_CANDIDATES, "max_prompts": MAX_PROMPTS, "ray_units": RAY_UNITS,
              "samples_grid_ratio": SAMPLES_GRID_RATIO, "prompt_padding_factor": PROMPT_PADDING_FACTOR},
    run_cell=run_cell,
    quick_grid={"num_candidates": [16, 64]},
    quick_seeds=40,
)
