"""xpo_vs_sft and offline_vs_online: their cells against the library pieces and closed forms written here, one small
sweep, and the analyzes on synthetic tables."""

import math

import jax
import numpy as np
import pandas as pd
import pytest

from sharpsim.instances.sphere import sphere
from sharpsim.measure.rlhf_engine import xpo_success_curves
from sharpsim.runner.experiment import experiment_module, get_experiment
from sharpsim.runner.sweep import default_layout, run_experiment

xpo_vs_sft = experiment_module("xpo_vs_sft")
xpo_vs_sft_analysis = experiment_module("xpo_vs_sft", "analysis")
offline_vs_online = experiment_module("offline_vs_online")
offline_vs_online_analysis = experiment_module("offline_vs_online", "analysis")


def test_registered():
    assert get_experiment("xpo_vs_sft").sweep is xpo_vs_sft.SWEEP
    assert get_experiment("offline_vs_online").sweep is offline_vs_online.SWEEP


def test_experiments_use_their_own_settings():
    """offline_vs_online's XPO matches xpo_vs_sft's optimizer and validation without importing it."""
    for name in ("DELTA", "RHO", "NUM_STEPS", "NUM_VALIDATION", "LEARNING_RATE"):
        assert getattr(offline_vs_online, name) == getattr(xpo_vs_sft, name)


@pytest.mark.slow
def test_sft_cell_matches_the_exact_threshold():
    """An SFT cell at d = 4: the searched m* brackets ⌈log ρ / log(1 − 1/C_cov)⌉, computed here."""
    columns = xpo_vs_sft.run_cell({"dimension": 4, "method": "sft"}, jax.random.PRNGKey(0), 100)
    coverage = sphere(4).coverage
    exact = math.ceil(math.log(xpo_vs_sft.RHO) / math.log(1 - 1 / coverage))
    assert columns["exact_threshold"][0] == exact
    assert columns["threshold_lower"][0] <= exact <= columns["threshold_upper"][0]
    assert columns["fit_mass_at_optimum"][0] >= 1 - xpo_vs_sft.DELTA


def test_unknown_methods_are_refused():
    with pytest.raises(ValueError, match="offline_vs_online knows methods"):
        offline_vs_online.run_cell({"scale": 1.0, "method": "dpo"}, jax.random.PRNGKey(0), 4)
    with pytest.raises(ValueError, match="xpo_vs_sft knows methods"):
        xpo_vs_sft.run_cell({"dimension": 4, "method": "dpo"}, jax.random.PRNGKey(0), 4)


@pytest.mark.slow
def test_small_sweep_compiles_once_per_dimension_and_matches_the_exact_sft_threshold(tmp_path):
    before = xpo_success_curves.trace_count
    output = run_experiment(get_experiment("xpo_vs_sft"), default_layout("xpo_vs_sft", tmp_path, tag="t"),
                            overrides={"dimension": [4], "method": ["sft", "xpo_alpha0", "xpo_alpha_small"]},
                            seeds=40, progress=False)
    assert xpo_success_curves.trace_count - before <= 1  # α is traced: both XPO cells share it
    cells = {c["method"]: c for c in output.summary["cells"]}
    sft = cells["sft"]
    assert sft["m_star_lower"] <= sft["exact_sft_threshold"] <= sft["m_star_upper"]
    for method in ("xpo_alpha0", "xpo_alpha_small"):
        xpo = cells[method]
        assert math.isfinite(xpo["m_star"]) and xpo["m_star"] % 2 == 0 and xpo["m_star"] >= 2
        assert xpo["m_star_with_validation"] == xpo["m_star"] + (xpo["m_star"] / 2 + 1) * xpo_vs_sft.NUM_VALIDATION
        assert xpo["xpo_last_iterate_success"] >= 0.9
    assert output.layout.figure_path.stat().st_size > 20_000


def _synthetic_rows(method, x_name, x, thresholds, extra):
    frames = []
    for value, threshold in zip(x, thresholds):
        budgets = np.array([threshold / 2, threshold, 2 * threshold])
        frames.append(pd.DataFrame({x_name: value, "method": method, "budget": budgets,
                                    "successes": [0, 100, 100], "trials": 100,
                                    **{k: v(value) for k, v in extra.items()}}))
    return frames


def test_xpo_vs_sft_analysis_reports_growth_and_crossover(tmp_path):
    dims = [4, 8, 12, 16]
    info = {"num_responses": lambda d: 2.0 ** (d / 2), "coverage": lambda d: 2.0 ** (d / 2) / 3,
            "margin": lambda d: 0.65, "beta": lambda d: 0.05, "alpha": lambda d: 0.0,
            "exact_threshold": lambda d: 2.0 ** (d / 2), "fit_mass_at_optimum": lambda d: 1.0,
            "last_iterate_success": lambda d: 1.0, "threshold_with_validation": lambda d: 40.0 * d,
            "threshold_with_validation_upper": lambda d: 50.0 * d}
    frames = (_synthetic_rows("sft", "dimension", dims, [2.0 ** (d / 2) for d in dims], info)
              + _synthetic_rows("xpo_alpha0", "dimension", dims, [4.0 * d for d in dims], info))
    table = pd.concat(frames, ignore_index=True)
    summary = xpo_vs_sft_analysis.summarize(table)
    growth = summary["growth"]
    assert growth["sft"]["log_m_per_dimension"] == pytest.approx(math.log(2) / 2, rel=1e-9)
    assert growth["xpo_alpha0"]["loglog_slope"] == pytest.approx(1.0, abs=1e-9)
    assert summary["first_dimension_xpo_alpha0_beats_sft"] == 12  # 48 < 64, while 32 > 16 at d = 8
    xpo_vs_sft_analysis.plot(summary, table, tmp_path / "xvs.png")
    assert (tmp_path / "xvs.png").stat().st_size > 20_000


def test_offline_vs_online_analysis_reports_slopes(tmp_path):
    scales = [0.5, 1.0, 2.0]
    cover = {0.5: 150.0, 1.0: 100.0, 2.0: 40.0}
    extra = {"coverage": lambda s: cover[s], "margin": lambda s: 0.5, "beta": lambda s: 0.05,
             "exact_sft_threshold": lambda s: 2.3 * cover[s]}
    frames = (_synthetic_rows("sft", "scale", scales, [2.3 * cover[s] for s in scales], extra)
              + _synthetic_rows("rlhf_offline", "scale", scales, [24.0, 24.0, 24.0], extra))
    table = pd.concat(frames, ignore_index=True)
    summary = offline_vs_online_analysis.summarize(table)
    assert summary["slopes"]["sft"]["slope"] == pytest.approx(1.0, abs=1e-9)
    assert summary["slopes"]["rlhf_offline"]["slope"] == pytest.approx(0.0, abs=1e-9)
    offline_vs_online_analysis.plot(summary, table, tmp_path / "ovo.png")
    assert (tmp_path / "ovo.png").stat().st_size > 20_000


def test_alpha_zero_is_labeled_in_both_figures():
    assert r"\alpha=0" in xpo_vs_sft_analysis.LABELS["xpo_alpha0"]
    assert r"\alpha=0" in offline_vs_online_analysis.LABELS["xpo"]
