"""The rare-prompt instance: the shape of the hard family of Appendix H behind the lower bound (Theorem 3.1), on
which the rate of SFT-Sharpening (Theorem 4.1) is tight.

A common prompt x₀ (mass 1 − Δ) answers y₀ surely; each of d rare prompts x_i (mass Δ/d) puts 2/M on its own
argmax y*(x_i) among M roughly equal candidates. Then

    C_cov = C̄_cov = (1 − Δ) + Δ·M/2    (C_cov of Eq. 6, C̄_cov of Appendix D; every argmax is unique).

With Δ = κ·ε (κ > 1) the sharpening error exceeds ε as soon as more than d/κ rare prompts fail, so SFT needs
n ≍ d/(κε) prompts (to see every rare prompt) and N ≍ M log(1/δ)/2 samples per prompt (to find its argmax).
"""

from __future__ import annotations

import numpy as np

from sharpsim.core.policy import TabularPolicy
from sharpsim.core.validation import as_float_array, check_allocation, check_in_interval, check_positive_int


def rare_prompt_instance(num_rare: int, num_candidates: int, rare_mass: float,
                         num_responses: int | None = None) -> TabularPolicy:
    """The rare-prompt policy: X = d + 1 prompts, responses y₀, y₁, …, y_M, padded with zero-mass responses up
    to ``num_responses`` (so that the instances of one sweep share their shapes and compile once).

    x₀ (mass 1 − Δ) answers y₀ surely; rare prompt x_i (mass Δ/d) puts 2/M on y_{j_i}, j_i = 1 + (i − 1) mod M,
    and (1 − 2/M)/(M − 1) on every other y_j, j ∈ [M].

    Args:
      num_rare: d ≥ 1 rare prompts.
      num_candidates: M ≥ 3 candidate responses of a rare prompt (M ≥ 3 keeps the argmax unique).
      rare_mass: Δ ∈ (0, 1), the total prompt mass of the rare prompts.
      num_responses: the padded width |Y| ≥ M + 1 (default M + 1).
    """
    num_rare = check_positive_int(num_rare, "num_rare")
    num_candidates = check_positive_int(num_candidates, "num_candidates", minimum=3)
    rare_mass = check_in_interval(rare_mass, "rare_mass", 0.0, 1.0, closed_low=False, closed_high=False)
    width = num_candidates + 1 if num_responses is None else check_positive_int(num_responses, "num_responses")
    if width < num_candidates + 1:
        raise ValueError(f"num_responses must be ≥ num_candidates + 1 = {num_candidates + 1}, got {width}")
    check_allocation((num_rare + 1, width), f"rare_prompt_instance with num_rare={num_rare}, num_responses={width}")
    probs = np.zeros((num_rare + 1, width))
    probs[0, 0] = 1.0
    probs[1:, 1:num_candidates + 1] = (1.0 - 2.0 / num_candidates) / (num_candidates - 1)
    rows = np.arange(1, num_rare + 1)
    probs[rows, 1 + (rows - 1) % num_candidates] = 2.0 / num_candidates
    prompt_probs = np.concatenate([[1.0 - rare_mass], np.full(num_rare, rare_mass / num_rare)])
    return TabularPolicy(probs, prompt_probs)


def rare_prompt_coverage(num_candidates, rare_mass):
    """C_cov = (1 − Δ) + Δ·M/2 of ``rare_prompt_instance`` (elementwise; M need not be an integer, so a theory
    curve can follow the family smoothly). M > 0 finite and Δ ∈ (0, 1)."""
    candidates = as_float_array(num_candidates, "num_candidates")
    mass = as_float_array(rare_mass, "rare_mass")
    if not np.all((candidates > 0) & np.isfinite(candidates)):
        raise ValueError(f"num_candidates must be > 0 and finite, got {num_candidates!r}")
    if not np.all((mass > 0) & (mass < 1)):
        raise ValueError(f"rare_mass must lie in (0, 1), got {rare_mass!r}")
    coverage = (1.0 - mass) + mass * candidates / 2.0
    return float(coverage) if coverage.ndim == 0 else coverage
