"""The command line: list, reproduce, run with --set overrides, and its error messages."""

import json
import math
import os

import pytest

from sharpsim.runner.cli import main, parse_assignment
from tests.runner.toy_experiments import stray_files, write_toy_experiment


def test_parse_assignment_reads_literals_and_lists():
    assert parse_assignment("coverage=2,4.5") == ("coverage", [2, 4.5])
    assert parse_assignment("family=needle") == ("family", ["needle"])
    assert parse_assignment("flag=True") == ("flag", [True])


@pytest.mark.parametrize("text", ["coverage", "=3", "coverage="])
def test_parse_assignment_refuses_malformed_text(text):
    with pytest.raises(ValueError, match="--set expects key=value"):
        parse_assignment(text)


def test_list_names_experiments_and_families(capsys):
    assert main(["list"]) == 0
    printed = capsys.readouterr().out
    assert "bon_coverage" in printed and "needle" in printed and "two_type" in printed


@pytest.mark.slow
def test_run_with_overrides_writes_its_own_folder(tmp_path, capsys):
    code = main(["run", "bon_coverage", "--quick", "--set", "family=needle", "--set", "coverage=2,4,8",
                 "--seeds", "40", "--out", str(tmp_path), "--no-progress"])
    assert code == 0
    (folder,) = list((tmp_path / "runs").iterdir())
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["grid"]["coverage"] == [2, 4, 8] and summary["seeds"] == 40
    assert (folder / "bon_coverage.png").stat().st_size > 10_000
    assert not (tmp_path / "figures").exists()  # exploratory runs never touch the committed figures


def test_run_refuses_an_unknown_axis_and_an_unknown_experiment(tmp_path, capsys):
    assert main(["run", "bon_coverage", "--set", "color=red", "--out", str(tmp_path)]) == 2
    assert "has no grid axis 'color'" in capsys.readouterr().err
    assert main(["reproduce", "no_such_experiment", "--out", str(tmp_path)]) == 2
    assert "unknown experiment" in capsys.readouterr().err


@pytest.mark.slow
def test_reproduce_in_parallel_processes_matches_the_serial_run(tmp_path, capsys):
    names = ["rlhf_beta", "greedy_vs_argmax"]
    assert main(["reproduce", "--quick", "--jobs", "2", "--no-progress", "--out", str(tmp_path / "parallel"),
                 *names]) == 0
    assert main(["reproduce", "--quick", "--jobs", "1", "--no-progress", "--out", str(tmp_path / "serial"),
                 *names]) == 0
    printed = capsys.readouterr().out
    assert printed.count("cell(s) computed") == 4
    for name in names:
        parallel = json.loads((tmp_path / "parallel/results/quick" / name / "summary.json").read_text())
        serial = json.loads((tmp_path / "serial/results/quick" / name / "summary.json").read_text())
        assert parallel == serial  # same cells, same keys, same numbers, whichever process ran them


def test_reproduce_refuses_a_non_positive_job_count(tmp_path, capsys):
    assert main(["reproduce", "--quick", "--jobs", "0", "--out", str(tmp_path), "rlhf_beta"]) == 2
    assert "--jobs must be a positive integer, got 0" in capsys.readouterr().err


def test_parse_assignment_reads_nan_and_inf_as_numbers():
    key, values = parse_assignment("coverage=nan,inf,-inf")
    assert key == "coverage" and math.isnan(values[0]) and values[1:] == [math.inf, -math.inf]


def _one_line_error(capsys) -> str:
    """The single line a user's mistake prints on stderr (and nothing on a second line)."""
    error = capsys.readouterr().err
    assert error.startswith("sharpsim: error: ") and error.count("\n") == 1, error
    return error.strip()


@pytest.mark.parametrize("arguments, message", [
    (["--set", "coverage=abc"], "TypeError: coverage must be a real number, got 'abc' (str)"),
    (["--set", "coverage=nan"], "grid axis 'coverage' of experiment 'bon_coverage' has the value nan; grid values "
                                "must be finite numbers"),
    (["--set", "coverage=2,inf"], "grid axis 'coverage' of experiment 'bon_coverage' has the value inf"),
    (["--seed", "-1"], "--seed must lie in [0, 2**32), got -1"),
    (["--seed", str(2**32)], f"--seed must lie in [0, 2**32), got {2**32}"),
    (["--seeds", "0"], "--seeds must be a positive integer, got 0"),
    (["--seeds", "-3"], "--seeds must be a positive integer, got -3"),
])
def test_a_users_mistake_is_one_line_exit_2_and_leaves_nothing(tmp_path, capsys, arguments, message):
    out = tmp_path / "out"
    assert main(["run", "bon_coverage", "--quick", *arguments, "--no-progress", "--out", str(out)]) == 2
    assert message in _one_line_error(capsys)
    assert not out.exists()  # not even an empty runs/ folder


@pytest.mark.parametrize("arguments", [["run", "bon_coverage", "--seed", "2**32"], ["run"],
                                       ["reproduce", "--jobs", "two"], ["frobnicate"]])
def test_a_malformed_command_line_is_one_line_and_exit_2(capsys, arguments):
    with pytest.raises(SystemExit) as exit_:
        main(arguments)
    assert exit_.value.code == 2
    assert _one_line_error(capsys).endswith("--help)")


def test_an_unknown_experiment_or_a_missing_folder_is_one_line(tmp_path, capsys):
    assert main(["run", "no_such_experiment", "--out", str(tmp_path)]) == 2
    assert "unknown experiment 'no_such_experiment'" in _one_line_error(capsys)
    missing = str(tmp_path / "does" / "not" / "exist")
    assert main(["run", missing, "--out", str(tmp_path)]) == 2
    assert _one_line_error(capsys) == (f"sharpsim: error: experiment folder {missing!r} does not exist or is not a "
                                       "folder")
    assert main(["reproduce", "no_such_experiment", "--out", str(tmp_path)]) == 2
    assert "unknown experiment" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_an_out_folder_under_a_file_is_one_line(tmp_path, capsys):
    folder = write_toy_experiment(tmp_path / "toy")
    (tmp_path / "somefile").write_text("not a folder")
    assert main(["run", str(folder), "--no-progress", "--out", str(tmp_path / "somefile" / "sub")]) == 2
    assert "NotADirectoryError: [Errno 20] Not a directory" in _one_line_error(capsys)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_out_folder_is_one_line(tmp_path, capsys):
    folder = write_toy_experiment(tmp_path / "toy")
    read_only = tmp_path / "read_only"
    read_only.mkdir(mode=0o555)
    try:
        assert main(["run", str(folder), "--no-progress", "--out", str(read_only)]) == 2
    finally:
        read_only.chmod(0o755)
    assert "PermissionError: [Errno 13] Permission denied" in _one_line_error(capsys)
    assert list(read_only.iterdir()) == []


def test_reproduce_of_a_failing_experiment_is_one_line_exit_2_and_leaves_no_folder(tmp_path, capsys, monkeypatch):
    write_toy_experiment(tmp_path / "builtin" / "rlhf_beta")  # the toy stands in for a built-in experiment
    monkeypatch.setenv("SHARPSIM_EXPERIMENTS", str(tmp_path / "builtin"))
    monkeypatch.setenv("TOY_FAIL", "cell")
    out = tmp_path / "out"
    assert main(["reproduce", "rlhf_beta", "--quick", "--jobs", "1", "--no-progress", "--out", str(out)]) == 2
    assert _one_line_error(capsys) == "sharpsim: error: rlhf_beta: toy cell refuses to run, on two lines"
    assert not out.exists()  # no results/quick/rlhf_beta/cells/ left behind
    (out / "results").mkdir(parents=True)
    assert main(["reproduce", "rlhf_beta", "--jobs", "1", "--no-progress", "--out", str(out)]) == 2
    capsys.readouterr()
    assert [p.relative_to(out).as_posix() for p in out.rglob("*")] == ["results"]  # what was there stays


def test_reproduce_runs_the_other_experiments_and_names_the_failures(tmp_path, capsys, monkeypatch):
    builtin = tmp_path / "builtin"
    write_toy_experiment(builtin / "rlhf_beta")
    failing = write_toy_experiment(builtin / "greedy_vs_argmax")
    (failing / "analysis.py").write_text((failing / "analysis.py").read_text().replace(
        'os.environ.get("TOY_FAIL") == "plot"', "True"))
    monkeypatch.setenv("SHARPSIM_EXPERIMENTS", str(builtin))
    out = tmp_path / "out"
    assert main(["reproduce", "greedy_vs_argmax", "rlhf_beta", "--quick", "--jobs", "1", "--no-progress",
                 "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == ["sharpsim: error: greedy_vs_argmax: toy plot refuses to draw",
                                         "sharpsim: error: 1 of 2 experiment(s) failed (greedy_vs_argmax)"]
    assert "rlhf_beta: fast toy" in captured.out and (out / "figures/quick/rlhf_beta.png").exists()
    # the failing one stored its cells (its plot failed), which the next run reuses
    assert len(list((out / "results/quick/greedy_vs_argmax/cells").glob("*.parquet"))) == 2
    assert stray_files(out) == []
