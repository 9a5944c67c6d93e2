"""sft_bitstring: SFT-Sharpening's measured sample complexity m* grows linearly in C_cov on an autoregressive
instance, the ``bitstring`` family (Theorem 4.1 on sequences).

Claim (Theorem 4.1, Eq. 7). With n = c·log(|Π|/ρ)/(δε) and N = c·C_cov·log(2/δ)/ε, SFT-Sharpening is
(ε, δ)-sharp w.p. ≥ 1 − ρ, so m* = n·N = O(C_cov log(|Π|/ρ) log(1/δ)/(δε²)): linear in C_cov at fixed horizon H.

Instance: ``sharpsim.instances.autoregressive.bitstring`` with X prompts (random planted targets
y*(x) ∈ {0,1}^H, uniform prompts), each token equal to y*_h(x) w.p. q = C^(−1/H), so π(y*(x)|x) = 1/C and
C_cov = C. The horizon H is fixed, so the sequence space 2^H (and every array shape) is the same for all coverage
levels: one compilation. Class: tabular over whole sequences (realizable), log|Π| := X·H·log 2 (deterministic
rows).
Method (``search``): ``optimum`` — SFT-Sharpening's own m*, the least n·N over all (n, N) with success ≥ 1 − ρ
(N on ``samples_grid`` around N₀, n searched at each, ``measure.allocation``); ``ray`` — ``sample_complexity``
along Theorem 4.1's ray (n, N) = s·(n₀, N₀) (as in ``sft_coverage``). Runs are
simulated exactly in law on the enumerated sequence policy ``base.to_tabular()`` (training pairs drawn from
π^BoN_N, ``sharpsim.referee.sft_laws``); the tests check that ``sft_sharpen`` run token-level through the
``Oracle`` on the ``MarkovPolicy`` base (tabular class fitted on the picked sequences) succeeds with the same
probability.

Measured: the slope of log m* against log C_cov, at the optimum and on the ray. Expected: 1.
"""

from __future__ import annotations

import math

import jax
import numpy as np

from sharpsim import theory
from sharpsim.classes import TabularClass
from sharpsim.instances.autoregressive import bitstring
from sharpsim.measure.sft_search import RAY_UNITS, SAMPLES_GRID_RATIO, search_sft_cell
from sharpsim.runner.experiment import Sweep

EPS, DELTA, RHO = 0.1, 0.25, 0.1
HORIZON = 6
NUM_PROMPTS = 4
MAX_PROMPTS = 512  # prompts padded (and masked) to this: scales up to s ≈ 0.67 fit, well above the thresholds
TARGET_SEED = 0
LOG_CLASS_SIZE = NUM_PROMPTS * HORIZON * math.log(2)  # log|Π| := X·H·log 2


def instance(coverage: float, horizon: int = HORIZON):
    """The enumerated [X, 2^H] sequence policy of a ``bitstring`` base with C_cov = ``coverage``."""
    if not 1.0 < float(coverage) < 2.0**horizon:
        raise ValueError(f"coverage must lie in (1, 2^horizon) = (1, {2.0**horizon:g}), got {coverage}")
    base = bitstring(horizon=horizon, coverage=float(coverage), key=jax.random.PRNGKey(TARGET_SEED),
                     num_prompts=NUM_PROMPTS)
    return base.to_tabular()


def ray_units(coverage: float) -> tuple[float, float, float]:
    """(n₀, N₀, log|Π|) with Theorem 4.1's prescriptions at c = 1."""
    n0 = float(theory.thm_4_1_num_prompts(LOG_CLASS_SIZE, EPS, DELTA, RHO))
    big_n0 = float(theory.thm_4_1_num_samples(coverage, EPS, DELTA))
    return n0, big_n0, LOG_CLASS_SIZE


def run_cell(params, key, seeds):
    coverage, search = float(params["coverage"]), params["search"]
    policy = instance(coverage)
    prompts_unit, samples_unit, log_class_size = ray_units(coverage)
    keys = jax.random.split(key, seeds)
    rows = search_sft_cell(search, policy, TabularClass.like(policy), keys, EPS, DELTA, RHO, prompts_unit,
                           samples_unit, MAX_PROMPTS, MAX_PROMPTS)
    rows["log_class_size"] = np.full(rows["budget"].size, log_class_size)
    return rows


SWEEP = Sweep(
    title="SFT-Sharpening on an autoregressive instance (bitstring): m* vs C_cov (Thm 4.1)",
    claim="Thm 4.1 on sequences: m* linear in C_cov at fixed horizon",
    grid={"coverage": [2.0, 4.0, 8.0, 16.0, 32.0], "search": ["optimum", "ray"]},
    seeds=200,
    settings={"eps": EPS, "delta": DELTA, "rho": RHO, "horizon": HORIZON, "num_prompts": NUM_PROMPTS,
              "max_prompts": MAX_PROMPTS, "target_seed": TARGET_SEED, "ray_units": RAY_UNITS,
              "samples_grid_ratio": SAMPLES_GRID_RATIO},
    run_cell=run_cell,
    quick_grid={"coverage": [2.0, 8.0]},
    quick_seeds=40,
)
