"""bon_coverage: the experiment's pieces against closed forms written here, and one compile per sweep."""

import jax
import numpy as np
import pandas as pd
import pytest

from sharpsim.measure.first_success import first_success
from sharpsim.referee.quantities import coverage_coefficient
from sharpsim.runner.experiment import experiment_module, get_experiment
from sharpsim.runner.sweep import default_layout, run_experiment

sweep = experiment_module("bon_coverage")
analysis = experiment_module("bon_coverage", "analysis")


def _closed_form_success(p_star, weights, n):
    """E_x[1 − (1 − p*(x))^n] (Prop. C.1's event, averaged over μ), written independently of sharpsim."""
    return float(np.sum(weights * (1.0 - (1.0 - p_star) ** n)))


@pytest.mark.parametrize("family,coverage", [("needle", 2.0), ("needle", 37.0), ("two_type", 2.0), ("two_type", 90.0)])
def test_instances_have_the_requested_coverage(family, coverage):
    policy = sweep.instance(family, coverage)
    assert float(coverage_coefficient(policy)) == pytest.approx(coverage, rel=1e-12)


@pytest.mark.parametrize("family,coverage", [("needle", 10.0), ("two_type", 33.0)])
def test_exact_samples_needed_matches_the_closed_form(family, coverage):
    policy = sweep.instance(family, coverage)
    probs, weights = np.asarray(policy.probs), np.asarray(policy.prompt_probs)
    p_star = probs.max(axis=1)
    n = 1
    while _closed_form_success(p_star, weights, n) < 1 - sweep.RHO:
        n += 1
    assert analysis.exact_samples_needed(policy, sweep.RHO) == n
    ns = np.array([1, 3, 17, 200])
    expected = [_closed_form_success(p_star, weights, k) for k in ns]
    np.testing.assert_allclose(analysis.exact_success(policy, ns), expected, rtol=1e-10)


def test_unknown_family_is_refused():
    with pytest.raises(ValueError, match="knows families 'needle' and 'two_type', got 'zipf'"):
        sweep.instance("zipf", 4.0)


@pytest.mark.slow
def test_run_cell_columns_and_summary_on_a_small_table():
    """run_cell's columns per seed; summarize's quantile is the (1 − ρ) order statistic computed here."""
    frames = []
    for coverage in (2.0, 4.0, 8.0):
        params = {"family": "needle", "coverage": coverage, "max_samples": 128}
        columns = sweep.run_cell(params, jax.random.PRNGKey(int(coverage)), 200)
        assert set(columns) == {"prompt", "p_star", "first_success_n", "samples"}
        np.testing.assert_allclose(columns["p_star"], 1 / coverage, rtol=1e-12)
        assert np.all(np.asarray(columns["samples"]) == 128)
        frames.append(pd.DataFrame({**{k: np.asarray(v) for k, v in columns.items()}, **params,
                                    "cell_id": str(coverage)}))
    table = pd.concat(frames, ignore_index=True)
    summary = analysis.summarize(table)
    assert summary["rho"] == sweep.RHO and set(summary["slopes"]) == {"needle"}
    for cell in summary["cells"]:
        first = np.sort(table[table.coverage == cell["coverage"]].first_success_n.to_numpy().astype(float))
        first[first == 0] = np.inf
        assert cell["samples_needed"] == first[int(np.ceil((1 - sweep.RHO) * first.size)) - 1]
    points = summary["exact_inside_wilson_interval"]
    assert 0 < points["points"] and points["inside"] <= points["points"]


@pytest.mark.slow
def test_quick_sweep_compiles_once_and_recovers_linear_slope(tmp_path):
    experiment = get_experiment("bon_coverage")
    before = first_success.trace_count
    output = run_experiment(experiment, default_layout("bon_coverage", tmp_path, quick=True), quick=True, seeds=200,
                            progress=False)
    assert first_success.trace_count - before <= 1  # one compilation for all 8 cells
    table = output.table
    assert set(table.family) == {"needle", "two_type"} and len(table) == 8 * 200
    for cell in output.summary["cells"]:
        assert cell["samples_needed_low"] <= cell["samples_needed_exact"] <= cell["samples_needed_high"] or (
            abs(cell["samples_needed"] - cell["samples_needed_exact"]) <= 0.35 * cell["samples_needed_exact"])
    slope = output.summary["slopes"]["needle"]
    assert slope["slope_low"] <= 1.05 and slope["slope_high"] >= 0.95
    assert output.layout.figure_path.stat().st_size > 50_000
