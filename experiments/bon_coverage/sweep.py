"""bon_coverage: inference-time best-of-N against coverage (Proposition C.1).

Claim. For a prompt x with argmax mass p* = π_base(y*(x)|x), best-of-N lands in y*(x) with probability
1 − (1 − p*)^N, so N ≥ log(1/ρ)/p* samples suffice for success ≥ 1 − ρ; averaged over prompts the samples needed
grow linearly in the coverage coefficient C_cov = E_x[1/p*(x)].

Instances: ``needle`` (p* = 1/C_cov on every prompt) and ``two_type`` (half the μ-mass on easy prompts with
p* = 1/2, half on hard prompts whose p_lo gives the requested C_cov), with |Y| = 4096 and C_cov = 2 … 1024.

Measured. Each seed draws one prompt x ∼ μ and N_max responses through the oracle. Best-of-N for every N ≤ N_max is
read off the same draws (``sharpsim.measure.first_success``, as the paper's experiments subsample their 50
generations): the first N at which the pick is in y*(x). Since BoN_N ∈ y* is monotone in N, that one number per
seed gives the whole success curve, and the samples needed for success ≥ 1 − ρ is the (1 − ρ)-quantile of its
distribution (order-statistic interval). ``analysis.py`` overlays the exact law of best-of-N.
"""

from __future__ import annotations

import jax
import numpy as np

from sharpsim.instances.registry import make
from sharpsim.measure.first_success import first_success
from sharpsim.referee.quantities import argmax_mass
from sharpsim.runner.experiment import Sweep

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


def run_cell(params, key, seeds):
    policy = instance(params["family"], params["coverage"])
    prompts, first, samples = first_success(policy, jax.random.split(key, seeds), params["max_samples"],
                                            seed_batch=SEED_BATCH)
    p_star = np.asarray(argmax_mass(policy))[np.asarray(prompts)]
    return {"prompt": prompts, "p_star": p_star, "first_success_n": first, "samples": samples}


SWEEP = Sweep(
    title="Best-of-N success vs N, and samples needed vs C_cov (Prop. C.1)",
    claim="Prop. C.1: N ≥ log(1/ρ)/π_base(y*|x) suffices; samples needed grow linearly in C_cov",
    grid={"family": ["needle", "two_type"], "coverage": [2.0 ** k for k in range(1, 11)], "max_samples": [8192]},
    seeds=2000,
    settings={"num_responses": NUM_RESPONSES, "num_prompts": NUM_PROMPTS, "rho": RHO, "two_type_p_hi": TWO_TYPE_P_HI,
              "two_type_weight_lo": TWO_TYPE_WEIGHT_LO},
    seed_rows=True,
    run_cell=run_cell,
    quick_grid={"coverage": [2.0, 8.0, 32.0, 128.0], "max_samples": [1024]},
    quick_seeds=300,
)
