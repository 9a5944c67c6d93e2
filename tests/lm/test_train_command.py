"""``sharpsim train-lm``: usage errors, and a short run checked against the committed weights."""

import argparse

import numpy as np
import pytest

from sharpsim.lm.training import load_trained
from sharpsim.runner import train_command


def run(argv):
    parser = argparse.ArgumentParser(prog="sharpsim")
    train_command.add_parser(parser.add_subparsers(dest="command", required=True))
    arguments = parser.parse_args(["train-lm", *argv])
    return train_command.command_train_lm(arguments)


@pytest.mark.parametrize("argv, message", [(["--steps", "0"], "--steps"), (["--seed", "-1"], "--seed"),
                                           (["--seed", str(2**32)], "--seed")])
def test_usage_errors(argv, message, capsys, tmp_path):
    assert run([*argv, "--out", str(tmp_path / "x")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_parser_defaults():
    parser = argparse.ArgumentParser(prog="sharpsim")
    train_command.add_parser(parser.add_subparsers(dest="command", required=True))
    arguments = parser.parse_args(["train-lm"])
    assert (arguments.seed, arguments.steps, arguments.out) == (0, None, None)
    assert arguments.handler is train_command.command_train_lm


@pytest.mark.slow
def test_short_run_matches_committed(tmp_path, capsys):
    assert run(["--steps", "25", "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    output = capsys.readouterr().out
    assert "matches the committed weights at steps 0, 25" in output
    written = load_trained(tmp_path / "run")
    assert written.steps == 25 and sorted(written.checkpoints) == [0, 25]
    committed = load_trained()
    differences = train_command.compare_with_committed(written, committed)
    assert set(differences) == {0, 25} and all(close for _, close in differences.values())
    # a different seed is not compared
    assert run(["--steps", "2", "--seed", "1", "--out", str(tmp_path / "other"), "--no-progress"]) == 0
    assert "no committed checkpoint to compare with" in capsys.readouterr().out
    np.testing.assert_array_equal(written.losses, committed.losses[:25])
