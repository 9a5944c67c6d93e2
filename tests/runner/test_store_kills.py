"""The results store under real processes: two runs into one folder compute each cell once; a run killed inside a
cell write or inside the figure write resumes and ends bit-identical to an uninterrupted run, with no stray files."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sharpsim.runner.cli import main
from sharpsim.runner.lock import LOCK_NAME
from sharpsim.runner.sweep import PARTIAL_PREFIX
from tests.runner.toy_experiments import is_png, run_killed_inside_write, stray_files, write_toy_experiment

pytestmark = pytest.mark.slow  # each test starts Python processes that import JAX


def _cells(results: Path) -> dict[str, pd.DataFrame]:
    return {p.name: pd.read_parquet(p) for p in sorted((results / "cells").glob("*.parquet"))}


def assert_same_results(results: Path, clean: Path, figure: Path, clean_figure: Path) -> None:
    """Cell by cell the same tables, the same summary, the same figure bytes as the uninterrupted run."""
    cells, clean_cells = _cells(results), _cells(clean)
    assert list(cells) == list(clean_cells)
    for name in cells:
        pd.testing.assert_frame_equal(cells[name], clean_cells[name])
    assert json.loads((results / "summary.json").read_text()) == json.loads((clean / "summary.json").read_text())
    assert is_png(figure) and figure.read_bytes() == clean_figure.read_bytes()


def test_two_runs_started_together_into_one_folder_compute_each_cell_once(tmp_path):
    folder = write_toy_experiment(tmp_path / "toy")
    out, go = tmp_path / "out", tmp_path / "go"
    command = [sys.executable, "-m", "sharpsim.runner.cli", "run", str(folder), "--no-progress", "--out", str(out)]
    environment = {**os.environ, "TOY_HOLD": str(go)}  # whoever takes the folder first holds it until `go` exists
    logs = [(tmp_path / f"out{i}.txt", tmp_path / f"err{i}.txt") for i in range(2)]
    processes = [subprocess.Popen(command, stdout=stdout.open("w"), stderr=stderr.open("w"), env=environment)
                 for stdout, stderr in logs]
    deadline = time.monotonic() + 60  # without the lock no run ever waits: the test fails here
    while not any("waiting for the run of pid" in stderr.read_text() for _, stderr in logs):
        assert time.monotonic() < deadline and all(p.poll() is None for p in processes), \
            [stderr.read_text() for _, stderr in logs]
        time.sleep(0.05)
    go.touch()
    assert [p.wait(120) for p in processes] == [0, 0], [stderr.read_text() for _, stderr in logs]

    printed = [stdout.read_text() for stdout, _ in logs]
    assert sorted(text.count("4 cell(s) computed, 0 reused") for text in printed) == [0, 1]
    assert sorted(text.count("0 cell(s) computed, 4 reused") for text in printed) == [0, 1]
    waiter = next(i for i, (_, stderr) in enumerate(logs) if "waiting" in stderr.read_text())
    (run_folder,) = (out / "runs").iterdir()
    assert logs[waiter][1].read_text() == (f"sharpsim: waiting for the run of pid {processes[1 - waiter].pid} that "
                                           f"holds {run_folder}\n")
    assert stray_files(out) == []

    assert main(["run", str(folder), "--no-progress", "--out", str(tmp_path / "clean")]) == 0
    (clean_folder,) = (tmp_path / "clean" / "runs").iterdir()
    assert_same_results(run_folder, clean_folder, run_folder / "toy.png", clean_folder / "toy.png")


def test_a_run_killed_inside_a_cell_write_resumes_bit_identical_with_no_stray_files(tmp_path, capsys):
    folder = write_toy_experiment(tmp_path / "toy")
    arguments = ["run", str(folder), "--no-progress", "--out"]
    killed = run_killed_inside_write(["cell", "3"], [*arguments, str(tmp_path / "killed")])
    assert killed.returncode == -9, killed.stderr
    (run_folder,) = (tmp_path / "killed" / "runs").iterdir()
    # the kill landed inside the third cell's write: two cells stored, half of the third in a partial file
    assert len(list((run_folder / "cells").glob("*.parquet"))) == 2
    (partial,) = (run_folder / "cells").glob(f"{PARTIAL_PREFIX}*")
    assert partial.stat().st_size > 0 and (run_folder / LOCK_NAME).exists() and not (run_folder / "toy.png").exists()

    assert main([*arguments, str(tmp_path / "killed")]) == 0
    assert "2 cell(s) computed, 2 reused" in capsys.readouterr().out
    assert main([*arguments, str(tmp_path / "clean")]) == 0
    (clean_folder,) = (tmp_path / "clean" / "runs").iterdir()
    assert_same_results(run_folder, clean_folder, run_folder / "toy.png", clean_folder / "toy.png")
    assert stray_files(tmp_path / "killed") == []


def test_a_run_killed_inside_the_figure_write_resumes_bit_identical_with_no_stray_files(tmp_path, capsys,
                                                                                      monkeypatch):
    builtin = tmp_path / "builtin"  # the toy stands in for a built-in experiment, so `reproduce` runs it
    write_toy_experiment(builtin / "rlhf_beta")
    monkeypatch.setenv("SHARPSIM_EXPERIMENTS", str(builtin))
    arguments = ["reproduce", "rlhf_beta", "--quick", "--jobs", "1", "--no-progress", "--out"]
    killed = run_killed_inside_write(["figure"], [*arguments, str(tmp_path / "killed")])
    assert killed.returncode == -9, killed.stderr
    results, figures = tmp_path / "killed/results/quick/rlhf_beta", tmp_path / "killed/figures/quick"
    # every cell stored; the figure half-written into its partial file; no summary yet
    assert len(list((results / "cells").glob("*.parquet"))) == 2 and not (results / "summary.json").exists()
    (partial,) = figures.glob(f"{PARTIAL_PREFIX}*")
    assert partial.stat().st_size > 0 and not is_png(partial) and not (figures / "rlhf_beta.png").exists()

    assert main([*arguments, str(tmp_path / "killed")]) == 0
    assert "0 cell(s) computed, 2 reused" in capsys.readouterr().out
    assert main([*arguments, str(tmp_path / "clean")]) == 0
    assert_same_results(results, tmp_path / "clean/results/quick/rlhf_beta", figures / "rlhf_beta.png",
                        tmp_path / "clean/figures/quick/rlhf_beta.png")
    assert stray_files(tmp_path / "killed") == []


def test_reproduce_in_parallel_reports_a_failing_experiment_in_one_line_and_runs_the_others(tmp_path, monkeypatch,
                                                                                         capsys):
    builtin = tmp_path / "builtin"
    write_toy_experiment(builtin / "rlhf_beta")
    failing = write_toy_experiment(builtin / "greedy_vs_argmax")
    (failing / "sweep.py").write_text((failing / "sweep.py").read_text().replace(
        'os.environ.get("TOY_FAIL") == "cell"', "True"))
    monkeypatch.setenv("SHARPSIM_EXPERIMENTS", str(builtin))
    out = tmp_path / "out"
    code = main(["reproduce", "rlhf_beta", "greedy_vs_argmax", "--quick", "--jobs", "2", "--no-progress",
                 "--out", str(out)])
    assert code == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        "sharpsim: error: greedy_vs_argmax: toy cell refuses to run, on two lines",
        "sharpsim: error: 1 of 2 experiment(s) failed (greedy_vs_argmax)"]
    assert "rlhf_beta: fast toy" in captured.out and (out / "results/quick/rlhf_beta/summary.json").exists()
    assert not (out / "results/quick/greedy_vs_argmax").exists() and stray_files(out) == []
