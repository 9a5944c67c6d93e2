"""greedy_vs_argmax: the per-prompt scores against hand computations, the binning, the committed cells' ids, and a
small sweep that must show Prop. 3.1 (no decoder misses y* when π(y*|x) > 1/2) and compile once per shape."""

import jax
import numpy as np
import pytest

from sharpsim.instances.autoregressive import pivotal, random_tree
from sharpsim.runner.experiment import experiment_module, get_experiment
from sharpsim.runner.sweep import cell_id, default_layout, run_experiment

sweep = experiment_module("greedy_vs_argmax")
analysis = experiment_module("greedy_vs_argmax", "analysis")


def test_scores_on_the_pivotal_tree():
    # V = 2, H = 2, p = 0.6: P(00) = P(01) = 0.3, P(10) = 0.4, P(11) = 0; greedy takes 0 then 0 (tie → smaller)
    scores = {k: np.asarray(v) for k, v in sweep.score_decoders(pivotal(p_first=0.6)).items()}
    np.testing.assert_allclose(scores["p_star"], [0.4])
    np.testing.assert_allclose(scores["runner_up"], [0.3])
    assert scores["argmax_size"][0] == 1
    assert not scores["greedy_correct"][0] and np.isclose(scores["greedy_mass"][0], 0.3)
    assert scores["beam2_correct"][0] and np.isclose(scores["beam2_mass"][0], 0.4)  # beam keeps prefix (1)
    assert scores["beam4_correct"][0]


@pytest.mark.slow
def test_scores_match_enumeration_on_random_trees():
    policy = random_tree(jax.random.key(0), num_prompts=50, vocab_size=3, horizon=3, temperature=0.7)
    scores = {k: np.asarray(v) for k, v in sweep.score_decoders(policy).items()}
    table = np.asarray(policy.to_tabular().probs)
    np.testing.assert_allclose(scores["p_star"], table.max(axis=1))
    np.testing.assert_allclose(scores["runner_up"], np.sort(table, axis=1)[:, -2])
    for decoder in sweep.DECODERS:
        assert np.all(scores[f"{decoder}_mass"] <= scores["p_star"])
        np.testing.assert_array_equal(scores[f"{decoder}_correct"], scores[f"{decoder}_mass"] == scores["p_star"])
        assert np.all(scores[f"{decoder}_correct"][scores["p_star"] > 0.5])  # Prop. 3.1


def test_binned_success_counts():
    p_star = np.array([0.01, 0.04, 0.51, 0.52, 0.99, 1.0])
    correct = np.array([0, 1, 1, 1, 1, 1])
    rows = analysis.binned_success(p_star, correct)
    assert [(s, t) for _, s, t in rows] == [(1, 2), (2, 2), (2, 2)]
    np.testing.assert_allclose([c for c, _, _ in rows], [0.025, 0.515, 0.995])


def test_the_committed_cells_keep_their_ids():
    experiment = get_experiment("greedy_vs_argmax")
    folder = experiment.folder.parent.parent / "results" / "greedy_vs_argmax" / "cells"
    if not folder.is_dir():
        pytest.skip("no committed results in this checkout")
    for params in experiment.cells(experiment.resolved_grid()):
        identifier = cell_id("greedy_vs_argmax", params, experiment.seeds, 0, experiment.settings)
        assert (folder / f"{identifier}.parquet").is_file(), params


@pytest.mark.slow
def test_small_sweep_shows_the_threshold(tmp_path):
    before = sweep.score_decoders.trace_count
    output = run_experiment(get_experiment("greedy_vs_argmax"),
                            default_layout("greedy_vs_argmax", tmp_path, quick=True), quick=True,
                            overrides={"horizon": [4], "temperature": [0.5, 1.0, 2.0]}, seeds=150, progress=False)
    # one compilation for the three temperatures, one for the greedy_threshold instances (at most)
    assert sweep.score_decoders.trace_count - before <= 2
    assert len(output.table) == 3 * 150
    for decoder in sweep.DECODERS:
        assert output.summary["decoders"][decoder]["failures_above_half"] == 0
        largest = output.summary["decoders"][decoder]["largest_p_star_of_a_failure"]
        assert largest is None or largest <= 0.5
    for row in output.summary["greedy_threshold"]:
        np.testing.assert_allclose(row["p_star"], 0.5 - row["eta"], rtol=1e-12)
        assert row["greedy_correct"] == 0.0
    assert output.layout.figure_path.stat().st_size > 40_000
