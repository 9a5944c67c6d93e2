"""The methods of a regime map on the hard family of Appendix H (``sharpsim.measure.hard_learners``).

There the success criterion is the lower bound's (Lemma H.2): for I drawn from the uniform prior, each (seed, rare
prompt) is one trial "ĵ_i = j_i and π̂(y_{j_i}|x_i) > 1/2", and m* is the least budget with success fraction
≥ 1 − ε/Δ = 15/16 (Wilson 95% per budget); ρ plays no part. Methods:

* ``lower_bound``: the Bayes-optimal non-adaptive learner (``bayes_hard_learner``, Lemma H.3), measured: no
  learner with the sample-and-evaluate oracle does better on this family (Theorem 3.1).
* ``sft``, ``adaptive_sft``: each algorithm's own m*, the minimum over its allocation ((n, N), or (n, μ, cap))
  by ``search_learner_allocations`` on the shape grids of experiment ``lower_bound_allocation`` (``FACTORS``).
"""

from __future__ import annotations

import math

import numpy as np

from sharpsim.measure.hard_learners import (ALLOCATION_LEARNERS, TARGET_ERROR, allocation_padding, allocation_shapes,
                                            measure_learner, padded_shapes, search_learner_allocations)

FACTORS = {"sft": [2.0 ** (-k / 2) for k in range(6, -1, -1)],  # N = ⌈f·N_C1⌉, f on a √2 grid from 1/8 to 1
           "adaptive_sft": [1 / 8, 1 / 4, 1 / 2, 1.0]}  # μ = f·ln(2Δ/ε)
RESOLUTION = 0.15  # relative width of the bisection on the number of prompts
HARD_DELTA = 0.5  # the family's sharpness threshold: π̂(y*|x) > 1/2 (Lemma H.2)


def hard_paddings(classes) -> dict:
    """Paddings shared by every cell: max d and M, the Bayes learner's (prompts, samples) and each algorithm's."""
    shapes = padded_shapes(classes, ["bayes"])
    padding = {"max_rare": shapes["max_rare"], "max_candidates": shapes["max_candidates"],
               "bayes": list(shapes["bayes"])}
    padding.update({learner: list(allocation_padding(learner, classes, FACTORS[learner]))
                    for learner in ALLOCATION_LEARNERS})
    return padding


def run_bayes(model_class, keys, padding) -> dict:
    """The Bayes-optimal learner's threshold budget m (rows of a ``"search"`` measurement)."""
    result, used = measure_learner("bayes", model_class, keys, {"bayes": tuple(padding["bayes"])}, RESOLUTION)
    rows = result.records()
    rows["samples"] = np.array([used.get(int(b), math.nan) for b in result.budgets], dtype=np.float64)
    rows["target"] = np.full(result.budgets.size, 1.0 - TARGET_ERROR)
    return rows


def run_allocation(learner: str, model_class, keys, padding) -> dict:
    """SFT's or adaptive SFT's own m* on the hard family (rows of an ``"allocation"`` measurement)."""
    shapes = allocation_shapes(learner, model_class, FACTORS[learner])
    rows = search_learner_allocations(learner, model_class, keys, shapes, tuple(padding[learner]), RESOLUTION)
    rows.pop("learner", None)
    rows["target"] = np.full(rows["budget"].size, 1.0 - TARGET_ERROR)
    return rows
