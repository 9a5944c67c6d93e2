"""A user's own experiment, outside sharpsim's built-ins: best-of-N on the Zipf family, exactly.

How much does best-of-N inference-time sharpening help when π_base(·|x) is a Zipf law over |Y| responses?
For each (exponent s, N) the cell computes, per prompt of ``sharpsim.make("zipf", ...)``, the exact probability
that the best-of-N pick is the likelihood argmax, ``best_of_n_law(base, N)`` at y*(x), next to Proposition C.1's
sufficient N = C_cov·log(1/ρ) for success probability 1 − ρ. Exact computations: one row per prompt, no seeds.

Run it from anywhere with ``sharpsim run examples/bon_zipf`` (add ``--set exponent=0.5,1`` to change the grid);
it stores one parquet file per cell and resumes where a killed run stopped.
"""

from __future__ import annotations

import numpy as np

import sharpsim as ss
from sharpsim.runner.experiment import Sweep

NUM_PROMPTS = 4
NUM_RESPONSES = 256


def run_cell(params, key, seeds):
    base = ss.make("zipf", num_prompts=NUM_PROMPTS, num_responses=NUM_RESPONSES, exponent=params["exponent"])
    law = ss.best_of_n_law(base, params["num_samples"])
    return {
        "prompt": np.arange(NUM_PROMPTS),
        "success": np.asarray(ss.sharpness(law, base)),  # P[BoN_N pick ∈ y*(x)], exact
        "coverage": np.full(NUM_PROMPTS, float(ss.coverage_coefficient(base))),
    }


SWEEP = Sweep(
    title="Best-of-N success on a Zipf base, exactly (Proposition C.1)",
    claim="Proposition C.1: N ≥ C_cov log(1/ρ) samples find y*(x) with probability ≥ 1 − ρ",
    grid={"exponent": [0.5, 1.0, 1.5], "num_samples": [1, 4, 16, 64, 256, 1024]},
    seeds=1,
    run_cell=run_cell,
    quick_grid={"num_samples": [1, 16, 256]},
    settings={"num_prompts": NUM_PROMPTS, "num_responses": NUM_RESPONSES},
)
