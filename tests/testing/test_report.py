"""CheckReport / CheckResult: the report type check_algorithm returns (and other suites of named checks reuse)."""

import pytest

from sharpsim.testing import CheckReport, CheckResult


def report(*outcomes):
    return CheckReport("my_algorithm", tuple(CheckResult(name, passed, detail) for name, passed, detail in outcomes))


def test_a_report_passes_when_no_check_failed():
    passing = report(("runs", True, "ok"), ("valid_policy", None, "no policy"))
    assert passing.passed and passing.failed == () and passing.names == ("runs", "valid_policy")
    assert passing.raise_if_failed() is passing
    assert passing["valid_policy"].status == "skipped" and passing["runs"].status == "passed"


def test_raise_if_failed_names_every_failed_check():
    failing = report(("runs", True, "ok"), ("budget", False, "used 12 with a budget of 11"),
                     ("jit", False, "ConcretizationTypeError"))
    assert not failing.passed and failing.failed == ("budget", "jit")
    with pytest.raises(AssertionError) as raised:
        failing.raise_if_failed()
    first, *table = str(raised.value).splitlines()
    assert first == "my_algorithm failed 2 check(s): budget, jit"
    assert any(line.split()[:2] == ["budget", "FAILED"] and "used 12 with a budget of 11" in line for line in table)


def test_the_table_has_one_row_per_check():
    text = str(report(("runs", True, "ok"), ("oracle_only", False, "first line\nsecond line")))
    lines = text.splitlines()
    assert lines[0] == "check_algorithm(my_algorithm): FAILED oracle_only"
    assert lines[1].split() == ["check", "status", "detail"]
    assert lines[2].split() == ["runs", "passed", "ok"]
    assert lines[3].split()[:2] == ["oracle_only", "FAILED"] and lines[4].strip() == "second line"


def test_bad_reports_are_refused():
    with pytest.raises(KeyError, match="no check named 'speed'"):
        report(("runs", True, ""))["speed"]
    with pytest.raises(ValueError, match="distinct names"):
        report(("runs", True, ""), ("runs", False, ""))
    with pytest.raises(TypeError, match="CheckResult entries"):
        CheckReport("a", ("runs",))
    with pytest.raises(TypeError, match="passed must be True, False or None"):
        CheckResult("runs", "yes")
    with pytest.raises(TypeError, match="non-empty str"):
        CheckResult("", True)
    with pytest.raises(TypeError, match="detail must be a str"):
        CheckResult("runs", True, 3)
