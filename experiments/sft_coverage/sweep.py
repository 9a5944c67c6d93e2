"""sft_coverage: the measured sample complexity m* of SFT-Sharpening grows linearly in C_cov (Theorem 4.1).

Claim (Theorem 4.1, Eq. 7). With n = c·log(|Π|/ρ)/(δε) and N = c·C_cov·log(2/δ)/ε, SFT-Sharpening is
(ε, δ)-sharp w.p. ≥ 1 − ρ, with m = n·N = O(C_cov log(|Π|/ρ) log(1/δ)/(δε²)): linear in C_cov at fixed ε, δ, ρ,
|Π|.

Instance: ``rare_prompt_instance`` (the shape of Appendix H's family: d rare prompts of total mass Δ = 2ε,
argmax mass 2/M), the tabular class. Varying M at fixed ε moves C_cov = (1 − Δ) + ΔM/2. For each instance,
``sample_complexity`` finds the smallest scale s with P[(ε, δ)-sharp] ≥ 1 − ρ along the ray
(n, N) = s·(n₀/√r, N₀·√r), where (n₀, N₀) are Theorem 4.1's prescriptions at c = 1 (log|Π| := X log|supp Y|,
the product class of deterministic rows) and r skews the ratio N/n (r = 1: the theorem's ratio); m* = n·N there.
Runs are simulated exactly in law (``sharpsim.referee.sft_laws``: n training pairs from π^BoN_N instead of n·N
oracle samples).

Measured: the slope of log m* against log C_cov at r = 1, for the best ratio per level (min over r; its
t-interval does not account for choosing the best of the ratios), and against the rare prompts' coverage
C_cov − (1 − Δ). Expected: slope 1 for C_cov ≫ 1; on this grid log|Π| grows with M too, so the theorem's own
curve is steeper (its local slope is reported as ``theory_slope_on_grid``), and at small C_cov the N requirement
is tiny and n binds.
"""

from __future__ import annotations

import math

import jax
import numpy as np

from sharpsim import theory
from sharpsim.classes import TabularClass
from sharpsim.instances.rare_prompt import rare_prompt_coverage, rare_prompt_instance
from sharpsim.measure.sft_search import RAY_UNITS, ray_point, search_rows, search_sft_ray
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


def ray_units(num_candidates: int, ratio: float) -> tuple[float, float, float]:
    """(n₀/√r, N₀·√r, log|Π|) with Theorem 4.1's n₀, N₀ at c = 1."""
    log_class_size = (NUM_RARE + 1) * math.log(num_candidates + 1)
    coverage = rare_prompt_coverage(num_candidates, RARE_MASS)
    n0 = float(theory.thm_4_1_num_prompts(log_class_size, EPS, DELTA, RHO))
    big_n0 = float(theory.thm_4_1_num_samples(coverage, EPS, DELTA))
    return n0 / math.sqrt(ratio), big_n0 * math.sqrt(ratio), log_class_size


def run_cell(params, key, seeds):
    num_candidates, ratio = int(params["num_candidates"]), float(params["ratio"])
    policy = instance(num_candidates)
    prompts_unit, samples_unit, log_class_size = ray_units(num_candidates, ratio)
    keys = jax.random.split(key, seeds)
    result, _, _ = search_sft_ray(policy, TabularClass.like(policy), keys, EPS, DELTA, RHO, prompts_unit,
                                  samples_unit, MAX_PROMPTS)
    rows = search_rows(result, lambda b: ray_point(b, prompts_unit, samples_unit), lambda n, big_n: n * big_n)
    size = rows["budget"].size
    rows["coverage"] = np.full(size, rare_prompt_coverage(num_candidates, RARE_MASS))
    rows["log_class_size"] = np.full(size, log_class_size)
    return rows


SWEEP = Sweep(
    title="SFT-Sharpening: measured sample complexity m* vs C_cov (Thm 4.1)",
    claim="Thm 4.1: m = O(C_cov log(|Π|/ρ) log(1/δ)/(δ ε²)), linear in C_cov",
    grid={"num_candidates": [8, 16, 32, 64, 128, 256, 512], "ratio": [0.25, 1.0, 4.0, 16.0, 64.0]},
    seeds=200,
    settings={"eps": EPS, "delta": DELTA, "rho": RHO, "num_rare": NUM_RARE, "rare_mass": RARE_MASS,
              "max_candidates": MAX_CANDIDATES, "max_prompts": MAX_PROMPTS, "ray_units": RAY_UNITS},
    run_cell=run_cell,
    quick_grid={"num_candidates": [16, 64, 256], "ratio": [1.0]},
    quick_seeds=64,
)
