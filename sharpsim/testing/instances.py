"""Instances built to order for tests: a tabular π_base with a *target* coverage C_cov (Eq. 6), margin γ_margin
(Assumption 4.2) and number of tied argmax responses, the default instance of ``check_algorithm``, and decoys.

Construction (``targeted_policy``). At every prompt x: ``argmax_ties`` = k responses share the argmax mass a_x
(each a_x/k, so y*(x) has exactly k members and π(y*(x)|x) = a_x), one runner-up has a_x/(k(1 + γ)) (so the
prompt's margin is γ), and the rest 1 − a_x − a_x/(k(1 + γ)) is spread over the other Y − k − 1 responses, none
above the runner-up. That is possible iff a_x lies in ``argmax_mass_range``; C_cov = Σ_x μ(x)/a_x, and
``coverage_masses`` picks per-prompt masses a_x with that exact weighted mean of 1/a_x. γ = ∞ means every
non-argmax response has mass 0 (so a_x = 1 and C_cov = 1).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from sharpsim.core.policy import TabularPolicy, as_tabular

__all__ = ["argmax_mass_range", "coverage_masses", "decoy_instance", "default_instance", "targeted_policy"]


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_margin(margin) -> float:
    try:
        margin = float(margin)
    except (TypeError, ValueError):
        raise TypeError(f"margin must be a number in (0, inf], got {margin!r}") from None
    if not margin > 0:  # also refuses NaN
        raise ValueError(f"margin must lie in (0, inf] (0 would merge the runner-up into the argmax set), got {margin}")
    return margin


def argmax_mass_range(num_responses: int, argmax_ties: int, margin: float) -> tuple[float, float]:
    """(lowest, highest) argmax mass a = π(y*(x)|x) at a prompt with ``argmax_ties`` tied argmax responses, margin
    ``margin`` and ``num_responses`` responses (module docstring); the prompt's C_cov term 1/a spans the reverse."""
    num_responses = _check_int(num_responses, "num_responses", 1)
    ties = _check_int(argmax_ties, "argmax_ties", 1)
    margin = _check_margin(margin)
    if ties > num_responses:
        raise ValueError(f"argmax_ties must be at most num_responses={num_responses}, got {ties}")
    if ties == num_responses or math.isinf(margin):
        return 1.0, 1.0
    scale = ties * (1.0 + margin)
    return scale / (scale + num_responses - ties), scale / (scale + 1.0)


def coverage_masses(coverage: float, prompt_probs, lowest: float, highest: float, spread=None,
                    fraction: float = 1.0) -> np.ndarray:
    """Per-prompt argmax masses a_x ∈ [lowest, highest] with Σ_x μ(x)/a_x = ``coverage`` (C_cov, Eq. 6).

    ``spread`` [X] in [-1, 1] (default 0: every a_x = 1/coverage) sets how the 1/a_x differ across prompts,
    ``fraction`` ∈ [0, 1] how far towards the range's ends they go. Raises ``ValueError`` when ``coverage`` lies
    outside [1/highest, 1/lowest]."""
    mu = np.asarray(prompt_probs, np.float64)
    low, high = 1.0 / highest, 1.0 / lowest
    coverage = float(coverage)
    if not (low * (1 - 1e-12) <= coverage <= high * (1 + 1e-12)):
        raise ValueError(f"coverage {coverage} is out of reach: with these num_responses, argmax_ties and margin, "
                         f"C_cov must lie in [{low:.17g}, {high:.17g}]")
    coverage = min(max(coverage, low), high)
    weights = np.zeros_like(mu) if spread is None else np.asarray(spread, np.float64)
    centered = weights - np.sum(mu * weights)
    room = [(high - coverage) / d if d > 0 else (low - coverage) / d for d in centered if abs(d) > 1e-15]
    scale = float(np.clip(fraction, 0.0, 1.0)) * (min(room) if room else 0.0)
    inverse = np.clip(coverage + scale * centered, low, high)
    return 1.0 / inverse


def _spread_rest(rest: float, cap: float, weights: np.ndarray) -> np.ndarray:
    """``len(weights)`` masses in [0, cap] summing to ``rest``: cap·clip(λ·w, 0, 1) with λ found by bisection."""
    slots = weights.size
    if slots == 0 or rest <= 0:
        return np.zeros(slots)
    share = min(rest / cap, float(slots))
    if share >= slots * (1 - 1e-15) or not np.any(weights > 0):
        return np.full(slots, min(rest / slots, cap))
    low, high = 0.0, 1.0
    while np.sum(np.clip(high * weights, 0.0, 1.0)) < share:
        high *= 2.0
        if high > 1e300:  # some weights are 0 and the others cannot hold the rest: share it evenly instead
            return np.full(slots, min(rest / slots, cap))
    for _ in range(200):
        middle = 0.5 * (low + high)
        low, high = (middle, high) if np.sum(np.clip(middle * weights, 0.0, 1.0)) < share else (low, middle)
    return cap * np.clip(high * weights, 0.0, 1.0)  # never above the cap: the runner-up stays the largest


def targeted_policy(num_responses: int, argmax_masses, argmax_ties: int = 1, margin: float = 1.0,
                    prompt_probs=None, fill=None, order=None) -> TabularPolicy:
    """The ``TabularPolicy`` of the module docstring: ``argmax_masses`` [X] = π(y*(x)|x), each in
    ``argmax_mass_range(num_responses, argmax_ties, margin)``; ``fill`` [X, Y − k − 1] weights ≥ 0 shaping the
    rest (default even); ``order`` [X, Y] a permutation per row placing the responses (default: the argmax set
    first). Then ``coverage_coefficient`` = Σ μ/a_x, ``margin`` = γ and every argmax set has k members."""
    ties = _check_int(argmax_ties, "argmax_ties", 1)
    masses = np.atleast_1d(np.asarray(argmax_masses, np.float64))
    if masses.ndim != 1:
        raise ValueError(f"argmax_masses must be one mass per prompt [X], got shape {masses.shape}")
    lowest, highest = argmax_mass_range(num_responses, ties, margin)
    bad = (masses < lowest * (1 - 1e-12)) | (masses > highest * (1 + 1e-12)) | ~np.isfinite(masses)
    if bad.any():
        raise ValueError(f"argmax_masses[{int(np.argmax(bad))}] = {masses[bad][0]} is outside the reachable range "
                         f"[{lowest:.17g}, {highest:.17g}] for num_responses={num_responses}, argmax_ties={ties}, "
                         f"margin={margin}")
    masses = np.clip(masses, lowest, highest)
    num_prompts, others = masses.size, num_responses - ties - 1
    fill = np.ones((num_prompts, max(others, 0))) if fill is None else np.asarray(fill, np.float64)
    rows = []
    for x, mass in enumerate(masses):
        top = mass / ties
        row = np.zeros(num_responses)
        row[:ties] = top
        if others >= 0 and not math.isinf(float(margin)):
            runner_up = top / (1.0 + float(margin))
            row[ties] = runner_up
            row[ties + 1:] = _spread_rest(1.0 - mass - runner_up, runner_up, fill[x])
        rows.append(row if order is None else row[np.argsort(np.asarray(order[x]))])
    return TabularPolicy(np.stack(rows), prompt_probs if prompt_probs is None else np.asarray(prompt_probs))


@functools.lru_cache(maxsize=None)
def default_instance() -> TabularPolicy:
    """``check_algorithm``'s default π_base: 4 prompts × 6 responses, non-uniform μ; an exactly tied argmax and a
    zero mass (x_0), a clear argmax (x_1), a near-tie at relative 1e-12 (x_2) and a tiny mass 1e-12 (x_3). One
    object per process (it is immutable), so compiled code over it is reused across suites."""
    probs = np.array([
        [0.3, 0.3, 0.2, 0.1, 0.1, 0.0],
        [0.05, 0.1, 0.5, 0.15, 0.1, 0.1],
        [0.2, 0.2 + 2e-13, 0.2, 0.2 - 2e-13, 0.1, 0.1],
        [1e-12, 0.6 - 1e-12, 0.1, 0.1, 0.1, 0.1],
    ])
    return TabularPolicy(probs, np.array([0.4, 0.3, 0.2, 0.1]))


def decoy_instance(instance, top_mass: float = 0.9):
    """An instance on ``instance``'s spaces with its μ but another conditional law: at every prompt ``top_mass`` on
    a least likely response of ``instance`` (never in its argmax set unless the row is uniform), the rest spread
    evenly. An autoregressive instance (``vocab_size``, ``horizon``) gets a ``TreePolicy`` decoy."""
    table = as_tabular(instance)
    probs = np.asarray(table.probs)
    num_responses = probs.shape[1]
    if num_responses == 1:
        return instance  # one response: every policy on these spaces is the same
    decoy = np.full_like(probs, (1.0 - top_mass) / (num_responses - 1))
    decoy[np.arange(probs.shape[0]), np.argmin(probs, axis=1)] = top_mass
    prompt_probs = np.asarray(table.prompt_probs)
    if hasattr(instance, "vocab_size") and hasattr(instance, "horizon"):
        from sharpsim.policies.tree import TreePolicy

        return TreePolicy.from_joint(decoy, int(instance.vocab_size), prompt_probs)
    return TabularPolicy(decoy, prompt_probs)
