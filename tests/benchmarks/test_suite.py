"""The benchmark suite runs and writes its table (a smoke test: timings are measured by the suite, never asserted)."""

from __future__ import annotations

import json

import pytest

from benchmarks.run import main, table_markdown


def test_the_table_escapes_pipes_and_lists_every_row():
    rows = [{"benchmark": "b", "setting": "|X| = 4", "ours": "1 s", "baseline": "2 s", "ratio": 2.0,
             "meaning": "speed-up"}]
    described = {"cpu": "cpu", "cores": 2, "memory": "1 GiB", "load_average_at_start": "0", "python": "3",
                 "jax": "0", "numpy": "0"}
    text = table_markdown(rows, described, 1.0, quick=True)
    line = text.strip().splitlines()[-1]
    assert line == "| b | \\|X\\| = 4 | 1 s | 2 s | 2 | speed-up |"
    assert line.count("|") - line.count("\\|") == 7  # six columns


@pytest.mark.slow
def test_the_quick_suite_writes_its_table(tmp_path):
    assert main(["--quick", "--only", "exact", "memory", "--out", str(tmp_path)]) == 0
    written = json.loads((tmp_path / "benchmarks.json").read_text())
    assert written["quick"] and {row["benchmark"] for row in written["rows"]} == {
        "exact SFT law vs Monte Carlo", "peak memory: large policy, built", "peak memory: large policy, sampled",
        "peak memory: many seeds"}
    assert all(row["ratio"] > 0 for row in written["rows"])
    assert "| exact SFT law vs Monte Carlo |" in (tmp_path / "benchmarks.md").read_text()
