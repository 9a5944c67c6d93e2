"""bon_coverage: the experiment's pieces against closed forms written here, and one compile per sweep."""

import jax
import numpy as np
import pytest

from sharpsim.runner.experiment import experiment_module
bon_coverage = experiment_module("bon_coverage")
from sharpsim.referee.quantities import coverage_coefficient
from sharpsim.runner.sweep import default_layout, run_experiment


def _closed_form_success(p_star, weights, n):
    """E_x[1 − (1 − p*(x))^n] (Prop. C.1's event, averaged over μ), written independently of sharpsim."""
    return float(np.sum(weights * (1.0 - (1.0 - p_star) ** n)))


@pytest.mark.parametrize("family,coverage", [("needle", 2.0), ("needle", 37.0), ("two_type", 2.0), ("two_type", 90.0)])
def test_instances_have_the_requested_coverage(family, coverage):
    policy = bon_coverage.instance(family, coverage)
    assert float(coverage_coefficient(policy)) == pytest.approx(coverage, rel=1e-12)


@pytest.mark.parametrize("family,coverage", [("needle", 10.0), ("two_type", 33.0)])
def test_exact_samples_needed_matches_the_closed_form(family, coverage):
    policy = bon_coverage.instance(family, coverage)
    probs, weights = np.asarray(policy.probs), np.asarray(policy.prompt_probs)
    p_star = probs.max(axis=1)
    n = 1
    while _closed_form_success(p_star, weights, n) < 1 - bon_coverage.RHO:
        n += 1
    assert bon_coverage.exact_samples_needed(policy, bon_coverage.RHO) == n
    ns = np.array([1, 3, 17, 200])
    expected = [_closed_form_success(p_star, weights, k) for k in ns]
    np.testing.assert_allclose(bon_coverage.exact_success(policy, ns), expected, rtol=1e-10)


def test_unknown_family_is_refused():
    with pytest.raises(ValueError, match="knows families 'needle' and 'two_type', got 'zipf'"):
        bon_coverage.instance("zipf", 4.0)


def test_monte_carlo_first_success_matches_geometric_law():
    """The first N with BoN_N ∈ y* is geometric(p*) on the needle: compare its CDF at a few N."""
    policy = bon_coverage.instance("needle", 8.0)
    keys = jax.random.split(jax.random.PRNGKey(3), 2000)
    prompts, first, samples = bon_coverage.first_success(policy, keys, 256)
    first = np.asarray(first)
    assert np.all(np.asarray(samples) == 256)
    assert np.all((first >= 1) & (first <= 256))  # (7/8)^256 ≈ 1e-15: every seed succeeds
    for n in (1, 4, 16):
        expected = 1 - (7 / 8) ** n
        observed = np.mean(first <= n)
        assert abs(observed - expected) < 4 * np.sqrt(expected * (1 - expected) / len(first))


def test_quick_sweep_compiles_once_and_recovers_linear_slope(tmp_path):
    before = bon_coverage.first_success.trace_count
    output = run_experiment(bon_coverage.EXPERIMENT, default_layout("bon_coverage", tmp_path, quick=True),
                            quick=True, seeds=200, progress=False)
    assert bon_coverage.first_success.trace_count - before <= 1  # one compilation for all 8 cells
    table = output.table
    assert set(table.family) == {"needle", "two_type"} and len(table) == 8 * 200
    for cell in output.summary["cells"]:
        assert cell["samples_needed_low"] <= cell["samples_needed_exact"] <= cell["samples_needed_high"] or (
            abs(cell["samples_needed"] - cell["samples_needed_exact"]) <= 0.35 * cell["samples_needed_exact"])
    slope = output.summary["slopes"]["needle"]
    assert slope["slope_low"] <= 1.05 and slope["slope_high"] >= 0.95
    assert output.layout.figure_path.stat().st_size > 50_000
