"""The sweep runner: tidy tables, stable cell ids, resume after a crash, atomic writes, compile counting."""

import json
import re

import jax
import numpy as np
import pandas as pd
import pytest

from sharpsim.runner.experiment import Experiment, Sweep
from sharpsim.runner.sweep import default_layout, load_table, run_experiment
from tests.runner.toy_experiments import stray_files


def _toy(calls, fail_on=None, settings=None, seed_rows=True, rows=None):
    def run_cell(params, key, seeds):
        calls.append(dict(params))
        if fail_on is not None and params == fail_on:
            raise KeyboardInterrupt("simulated Ctrl-C in the middle of a cell")
        draws = jax.random.uniform(key, (seeds if rows is None else rows,))
        return {"value": np.asarray(draws) + params["a"] * 10 + params["b"]}

    def summarize(table):
        return {"rows": len(table)}

    def plot(summary, table, figure_path):
        figure_path.write_bytes(b"png")

    sweep = Sweep(title="toy", grid={"a": [1, 2], "b": [0.5, 1.5, 2.5]}, seeds=4, run_cell=run_cell,
                  quick_grid={"b": [0.5]}, quick_seeds=2, settings=settings or {}, seed_rows=seed_rows)
    return Experiment("toy", sweep, summarize, plot)


def test_table_is_tidy_one_row_per_cell_and_seed(tmp_path):
    calls = []
    output = run_experiment(_toy(calls), default_layout("toy", tmp_path), progress=False)
    table = output.table
    assert len(table) == 2 * 3 * 4
    assert {"a", "b", "seed", "value", "cell_id", "base_seed", "sharpsim_version"} <= set(table.columns)
    assert table.groupby("cell_id").size().tolist() == [4] * 6
    assert sorted(table.seed.unique()) == [0, 1, 2, 3]
    assert np.all(np.floor((table.value - table.b) / 10) == table.a)  # each row carries its own parameters
    summary = json.loads(output.layout.summary_path.read_text())
    assert summary["rows"] == 24 and summary["grid"] == {"a": [1, 2], "b": [0.5, 1.5, 2.5]}


def test_rerun_reuses_stored_cells_and_force_recomputes(tmp_path):
    calls = []
    layout = default_layout("toy", tmp_path)
    first = run_experiment(_toy(calls), layout, progress=False)
    second = run_experiment(_toy(calls), layout, progress=False)
    assert len(calls) == 6 and second.computed_cells == 0 and second.stored_cells == 6
    pd.testing.assert_frame_equal(first.table, second.table)
    run_experiment(_toy(calls), layout, force=True, progress=False)
    assert len(calls) == 12


def test_changed_settings_recompute_instead_of_reusing_stale_cells(tmp_path):
    calls = []
    layout = default_layout("toy", tmp_path)
    run_experiment(_toy(calls, settings={"eps": 0.1}), layout, progress=False)
    run_experiment(_toy(calls, settings={"eps": 0.1}), layout, progress=False)
    assert len(calls) == 6
    changed = run_experiment(_toy(calls, settings={"eps": 0.05}), layout, progress=False)
    assert changed.computed_cells == 6 and len(calls) == 12
    assert changed.summary["settings"] == {"eps": 0.05}
    first = run_experiment(_toy([], settings={"eps": 0.1}), layout, progress=False).table
    np.testing.assert_array_equal(changed.table.value, first.value)  # same random stream: common random numbers
    assert set(changed.table.cell_id).isdisjoint(run_experiment(_toy([], settings={"eps": 0.1}), layout,
                                                                progress=False).table.cell_id)


def test_seed_column_only_for_seed_rows_experiments(tmp_path):
    # four rows that are not seeds (e.g. four budget levels) must not be labeled as seeds 0..3
    table = run_experiment(_toy([], seed_rows=False), default_layout("toy", tmp_path), progress=False).table
    assert "seed" not in table.columns
    with pytest.raises(ValueError, match=r"one row per seed \(4\) for a seed_rows experiment, got 3"):
        run_experiment(_toy([], rows=3), default_layout("toy", tmp_path / "bad"), progress=False)


def test_interrupted_run_keeps_finished_cells_and_resumes(tmp_path):
    calls = []
    layout = default_layout("toy", tmp_path)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(_toy(calls, fail_on={"a": 2, "b": 0.5}), layout, progress=False)
    stored = list(layout.cells_dir.glob("*.parquet"))
    assert len(stored) == 3  # the three cells before the interrupted one
    assert not list(layout.cells_dir.glob("*.tmp"))  # no half-written file
    calls.clear()
    resumed = run_experiment(_toy(calls), layout, progress=False)
    assert resumed.computed_cells == 3 and len(calls) == 3


def test_cell_results_do_not_depend_on_the_rest_of_the_grid(tmp_path):
    full = run_experiment(_toy([]), default_layout("toy", tmp_path / "full"), progress=False).table
    alone = run_experiment(_toy([]), default_layout("toy", tmp_path / "alone"), overrides={"a": [2], "b": [1.5]},
                           progress=False).table
    expected = full[(full.a == 2) & (full.b == 1.5)].value.to_numpy()
    np.testing.assert_array_equal(alone.value.to_numpy(), expected)


def test_quick_grid_and_seeds_and_layouts(tmp_path):
    output = run_experiment(_toy([]), default_layout("toy", tmp_path, quick=True), quick=True, progress=False)
    assert len(output.table) == 2 * 1 * 2
    assert output.layout.results_dir == tmp_path / "results" / "quick" / "toy"
    assert output.layout.figure_path == tmp_path / "figures" / "quick" / "toy.png"
    assert default_layout("toy", tmp_path).figure_path == tmp_path / "figures" / "toy.png"
    assert default_layout("toy", tmp_path, tag="abc").results_dir == tmp_path / "runs" / "toy-abc"
    assert len(load_table(output.layout)) == 4


def test_unknown_override_axis_is_refused(tmp_path):
    with pytest.raises(ValueError, match="has no grid axis 'c'.*axes are \\['a', 'b'\\]"):
        run_experiment(_toy([]), default_layout("toy", tmp_path), overrides={"c": [1]}, progress=False)
    with pytest.raises(ValueError, match="grid axis 'a' of experiment 'toy' has no values"):
        run_experiment(_toy([]), default_layout("toy", tmp_path), overrides={"a": []}, progress=False)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -np.inf, np.float64("nan")])
def test_a_non_finite_grid_value_is_refused_naming_the_axis(tmp_path, value):
    expected = f"grid axis 'b' of experiment 'toy' has the value {float(value)!r}; grid values must be finite numbers"
    with pytest.raises(ValueError, match=re.escape(expected)):
        run_experiment(_toy([]), default_layout("toy", tmp_path / "out"), overrides={"b": [0.5, value]},
                       progress=False)
    assert not (tmp_path / "out").exists()


def test_bad_columns_from_run_cell_are_refused(tmp_path):
    sweep = Sweep(title="", grid={"a": [1]}, seeds=3, run_cell=lambda p, k, s: {"x": np.zeros(3), "y": np.zeros(2)})
    experiment = Experiment("bad", sweep, summarize=lambda t: {}, plot=lambda s, t, f: None)
    with pytest.raises(ValueError, match="1-d columns of one length"):
        run_experiment(experiment, default_layout("bad", tmp_path), progress=False)


def test_a_truncated_or_swapped_cell_is_detected_recomputed_and_the_run_ends_identical(tmp_path, capsys):
    clean = run_experiment(_toy([]), default_layout("toy", tmp_path / "clean"), progress=False)
    layout = default_layout("toy", tmp_path / "damaged")
    run_experiment(_toy([]), layout, progress=False)
    paths = sorted(layout.cells_dir.glob("*.parquet"))
    paths[0].write_bytes(paths[0].read_bytes()[:40])  # truncated, as by a disk-full write
    second, third = paths[1].read_bytes(), paths[2].read_bytes()
    paths[1].write_bytes(third)  # two valid cells swapped under each other's names
    paths[2].write_bytes(second)
    (layout.cells_dir / ".sharpsim-partial-abc.tmp").write_bytes(b"half a cell")  # left by a killed write
    calls = []
    resumed = run_experiment(_toy(calls), layout, progress=False)
    warnings = capsys.readouterr().err
    assert warnings.count("is not used") == 3 and "cannot be read" in warnings and "holds another cell" in warnings
    assert len(calls) == 3 and resumed.computed_cells == 3
    pd.testing.assert_frame_equal(resumed.table, clean.table)
    assert resumed.summary == {**clean.summary}
    assert stray_files(tmp_path) == []  # no partial file, no lock file, no empty folder


def test_partial_files_of_a_live_writer_are_kept_and_a_dead_writers_removed(tmp_path):
    import os
    import subprocess
    import sys

    from sharpsim.runner.sweep import PARTIAL_PREFIX, remove_partial_files

    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(finished.stdout)  # that process has exited
    live = tmp_path / f"{PARTIAL_PREFIX}{os.getppid()}-abc.tmp"  # another process, alive: a concurrent writer
    dead = tmp_path / f"{PARTIAL_PREFIX}{dead_pid}-abc.tmp"
    own = tmp_path / f"{PARTIAL_PREFIX}{os.getpid()}-abc.tmp"
    legacy = tmp_path / f"{PARTIAL_PREFIX}abc.tmp"
    for path in (live, dead, own, legacy):
        path.write_bytes(b"half a file")
    remove_partial_files(tmp_path)
    assert live.exists() and not dead.exists() and not own.exists() and not legacy.exists()


def test_output_files_get_ordinary_permissions(tmp_path):
    import os
    import stat

    previous = os.umask(0o022)
    try:
        output = run_experiment(_toy([]), default_layout("toy", tmp_path), progress=False)
    finally:
        os.umask(previous)
    for path in [*output.layout.cells_dir.glob("*.parquet"), output.layout.summary_path]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
