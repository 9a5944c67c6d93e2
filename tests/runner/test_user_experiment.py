"""A user's experiment folder outside the repository runs with ``sharpsim run PATH`` and resumes after a kill."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from sharpsim.runner.cli import main
from sharpsim.runner.experiment import Experiment, load_experiment
from sharpsim.runner.sweep import default_layout, load_table
from tests.runner.toy_experiments import stray_files

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bon_zipf"

SLOW_SWEEP = '''
import time
import jax
import numpy as np
from sharpsim.runner.experiment import Sweep
from .helpers import offset

def run_cell(params, key, seeds):
    time.sleep(0.4)  # slow enough for the test to kill the run between cells
    return {"value": np.asarray(jax.random.uniform(key, (seeds,))) + offset(params["a"])}

SWEEP = Sweep(title="slow toy", grid={"a": [1, 2, 3, 4, 5, 6]}, seeds=3, run_cell=run_cell, seed_rows=True)
'''
SLOW_ANALYSIS = '''
def summarize(table):
    return {"mean": float(table.value.mean())}

def plot(summary, table, path):
    path.write_bytes(b"not a real png")
'''


def write_user_experiment(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "sweep.py").write_text(textwrap.dedent(SLOW_SWEEP))
    (folder / "analysis.py").write_text(textwrap.dedent(SLOW_ANALYSIS))
    (folder / "helpers.py").write_text("def offset(a):\n    return 10 * a\n")  # a relative import inside the folder
    return folder


def test_a_folder_is_loaded_as_an_experiment_named_after_it(tmp_path):
    experiment = load_experiment(write_user_experiment(tmp_path / "my_study"))
    assert isinstance(experiment, Experiment) and experiment.name == "my_study"
    assert experiment.grid == {"a": [1, 2, 3, 4, 5, 6]} and experiment.seeds == 3


@pytest.mark.parametrize("missing", ["sweep.py", "analysis.py"])
def test_a_folder_without_its_two_files_is_refused(tmp_path, missing):
    folder = write_user_experiment(tmp_path / "incomplete")
    (folder / missing).unlink()
    with pytest.raises(ValueError, match=f"has no {missing}"):
        load_experiment(folder)


def test_a_sweep_module_without_SWEEP_is_refused(tmp_path):
    folder = write_user_experiment(tmp_path / "no_sweep")
    (folder / "sweep.py").write_text("GRID = {'a': [1]}\n")
    with pytest.raises(TypeError, match="must define SWEEP"):
        load_experiment(folder)


@pytest.mark.slow
def test_the_shipped_example_runs_outside_the_repository(tmp_path, capsys):
    user_folder = tmp_path / "elsewhere" / "bon_zipf"
    shutil.copytree(EXAMPLE, user_folder)
    out = tmp_path / "out"
    assert main(["run", str(user_folder), "--quick", "--no-progress", "--out", str(out)]) == 0
    (run_folder,) = list((out / "runs").iterdir())
    summary = json.loads((run_folder / "summary.json").read_text())
    assert summary["experiment"] == "bon_zipf" and summary["grid"]["num_samples"] == [1, 16, 256]
    # N = 256 ≥ every exponent's C_cov·log(1/ρ): Proposition C.1 promises success ≥ 1 − ρ there
    table = load_table(default_layout("bon_zipf", out, tag=run_folder.name.split("-")[-1]))
    assert (table[table.num_samples == 256].success >= 0.9).all()
    assert main(["run", str(user_folder), "--quick", "--no-progress", "--out", str(out)]) == 0
    assert "0 cell(s) computed, 9 reused" in capsys.readouterr().out


@pytest.mark.slow
def test_a_killed_run_of_a_user_folder_resumes_and_matches_an_uninterrupted_run(tmp_path):
    folder = write_user_experiment(tmp_path / "user" / "slow_toy")
    command = [sys.executable, "-m", "sharpsim.runner.cli", "run", str(folder), "--no-progress"]
    killed_out = tmp_path / "killed"
    process = subprocess.Popen(command + ["--out", str(killed_out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if len(list(killed_out.glob("runs/*/cells/*.parquet"))) >= 2:
            break
        assert process.poll() is None, process.stderr.read().decode()
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    stored = len(list(killed_out.glob("runs/*/cells/*.parquet")))
    assert 2 <= stored < 6, "the kill should land between the second cell and the last"

    resumed = subprocess.run(command + ["--out", str(killed_out)], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{6 - stored} cell(s) computed, {stored} reused" in resumed.stdout
    clean_out = tmp_path / "clean"
    clean = subprocess.run(command + ["--out", str(clean_out)], capture_output=True, text=True)
    assert clean.returncode == 0, clean.stderr
    (killed_run,) = list((killed_out / "runs").iterdir())
    (clean_run,) = list((clean_out / "runs").iterdir())
    assert killed_run.name == clean_run.name
    killed_table = pd.concat([pd.read_parquet(p) for p in sorted((killed_run / "cells").glob("*.parquet"))])
    clean_table = pd.concat([pd.read_parquet(p) for p in sorted((clean_run / "cells").glob("*.parquet"))])
    pd.testing.assert_frame_equal(killed_table.reset_index(drop=True), clean_table.reset_index(drop=True))
    assert json.loads((killed_run / "summary.json").read_text()) == json.loads((clean_run / "summary.json").read_text())
    assert stray_files(killed_out) == [] and stray_files(clean_out) == []


def test_two_folders_of_one_name_never_share_stored_cells(tmp_path, capsys):
    first = write_user_experiment(tmp_path / "a" / "study")
    second = write_user_experiment(tmp_path / "b" / "study")
    (second / "helpers.py").write_text("def offset(a):\n    return 1000 * a\n")  # other code, same folder name
    out = tmp_path / "out"
    for folder in (first, second):
        assert main(["run", str(folder), "--set", "a=1", "--seeds", "2", "--no-progress", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("1 cell(s) computed, 0 reused") == 2
    values = sorted(float(pd.read_parquet(p).value.mean()) for p in out.glob("runs/*/cells/*.parquet"))
    assert values[0] < 20 and values[1] > 1000
