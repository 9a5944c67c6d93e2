"""lower_bound: point labels, the fixed-shape SFT against sft_sharpen, one compilation per sweep, and the quick
sweep's Bayes threshold against an exact numpy computation."""

import jax
import numpy as np
import pytest
from test_bayes_hard import exact_bayes_error

import sharpsim  # noqa: F401
from sharpsim.algorithms.sft import sft_sharpen
from sharpsim.runner.experiment import experiment_module
lower_bound = experiment_module("lower_bound")
from sharpsim.instances.hard import HardClass
from sharpsim.core.oracle import Oracle
from sharpsim.runner.sweep import default_layout, run_experiment


def test_point_labels_round_trip_and_bad_labels_are_refused():
    for axis, value in (("coverage", 8.0), ("eps", 1 / 96), ("d", 16)):
        parsed_axis, point = lower_bound.parse_point(lower_bound.point_label(axis, value))
        assert parsed_axis == axis and point[axis] == pytest.approx(value)
        assert {k: v for k, v in point.items() if k != axis} == {k: v for k, v in lower_bound.BASE.items() if k != axis}
    with pytest.raises(ValueError, match="a lower_bound point looks like 'coverage=8'.*got 'C=8'"):
        lower_bound.parse_point("C=8")
    with pytest.raises(ValueError, match="scale must be 'full' or 'quick', got 'huge'"):
        lower_bound.sweep_shapes("d", "huge")


def test_fixed_shape_sft_is_sft_sharpen():
    model_class = HardClass(3, 9, 0.5)
    fit_class = model_class.bon_class(7)

    def both(key):
        key_index, key_run = jax.random.split(key)
        oracle = Oracle(model_class.random_member(key_index))
        expected, _ = sft_sharpen(key_run, oracle, fit_class, 30, 7)
        return lower_bound.sft_prefix(key_run, oracle, fit_class, 30, 7, 30, 7).index, expected.policy.index

    fitted, expected = jax.jit(jax.vmap(both))(jax.random.split(jax.random.PRNGKey(0), 20))
    assert np.array_equal(np.asarray(fitted), np.asarray(expected))


def test_quick_sweep_compiles_once_per_learner_and_matches_the_exact_bayes_threshold(tmp_path):
    before = lower_bound.run_learner.trace_count
    output = run_experiment(lower_bound.EXPERIMENT, default_layout("lower_bound", tmp_path, quick=True), quick=True,
                            progress=False)
    assert lower_bound.run_learner.trace_count - before <= len(lower_bound.LEARNERS)  # 9 cells, one shape set
    rows = lower_bound.summarize(output.table)
    assert len(rows) == 9 * len(lower_bound.LEARNERS)
    for point in rows.point.unique():
        cell = rows[rows.point == point].set_index("learner")
        # the Bayes threshold, against the smallest m with exact coordinate error ≤ 1/16 (numpy, test_bayes_hard)
        d, big_m, delta = int(cell.d["bayes"]), int(cell.num_candidates["bayes"]), float(cell.delta["bayes"])
        low_m, high_m = 1, 1  # the exact error decreases in m: bracket, then bisect to width 1
        while exact_bayes_error(d, big_m, delta, high_m) > lower_bound.TARGET_ERROR:
            low_m, high_m = high_m, 2 * high_m
        while high_m - low_m > 1:
            middle = (low_m + high_m) // 2
            low_m, high_m = (low_m, middle) if exact_bayes_error(d, big_m, delta, middle) <= lower_bound.TARGET_ERROR \
                else (middle, high_m)
        m = high_m
        low, high = cell.m_star_low["bayes"], cell.m_star_high["bayes"]
        assert 0.85 * low <= m <= 1.15 * high, (point, m, low, high)
        # the algorithms sit above the Bayes learners
        assert cell.m_star["sft"] > cell.m_star["bayes"]
        assert cell.m_star["adaptive_sft"] > cell.m_star["bayes_adaptive"]
    bayes_band = output.summary["ratio_band"]["bayes"]
    assert 0.5 < bayes_band[0] <= bayes_band[1] < 2.0
    assert output.summary["ratio_band"]["adaptive_sft"][0] > output.summary["ratio_band"]["bayes_adaptive"][1]
    assert output.layout.figure_path.stat().st_size > 50_000
