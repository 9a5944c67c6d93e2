"""Theorem J.2, step 1, inside the theorem's range γ_margin ∈ (0, 1): the printed β = γ_margin/(2 log(2|Y|/δ)) makes
the KL-regularized target sharp, π*_β(y*(x)|x) ≥ 1 − δ/2, with each non-argmax response at most δ/(2|Y|).

Worst case for a given (|Y|, γ_margin): one argmax and all |Y| − 1 other responses at the margin boundary
π_base(y*)/(1 + γ_margin); then 1 − π*_β(y*) = K r/(1 + K r) with K = |Y| − 1 and r = (1 + γ_margin)^{−(1+1/β)}.
Everything here is numpy, written from the theorem's statement; sharpsim only supplies ``thm_j2_beta`` and
``sharpening_beta`` (the quantities under test).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sharpsim  # noqa: F401  (float64)
from sharpsim.core.policy import TabularPolicy
from sharpsim.referee.kl_regularized import power_policy, sharpening_beta
from sharpsim.theory.rlhf import thm_j2_beta


def printed_beta(gamma_margin, num_responses, delta):
    return gamma_margin / (2.0 * np.log(2.0 * num_responses / delta))


def worst_case_miss(gamma_margin, num_responses, delta, beta):
    """1 − π*_β(y*) for one argmax and |Y| − 1 responses at the margin boundary (log space; broadcasts)."""
    log_kr = np.log(num_responses - 1.0) - (1.0 + 1.0 / beta) * np.log1p(gamma_margin)
    return np.exp(log_kr - np.logaddexp(0.0, log_kr))


def np_target_masses(probs, beta):
    """(π*_β mass on the argmax set, largest π*_β(y) off it) for one row, π*_β ∝ π^{1+1/β} in log space."""
    log_p = np.log(probs)
    top = log_p.max()
    logits = (1.0 + 1.0 / beta) * (log_p - top)
    log_z = np.logaddexp.reduce(logits)
    on_top = log_p == top
    return float(np.exp(np.logaddexp.reduce(logits[on_top]) - log_z)), \
        float(np.exp(logits[~on_top].max() - log_z)) if np.any(~on_top) else 0.0


@st.composite
def margin_instances(draw):
    """(probs, γ_margin, δ): |Y| up to 10⁵; t tied argmaxes; b responses exactly at the margin boundary, one of
    them optionally a hair below it (near-tie of the boundary); the rest anywhere below the boundary."""
    num_responses = int(round(10 ** draw(st.floats(math.log10(2), 5.0))))
    gamma = draw(st.one_of(st.floats(1e-6, 1.0, exclude_max=True), st.sampled_from([1e-6, 0.5, 0.999999])))
    delta = draw(st.floats(1e-3, 0.999))
    ties = draw(st.integers(1, min(3, num_responses - 1)))
    boundary = draw(st.integers(1, num_responses - ties))
    below = num_responses - ties - boundary
    seed = draw(st.integers(0, 2**31 - 1))
    weights = np.empty(num_responses)
    weights[:ties] = 1.0 + gamma
    weights[ties:ties + boundary] = 1.0
    weights[ties + boundary:] = np.random.default_rng(seed).uniform(0.0, 1.0, below) + 1e-12
    if draw(st.booleans()):
        weights[ties] = 1.0 - 1e-12  # a hair below the boundary: same margin up to rounding
    probs = weights / weights.sum()
    runner = probs[probs < probs.max()].max()
    return probs, probs.max() / runner - 1.0, delta  # the margin the instance really has (after rounding)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(instance=margin_instances(), fraction=st.sampled_from([1.0, 0.5, 1e-2]))
def test_printed_beta_sharpens_every_instance_inside_the_theorem_range(instance, fraction):
    """Theorem J.2 step 1 for γ_margin ∈ (0, 1): β ≤ γ_margin/(2 log(2|Y|/δ)) gives π*_β(y*) ≥ 1 − δ/2 and each
    y ∉ y* has π*_β(y) ≤ δ/(2|Y|); the instance never misses more than the worst case of the same (|Y|, γ)."""
    probs, gamma, delta = instance
    num_responses = probs.size
    beta = float(thm_j2_beta(gamma, num_responses, delta))
    assert beta == pytest.approx(printed_beta(gamma, num_responses, delta), rel=1e-12)
    beta *= fraction
    on_top, largest_off = np_target_masses(probs, beta)
    assert on_top >= 1.0 - delta / 2.0
    assert largest_off <= delta / (2.0 * num_responses) * (1 + 1e-9)
    assert 1.0 - on_top <= worst_case_miss(gamma, num_responses, delta, beta) * (1 + 1e-9) + 1e-15


def test_worst_case_scan_inside_the_theorem_range():
    """Grid |Y| ∈ [2, 10⁵], δ ∈ [0.01, 0.99], γ_margin ∈ [10⁻⁶, 1): the worst-case instance at the printed β keeps
    π*_β(y*) − (1 − δ/2) > 0 everywhere; the same scan at γ_margin = 3 (outside the theorem) does find failures,
    so the scan can fail."""
    sizes = np.unique(np.concatenate([np.arange(2, 50), np.round(np.geomspace(50, 1e5, 100))]))
    deltas = np.linspace(0.01, 0.99, 50)
    gammas = np.concatenate([np.geomspace(1e-6, 0.5, 50), np.linspace(0.5, 1.0 - 1e-9, 70)[1:]])
    Y, D, G = np.meshgrid(sizes, deltas, gammas, indexing="ij")
    miss = worst_case_miss(G, Y, D, printed_beta(G, Y, D))
    slack = D / 2.0 - miss
    assert slack.min() > 0.0
    assert (miss / (D / 2.0)).max() < 1.0
    Y3, D3 = np.meshgrid(np.geomspace(2, 1e6, 200), np.linspace(1e-3, 0.99, 100), indexing="ij")
    assert np.any(worst_case_miss(3.0, Y3, D3, printed_beta(3.0, Y3, D3)) > D3 / 2.0)


@pytest.mark.parametrize("gamma, num_responses", [(0.01, 1000), (0.3, 64), (0.999, 2)])
def test_sharpening_beta_is_the_printed_beta_inside_the_range_and_power_policy_agrees(gamma, num_responses):
    """For γ_margin ≤ 1 ``sharpening_beta`` is the printed value (the extension past the theorem's range only
    changes γ_margin > 2.513), and sharpsim's π*_β matches the numpy target on the worst-case instance."""
    weights = np.ones(num_responses)
    weights[0] = 1.0 + gamma
    probs = weights / weights.sum()
    delta = 0.1
    got = float(sharpening_beta(TabularPolicy(probs[None, :]), delta))
    assert got == pytest.approx(printed_beta(gamma, num_responses, delta), rel=1e-9)
    target = np.asarray(power_policy(TabularPolicy(probs[None, :]), got).probs)[0]
    assert 1.0 - target[0] == pytest.approx(worst_case_miss(gamma, num_responses, delta, got), rel=1e-7)
    assert target[0] >= 1.0 - delta / 2.0
