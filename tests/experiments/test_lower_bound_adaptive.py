"""lower_bound_adaptive: the committed cells' ids, the bootstrap and local slopes against numpy on synthetic cells,
the exact continuation below the grid, and the analysis end to end on a synthetic table."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sharpsim.runner.experiment import experiment_module, get_experiment
from sharpsim.runner.sweep import cell_id

FOLDER = Path(__file__).resolve().parents[2] / "experiments" / "lower_bound_adaptive"  # also before registration
sweep = experiment_module(FOLDER)
analysis = experiment_module(FOLDER, "analysis")


def test_the_committed_cells_keep_their_ids():
    experiment = get_experiment(FOLDER)
    folder = experiment.folder.parent.parent / "results" / "lower_bound_adaptive" / "cells"
    if not folder.is_dir():
        pytest.skip("no committed results in this checkout")
    for params in experiment.cells(experiment.resolved_grid()):
        identifier = cell_id("lower_bound_adaptive", params, experiment.seeds, 0, experiment.settings)
        assert (folder / f"{identifier}.parquet").is_file(), params


def synthetic_cell(eps, m_star, seeds=64, d=4):
    """Three budgets: fails clearly, passes exactly at the middle one (every trial), passes at the last."""
    trials = seeds * d
    return pd.DataFrame({"eps": eps, "budget": [10, 20, 40], "successes": [trials // 2, trials, trials],
                         "trials": trials, "samples_mean": [m_star / 2, m_star, 2 * m_star],
                         "samples_sd": [1.0, 0.25 * m_star, 1.0], "d": d, "m_star": m_star,
                         "m_star_low": 0.9 * m_star, "m_star_high": 1.1 * m_star, "exact_m_star": m_star,
                         "exact_budget": 20, "threshold_estimate": 20.0, "num_candidates": int(3 / (8 * eps)) + 2,
                         "delta": 16 * eps, "coverage_actual": 4.0,
                         "log_class_size": d * math.log(int(3 / (8 * eps)) + 2), "thm_d2": 2.0 / eps})


def test_bootstrap_of_a_sharp_threshold_is_the_mean_plus_the_seeds_spread():
    rng = np.random.default_rng(1)
    draws = analysis.bootstrap_m_star(synthetic_cell(1 / 64, 100.0), 20000, rng)
    # every resample passes first at budget 20; E[m]* = 100 + N(0, 25/√64)
    assert np.mean(draws) == pytest.approx(100.0, abs=0.1)
    assert np.std(draws) == pytest.approx(25.0 / 8.0, rel=0.03)
    half = synthetic_cell(1 / 64, 100.0)
    half.loc[1, "successes"] = int(0.95 * half.trials.iloc[0])  # 0.95 ≥ 15/16: a passing but uncertain budget
    draws = analysis.bootstrap_m_star(half, 20000, rng)
    # P[resampled fraction at budget 20 < 15/16] for Binomial(256, 0.95), written with scipy's cdf
    from scipy import stats
    fail = stats.binom.cdf(math.ceil(15 / 16 * 256) - 1, 256, 243 / 256)
    assert np.mean(draws > 150) == pytest.approx(fail, abs=0.01)


def test_local_slopes_are_the_pairwise_log_ratios():
    eps = np.array([1 / 32, 1 / 64, 1 / 128])
    values = np.array([[3.0, 7.0, 20.0], [1.0, 2.0, 4.0]])
    expected = [[np.polyfit(np.log(eps[k:k + 2]), np.log(row[k:k + 2]), 1)[0] for k in range(2)] for row in values]
    np.testing.assert_allclose(analysis.local_slopes(eps, values), expected, rtol=1e-12)


def test_exact_continuation_drifts_down_toward_the_limit():
    extension = analysis.exact_extension([2.0 ** -k for k in (5, 10, 20, 40)])
    ratio = extension.ratio.to_numpy()
    assert np.all(np.diff(ratio) < 0) and np.all(ratio > analysis.limit_ratio())
    # the drift is the conversion's log factor: ratio / [(1 + log(C/ε)) / log M] tends to the limit
    corrected = ratio * extension.log_factor.to_numpy()
    assert corrected[-1] == pytest.approx(analysis.limit_ratio(), rel=0.02)
    assert analysis.limit_ratio(4.0) == pytest.approx(15 / 16 * 3 / 64, rel=1e-12)


def test_summary_on_a_synthetic_table():
    eps = [1 / 32, 1 / 64, 1 / 128]
    table = pd.concat([synthetic_cell(e, 10.0 / e) for e in eps], ignore_index=True)
    summary = analysis.summarize(table)
    for record in summary["local_slopes"]:
        assert record["measured"] == pytest.approx(-1.0, rel=1e-12)
        assert record["thm_d2_curve"] == pytest.approx(-1.0, rel=1e-12)
        low, high = record["measured_interval"]
        assert low < -1.0 < high
    assert summary["ratio_smallest_over_largest_eps"]["value"] == pytest.approx(1.0, rel=1e-12)
    assert summary["exact_vs_measured_max_relative_gap"] == pytest.approx(0.0, abs=1e-12)
    assert summary["fits"]["all"]["slope"] == pytest.approx(-1.0, rel=1e-12)
