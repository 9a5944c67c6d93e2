"""The command line: list, reproduce, run with --set overrides, and its error messages."""

import json

import pytest

from sharpsim.runner.cli import main, parse_assignment


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
    assert main(["reproduce", "--quick", "--jobs", "2", "--no-progress", "--out", str(tmp_path / "parallel"), *names]) == 0
    assert main(["reproduce", "--quick", "--jobs", "1", "--no-progress", "--out", str(tmp_path / "serial"), *names]) == 0
    printed = capsys.readouterr().out
    assert printed.count("cell(s) computed") == 4
    for name in names:
        parallel = json.loads((tmp_path / "parallel/results/quick" / name / "summary.json").read_text())
        serial = json.loads((tmp_path / "serial/results/quick" / name / "summary.json").read_text())
        assert parallel == serial  # same cells, same keys, same numbers, whichever process ran them


def test_reproduce_refuses_a_non_positive_job_count(tmp_path, capsys):
    assert main(["reproduce", "--quick", "--jobs", "0", "--out", str(tmp_path), "rlhf_beta"]) == 2
    assert "--jobs must be a positive integer, got 0" in capsys.readouterr().err


def test_a_bad_set_value_is_one_line_exit_2_and_leaves_no_folder(tmp_path, capsys):
    code = main(["run", "bon_coverage", "--quick", "--set", "coverage=abc", "--no-progress", "--out", str(tmp_path)])
    assert code == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("sharpsim: error:") and "\n" not in error
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_an_out_of_range_seed_is_refused(tmp_path, capsys):
    assert main(["run", "bon_coverage", "--quick", "--seed", "-1", "--out", str(tmp_path)]) == 2
    assert "--seed must lie in [0, 2**32), got -1" in capsys.readouterr().err
