"""The report of a conformance suite: one named result per check (``check_algorithm`` writes it; any other suite
of named checks can reuse it).

``CheckReport.passed`` is true when no check failed; ``str(report)`` is a readable table; ``raise_if_failed()``
raises an ``AssertionError`` naming every failed check, so a pytest test is one line::

    check_algorithm(build).raise_if_failed()
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CheckReport", "CheckResult"]


@dataclass(frozen=True)
class CheckResult:
    """One check: its ``name``, ``passed`` (True, False, or None when it could not run: ``detail`` says why)
    and ``detail`` (the evidence: what was compared, the first difference, the exception raised)."""

    name: str
    passed: bool | None
    detail: str = ""

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"CheckResult.name must be a non-empty str, got {self.name!r}")
        if self.passed not in (True, False, None):
            raise TypeError(f"CheckResult.passed must be True, False or None (skipped), got {self.passed!r}")
        if not isinstance(self.detail, str):
            raise TypeError(f"CheckResult.detail must be a str, got {type(self.detail).__name__}")

    @property
    def status(self) -> str:
        """``"passed"``, ``"FAILED"`` or ``"skipped"``."""
        return {True: "passed", False: "FAILED", None: "skipped"}[self.passed]


@dataclass(frozen=True)
class CheckReport:
    """The results of a suite of named checks run on one algorithm (``algorithm_name``), in the order run."""

    algorithm_name: str
    results: tuple[CheckResult, ...]

    def __post_init__(self):
        results = tuple(self.results)
        if not all(isinstance(result, CheckResult) for result in results):
            raise TypeError("CheckReport.results must hold CheckResult entries")
        names = [result.name for result in results]
        if len(set(names)) != len(names):
            raise ValueError(f"CheckReport.results must have distinct names, got {names}")
        object.__setattr__(self, "results", results)

    @property
    def passed(self) -> bool:
        """True when no check failed (skipped checks do not fail a report)."""
        return not self.failed

    @property
    def failed(self) -> tuple[str, ...]:
        """The names of the failed checks."""
        return tuple(result.name for result in self.results if result.passed is False)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(result.name for result in self.results)

    def __getitem__(self, name: str) -> CheckResult:
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(f"no check named {name!r}; this report has {list(self.names)}")

    def __str__(self) -> str:
        width = max([len(name) for name in self.names] + [5])
        lines = [f"check_algorithm({self.algorithm_name}): "
                 + ("passed" if self.passed else f"FAILED {', '.join(self.failed)}")]
        lines.append(f"  {'check'.ljust(width)}  status   detail")
        for result in self.results:
            detail = result.detail.replace("\n", "\n  " + " " * (width + 11))
            lines.append(f"  {result.name.ljust(width)}  {result.status.ljust(7)}  {detail}")
        return "\n".join(lines)

    def raise_if_failed(self) -> "CheckReport":
        """Raise ``AssertionError`` naming every failed check (with the table); return the report otherwise."""
        if not self.passed:
            raise AssertionError(f"{self.algorithm_name} failed {len(self.failed)} check(s): "
                                 f"{', '.join(self.failed)}\n{self}")
        return self
