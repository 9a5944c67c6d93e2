"""``sharpsim explore`` on the command line: one-line errors with exit 2, and (slow) a whole run that resumes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sharpsim.runner.cli import main

USER = str(Path(__file__).with_name("user_methods.py")) + ":first_seen"


@pytest.fixture(autouse=True)
def _no_compile_cache(monkeypatch):
    monkeypatch.setenv("SHARPSIM_COMPILE_CACHE", "off")


@pytest.mark.parametrize("arguments, named", [
    (["--x", "colour=1,2"], "--x"),
    (["--y", "eps=0.1,oops"], "--y"),
    (["--x", "coverage=2,4", "--y", "coverage=8"], "--x and --y"),
    (["--methods", "sft,telepathy"], "--methods"),
    (["--methods", "no_such_module_xyz:run"], "--methods"),
    (["--family", "hard", "--methods", "bon"], "--methods"),
    (["--family", "nope"], "--family"),
    (["--param", "colour=3"], "--param"),
    (["--param", "num_prompts=2,3"], "--param"),
    (["--seeds", "0"], "--seeds"),
    (["--rho", "2"], "rho"),
])
def test_mistakes_are_one_line_and_exit_2(arguments, named, tmp_path, capsys):
    assert main(["explore", "--out", str(tmp_path), "--no-progress", *arguments]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("sharpsim: error:") and "\n" not in error and named in error
    assert not (tmp_path / "runs").exists()  # nothing ran


@pytest.mark.slow
def test_explore_writes_table_and_figure_and_resumes(tmp_path, capsys):
    arguments = ["explore", "--x", "coverage=1.25,2", "--y", "eps=0.3,0.5", "--param", "num_prompts=4",
                 "--param", "num_responses=16", "--methods", f"bon,sft,rlhf,lower_bound,{USER}", "--seeds", "40",
                 "--out", str(tmp_path), "--name", "small", "--no-progress"]
    assert main(arguments) == 0
    assert "20 cell(s) computed, 0 reused" in capsys.readouterr().out
    table = pd.read_csv(tmp_path / "results" / "explore" / "small" / "map.csv")
    assert len(table) == 20 and USER in set(table["method"])
    assert (tmp_path / "figures" / "explore" / "small.png").is_file()
    assert main(arguments) == 0
    assert "0 cell(s) computed, 20 reused" in capsys.readouterr().out


@pytest.mark.slow
def test_quick_runs_the_ends_of_each_axis_at_fewer_seeds_and_says_so(tmp_path, capsys):
    from sharpsim.explore.regime_map import QUICK_SEEDS

    arguments = ["explore", "--quick", "--x", "coverage=1.25,2,4", "--y", "eps=0.3,0.4,0.5", "--param",
                 "num_prompts=4", "--param", "num_responses=16", "--methods", "bon", "--out", str(tmp_path),
                 "--no-progress"]
    assert main(arguments) == 0
    out = capsys.readouterr().out
    assert f"coverage = [1.25, 4], eps = [0.3, 0.5], methods ['bon'], {QUICK_SEEDS} seeds (--quick)" in out
    assert "4 cell(s) computed" in out
    table = pd.read_csv(next((tmp_path / "runs").glob("explore-*")) / "map.csv")
    assert set(table["seeds"]) == {QUICK_SEEDS} and len(table) == 4
