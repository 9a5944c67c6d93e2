"""Tests for the rare-prompt instance (sharpsim.instances.rare_prompt) against a numpy construction."""

import numpy as np
import pytest

from sharpsim.instances.rare_prompt import rare_prompt_coverage, rare_prompt_instance
from sharpsim.referee.quantities import coverage_coefficient, mode_coverage_coefficient


def numpy_rare_prompt(num_rare, num_candidates, rare_mass, width):
    probs = np.zeros((num_rare + 1, width))
    probs[0, 0] = 1.0
    for i in range(1, num_rare + 1):
        star = 1 + (i - 1) % num_candidates
        for j in range(1, num_candidates + 1):
            probs[i, j] = 2 / num_candidates if j == star else (1 - 2 / num_candidates) / (num_candidates - 1)
    mu = np.array([1 - rare_mass] + [rare_mass / num_rare] * num_rare)
    return probs, mu


@pytest.mark.parametrize("num_rare, num_candidates, rare_mass, width", [(3, 8, 0.3, 12), (5, 3, 0.5, None),
                                                                        (1, 4, 0.01, 5)])
def test_rare_prompt_instance_matches_numpy(num_rare, num_candidates, rare_mass, width):
    policy = rare_prompt_instance(num_rare, num_candidates, rare_mass, num_responses=width)
    probs, mu = numpy_rare_prompt(num_rare, num_candidates, rare_mass, width or num_candidates + 1)
    np.testing.assert_allclose(np.asarray(policy.probs), probs, rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(np.asarray(policy.prompt_probs), mu, rtol=1e-15)
    # C_cov = E_x[1/π(y*|x)] by hand: x₀ contributes (1 − Δ)·1, each rare prompt (Δ/d)·M/2
    by_hand = float(mu @ (1 / probs.max(axis=1)))
    assert float(coverage_coefficient(policy)) == pytest.approx(by_hand, rel=1e-12)
    assert float(mode_coverage_coefficient(policy)) == pytest.approx(by_hand, rel=1e-12)
    assert rare_prompt_coverage(num_candidates, rare_mass) == pytest.approx(by_hand, rel=1e-12)


def test_rare_prompt_coverage_is_elementwise():
    candidates, masses = np.array([4.0, 10.5, 40.0]), np.array([0.1, 0.2, 0.05])
    np.testing.assert_allclose(rare_prompt_coverage(candidates, masses), (1 - masses) + masses * candidates / 2,
                               rtol=1e-15)


def test_bad_parameters_raise():
    with pytest.raises(ValueError, match="num_candidates must be an integer >= 3, got 2"):
        rare_prompt_instance(2, 2, 0.3)
    with pytest.raises(ValueError, match=r"num_responses must be ≥ num_candidates \+ 1 = 9, got 5"):
        rare_prompt_instance(2, 8, 0.3, num_responses=5)
    with pytest.raises(ValueError, match=r"rare_mass must lie in \(0, 1\), got 1.0"):
        rare_prompt_instance(2, 8, 1.0)
    with pytest.raises(ValueError, match="num_rare must be an integer >= 1, got 0"):
        rare_prompt_instance(0, 8, 0.3)
    with pytest.raises(TypeError, match="num_candidates must be an integer"):
        rare_prompt_instance(2, 8.5, 0.3)
    with pytest.raises(ValueError, match=r"rare_mass must lie in \(0, 1\)"):
        rare_prompt_coverage(8, [0.1, 1.5])
    with pytest.raises(ValueError, match="num_candidates must be > 0"):
        rare_prompt_coverage(0, 0.1)
