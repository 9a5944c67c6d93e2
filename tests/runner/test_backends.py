"""Backends: where cells are computed. The local backend is the runner's default; a Ray instance must store cells
bit-identical to it (slow: it starts a local Ray instance; CI installs the ``ray`` extra to run it)."""

from __future__ import annotations

import builtins
import sys

import jax
import numpy as np
import pandas as pd
import pytest

from sharpsim.runner.backends import LocalBackend, RayBackend, make_backend
from sharpsim.runner.cli import main
from sharpsim.runner.experiment import load_experiment
from sharpsim.runner.sweep import Layout, run_experiment
from tests.runner.toy_experiments import write_toy_experiment


def test_the_local_backend_runs_every_task_in_order():
    tasks = [(f"cell{i}", {"a": i}, jax.random.PRNGKey(i), 3) for i in range(4)]
    results = list(LocalBackend().map(lambda params, key, seeds: {"a": np.full(seeds, params["a"])}, tasks))
    assert [identifier for identifier, _ in results] == ["cell0", "cell1", "cell2", "cell3"]
    assert all(np.array_equal(columns["a"], np.full(3, i)) for i, (_, columns) in enumerate(results))


@pytest.mark.parametrize("arguments, error, text", [
    (("threads",), ValueError, "backend must be one of ['local', 'ray'], got 'threads'"),
    (("local", "auto"), ValueError, "--address is for --backend ray"),
    (("ray", 3), TypeError, "address must be a Ray address string"),
])
def test_bad_backends_are_refused_naming_the_argument(arguments, error, text):
    with pytest.raises(error, match=text.replace("[", r"\[").replace("]", r"\]")):
        make_backend(*arguments)


@pytest.mark.parametrize("num_cpus", [0, -1, 2.5, True])
def test_num_cpus_must_be_a_positive_integer(num_cpus):
    with pytest.raises(ValueError, match="num_cpus must be a positive integer"):
        RayBackend(num_cpus=num_cpus)


def test_without_ray_the_ray_backend_says_how_to_install_it(monkeypatch, tmp_path, capsys):
    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "ray", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_ray)
    folder = write_toy_experiment(tmp_path / "toy")
    code = main(["run", str(folder), "--quick", "--no-progress", "--backend", "ray", "--out", str(tmp_path / "o")])
    assert code == 2
    assert 'needs Ray: pip install "sharpsim[ray]"' in capsys.readouterr().err
    assert not (tmp_path / "o" / "runs").exists() or not any((tmp_path / "o" / "runs").rglob("*.parquet"))


def test_the_cli_rejects_an_unknown_backend_in_one_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run", "greedy_vs_argmax", "--backend", "threads"])
    assert exit_.value.code == 2 and "invalid choice: 'threads'" in capsys.readouterr().err


# --- a local Ray instance (slow) -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ray_backend():
    ray = pytest.importorskip("ray", reason='the ray extra: pip install "sharpsim[ray]" (CI installs it)')
    backend = RayBackend(num_cpus=2)
    yield backend
    ray.shutdown()


def _cells(folder):
    return {path.name: pd.read_parquet(path) for path in sorted(folder.rglob("cells/*.parquet"))}


@pytest.mark.slow
def test_an_experiment_folder_on_ray_stores_the_local_backends_cells(ray_backend, tmp_path):
    experiment = load_experiment(write_toy_experiment(tmp_path / "toy"))  # a folder package: shipped by value
    for name, backend in (("local", None), ("ray", ray_backend)):
        layout = Layout(tmp_path / name / "results", tmp_path / name / "figure.png")
        output = run_experiment(experiment, layout, progress=False, backend=backend)
        assert output.computed_cells == 4
    local, remote = _cells(tmp_path / "local"), _cells(tmp_path / "ray")
    assert local.keys() == remote.keys() and len(local) == 4
    for name in local:
        pd.testing.assert_frame_equal(local[name], remote[name], check_exact=True)


@pytest.mark.slow
def test_a_quick_builtin_experiment_on_ray_equals_the_local_run_and_resumes(ray_backend, tmp_path, capsys):
    for name, extra in (("local", []), ("ray", ["--backend", "ray"])):
        arguments = ["run", "greedy_vs_argmax", "--quick", "--no-progress", "--out", str(tmp_path / name), *extra]
        assert main(arguments) == 0
    local, remote = _cells(tmp_path / "local"), _cells(tmp_path / "ray")
    assert local.keys() == remote.keys() and len(local) >= 2
    for name in local:
        pd.testing.assert_frame_equal(local[name], remote[name], check_exact=True)
    capsys.readouterr()
    assert main(["run", "greedy_vs_argmax", "--quick", "--no-progress", "--out", str(tmp_path / "ray"),
                 "--backend", "ray"]) == 0
    assert f"0 cell(s) computed, {len(local)} reused" in capsys.readouterr().out


@pytest.mark.slow
def test_a_user_method_file_reaches_the_ray_workers(ray_backend, tmp_path, capsys):
    from pathlib import Path

    user = str(Path(__file__).parents[1] / "explore" / "user_methods.py") + ":first_seen"
    for name, extra in (("local", []), ("ray", ["--backend", "ray"])):
        arguments = ["explore", "--x", "coverage=1.25,2", "--y", "eps=0.5", "--param", "num_prompts=4", "--param",
                     "num_responses=8", "--methods", f"bon,{user}", "--seeds", "16", "--no-progress",
                     "--out", str(tmp_path / name), "--name", "m", *extra]
        assert main(arguments) == 0, capsys.readouterr().err
    local, remote = _cells(tmp_path / "local"), _cells(tmp_path / "ray")
    assert local.keys() == remote.keys() and len(local) == 4
    for name in local:
        pd.testing.assert_frame_equal(local[name], remote[name], check_exact=True)
