"""Running one fuzz case and judging its outcome; the memory-capped child process for huge sizes.

A case calls a catalog entry's function with its valid arguments, one of them replaced by a fuzzed value, and
is judged by the value's category:

* ``bad``: must raise ``ValueError``/``TypeError`` whose message names the argument (case-insensitive, as a
  word; an entry may list aliases), or ``QueryBudgetExceeded``; anything else fails (another exception type
  is "obscure", a return is "accepted an invalid value");
* ``either``: such a named refusal, or a finite, valid answer;
* ``extreme``: a valid but extreme value: the answer must be finite and valid (no exception).

An answer is valid when no float leaf is NaN, none is ±inf unless the entry documents infinities, every
``TabularPolicy`` in it has rows on the simplex, and the entry's own ``check`` passes.

Huge sizes are never attempted in the test process: a case whose value has a finite magnitude ≥ 1e5
(``is_guarded``) runs in a child process (``python -m tests.fuzz.harness``) whose data segment is capped
(``RLIMIT_DATA``, so an attempted allocation fails at once instead of swapping a shared machine) and whose
cases are killed after ``GUARDED_TIMEOUT`` seconds (a loop over 10**9 rounds counts as attempted). The child
and the test process both set ``SHARPSIM_MAX_ARRAY_BYTES`` small, the limit sharpsim's own allocation checks
honor (``sharpsim.core.validation.check_allocation``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import select
import signal
import subprocess
import sys
import time
import warnings
from typing import Callable

import numpy as np

MAX_ARRAY_BYTES = 2**28
os.environ.setdefault("SHARPSIM_MAX_ARRAY_BYTES", str(MAX_ARRAY_BYTES))

import jax  # noqa: E402

import sharpsim as ss  # noqa: E402
from tests.fuzz.values import Lazy, label, resolve  # noqa: E402

DOCUMENTED = (ValueError, TypeError, ss.QueryBudgetExceeded)
CALL_TIME_LIMIT = 30.0     # seconds; a refusal is immediate, a tiny valid call compiles in a few
GUARDED_TIMEOUT = 15.0     # seconds per case in the child process
CHILD_DATA_LIMIT = 3 * 2**30
GUARD_MAGNITUDE = 1e5

# Argument names that messages may legitimately use instead (the paper's symbols, or the shape they describe).
ALIASES = {
    "num_samples": ("N",),
    "num_prompts": ("n",),
    "eps": ("ε", "epsilon"),
    "delta": ("δ",),
    "rho": ("ρ",),
    "beta": ("β",),
    "mu": ("μ",),
}


@dataclasses.dataclass
class Entry:
    """One public callable: how to call it, a valid call, and fuzzed values per argument."""

    name: str                                   # qualified name, as the coverage test spells it
    package: str                                # core, policies, instances, classes, algorithms, referee, ...
    call: Callable                              # call(**kwargs)
    valid: dict                                 # a valid call's arguments (values may be Lazy)
    bad: dict = dataclasses.field(default_factory=dict)       # arg -> values that must be refused
    either: dict = dataclasses.field(default_factory=dict)    # arg -> refuse (named) or answer validly
    extreme: dict = dataclasses.field(default_factory=dict)   # arg -> valid extremes: a finite valid answer
    check: Callable | None = None               # check(result) -> None or a description of what is wrong
    allow_inf: bool = False                     # the answer may hold ±inf (documented)
    aliases: dict = dataclasses.field(default_factory=dict)   # arg -> other names a message may use
    fast: tuple = ()                            # arguments fuzzed in the default (fast) suite
    none_ok: frozenset = frozenset()            # arguments whose default is None (set by the catalog)
    unsized: tuple = ()                         # arguments that size nothing: their huge values run in process

    def arguments(self) -> list[str]:
        return sorted(set(self.bad) | set(self.either) | set(self.extreme))


@dataclasses.dataclass(frozen=True)
class Case:
    entry: Entry
    arg: str
    category: str   # "bad", "either" or "extreme"
    index: int
    value: object

    @property
    def id(self) -> str:
        return f"{self.entry.name} {self.arg}={label(self.value)} [{self.category} {self.index}]"


def cases(entry: Entry, arg: str | None = None):
    """Every explicit case of ``entry`` (of one argument if given), in catalog order."""
    for category in ("bad", "either", "extreme"):
        for name, values in getattr(entry, category).items():
            if arg is None or name == arg:
                for index, value in enumerate(values):
                    if not (value is None and accepts_none(entry, name)):
                        yield Case(entry, name, category, index, value)


def accepts_none(entry: Entry, arg: str) -> bool:
    """None is a valid value where it is the argument's default or the catalog's valid value."""
    return arg in entry.none_ok or (arg in entry.valid and entry.valid[arg] is None)


def runs_guarded(case: Case) -> bool:
    """Whether a case runs in the memory-capped child: a huge value of an argument that may size an array."""
    return is_guarded(case.value) and case.arg not in case.entry.unsized


def is_guarded(value) -> bool:
    """True for values holding a finite number of magnitude ≥ 1e5: possible huge sizes, run in the child."""
    if isinstance(value, Lazy):
        return value.huge
    if isinstance(value, (str, bytes, dict)) or value is None:
        return False
    if isinstance(value, (list, tuple)):
        return any(is_guarded(v) for v in value)
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, (int, np.integer)):
        return abs(int(value)) >= GUARD_MAGNITUDE
    if isinstance(value, (float, np.floating)):
        return math.isfinite(float(value)) and abs(float(value)) >= GUARD_MAGNITUDE
    return False


def names_argument(message: str, names) -> bool:
    return any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", message, re.IGNORECASE)
               for name in names)


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else "")[:200]


def problems(result, allow_inf: bool) -> list[str]:
    """What is wrong with an answer: NaN (or undocumented ±inf) float leaves, tables off the simplex."""
    found: list[str] = []

    def visit(value, where: str) -> None:
        if isinstance(value, ss.TabularPolicy):
            probs, mu = np.asarray(value.probs), np.asarray(value.prompt_probs)
            if not (np.all(np.isfinite(probs)) and np.all(probs >= 0)
                    and np.all(np.abs(probs.sum(axis=-1) - 1.0) < 1e-6)):
                found.append(f"{where}: TabularPolicy rows off the simplex (sums {probs.sum(axis=-1).ravel()[:4]})")
            if not (np.all(np.isfinite(mu)) and np.all(mu >= 0) and abs(mu.sum() - 1.0) < 1e-6):
                found.append(f"{where}: TabularPolicy.prompt_probs off the simplex ({mu[:4]})")
            return
        if isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                visit(item, f"{where}[{i}]")
            return
        if isinstance(value, dict):
            for key, item in value.items():
                visit(item, f"{where}[{key!r}]")
            return
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            for field in dataclasses.fields(value):
                visit(getattr(value, field.name), f"{where}.{field.name}")
            return
        leaves = jax.tree_util.tree_leaves(value, is_leaf=lambda v: isinstance(v, ss.TabularPolicy))
        if not (len(leaves) == 1 and leaves[0] is value):
            for i, leaf in enumerate(leaves):
                visit(leaf, f"{where}[{i}]")
            return
        try:
            array = np.asarray(value)
        except Exception:  # noqa: BLE001 - opaque objects are not checked
            return
        if array.dtype.kind == "f":
            if np.isnan(array).any():
                found.append(f"{where}: NaN in {_show(array)}")
            elif not allow_inf and np.isinf(array).any():
                found.append(f"{where}: ±inf in {_show(array)}")

    visit(result, "answer")
    return found


def float_leaves(result) -> list[np.ndarray]:
    """The float arrays of an answer (through tuples, dicts, dataclasses and pytrees)."""
    found = []

    def visit(value):
        if isinstance(value, (list, tuple)):
            for item in value:
                visit(item)
        elif isinstance(value, dict):
            for item in value.values():
                visit(item)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for field in dataclasses.fields(value):
                visit(getattr(value, field.name))
        else:
            leaves = jax.tree_util.tree_leaves(value)
            if not (len(leaves) == 1 and leaves[0] is value):
                for leaf in leaves:
                    visit(leaf)
                return
            try:
                array = np.asarray(value)
            except Exception:  # noqa: BLE001 - opaque objects hold no numbers to check
                return
            if array.dtype.kind == "f":
                found.append(array)

    visit(result)
    return found


def _show(array: np.ndarray) -> str:
    return np.array2string(array.ravel()[:6], precision=4, separator=",")


def summarize(result) -> str:
    leaves = jax.tree_util.tree_leaves(result)
    shown = []
    for leaf in leaves[:3]:
        try:
            shown.append(_show(np.asarray(leaf)))
        except Exception:  # noqa: BLE001
            shown.append(type(leaf).__name__)
    return f"{type(result).__name__} {', '.join(shown)}"[:200]


def judge(entry: Entry, arg: str | None, value=None, category: str = "extreme") -> str | None:
    """None when the case passes, else what went wrong (one line). ``arg`` None judges the valid call itself
    (as an extreme: it must be answered validly)."""
    kwargs = {name: resolve(v) for name, v in entry.valid.items()}
    if arg is not None:
        kwargs[arg] = resolve(value)
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = entry.call(**kwargs)
            jax.block_until_ready(jax.tree_util.tree_leaves(result))
    except ss.QueryBudgetExceeded:
        return None if category != "extreme" else "refused a valid extreme value: QueryBudgetExceeded"
    except DOCUMENTED as error:
        elapsed = time.perf_counter() - start
        if category == "extreme":
            return f"refused a valid extreme value: {type(error).__name__}: {first_line(error)}"
        names = (arg, *entry.aliases.get(arg, ()), *ALIASES.get(arg, ()))
        if not names_argument(str(error), names):
            return f"{type(error).__name__} does not name {arg!r}: {first_line(error)}"
        if elapsed > CALL_TIME_LIMIT:
            return f"refused only after {elapsed:.0f}s (attempted first?): {first_line(error)}"
        return None
    except Exception as error:  # noqa: BLE001 - the point is to report every other exception type
        return f"obscure {type(error).__module__}.{type(error).__name__}: {first_line(error)}"
    elapsed = time.perf_counter() - start
    found = problems(result, entry.allow_inf)
    if entry.check is not None and not found:
        issue = entry.check(result)
        found += [issue] if issue else []
    if category == "bad":
        return f"accepted an invalid value silently: returned {summarize(result)}" + (
            f"; {found[0]}" if found else "")
    if found:
        return f"invalid answer: {found[0]}"
    if elapsed > CALL_TIME_LIMIT:
        return f"answered only after {elapsed:.0f}s"
    return None


# --- the guarded child process ----------------------------------------------------------------------------
def run_guarded(case_list: list[Case], timeout: float = GUARDED_TIMEOUT) -> dict[str, str | None]:
    """Judge ``case_list`` in a memory-capped child process; a case that outlives ``timeout`` or kills the
    child is reported as attempted, and the child restarts at the next case."""
    pending = [case.id for case in case_list]
    outcomes: dict[str, str | None] = {}
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    while pending:
        child = subprocess.Popen([sys.executable, "-m", "tests.fuzz.harness"], cwd=root, stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=_child_log(), start_new_session=True)
        child.stdin.write((json.dumps(pending) + "\n").encode())
        child.stdin.close()
        lines = _LineReader(child.stdout.fileno())
        current, deadline = None, time.monotonic() + 300.0  # the first deadline covers importing jax
        while True:
            line = lines.next(deadline)
            if line is _TIMEOUT:
                _kill(child)
                if current is None:
                    raise RuntimeError("the guarded fuzz child did not start")
                outcomes[current] = f"still running after {timeout:.0f}s: a huge value was attempted, not refused"
                if os.environ.get("SHARPSIM_FUZZ_VERBOSE"):
                    print(f"[guarded timeout] {current}", file=sys.stderr, flush=True)
                break
            if line is None:  # the child exited
                child.wait()
                if current is None and not outcomes.keys() & set(pending):
                    raise RuntimeError(f"the guarded fuzz child exited with status {child.returncode} before a case")
                if current is not None:
                    outcomes[current] = f"crashed the process (exit status {child.returncode}): attempted"
                break
            message = json.loads(line)
            if "start" in message:
                current, deadline = message["start"], time.monotonic() + timeout
            else:
                outcomes[message["id"]] = message["failure"]
                current, deadline = None, time.monotonic() + timeout
                if os.environ.get("SHARPSIM_FUZZ_VERBOSE"):
                    print(f"[guarded {len(outcomes)}/{len(case_list)}] {message['id']}: {message['failure']}",
                          file=sys.stderr, flush=True)
        child.stdout.close()
        pending = [case_id for case_id in pending if case_id not in outcomes]
    return outcomes


_TIMEOUT = object()


class _LineReader:
    """Lines from a pipe with a deadline (unbuffered reads, so ``select`` sees every byte not yet consumed)."""

    def __init__(self, fd: int):
        self.fd, self.buffer = fd, b""

    def next(self, deadline: float):
        while b"\n" not in self.buffer:
            ready, _, _ = select.select([self.fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                return _TIMEOUT
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()


def _child_log():
    """Where the child's stderr goes: a file named by SHARPSIM_FUZZ_CHILD_LOG (for debugging), else nowhere."""
    path = os.environ.get("SHARPSIM_FUZZ_CHILD_LOG")
    return open(path, "a") if path else subprocess.DEVNULL


def _kill(child: subprocess.Popen) -> None:
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    child.wait()


def _child_main() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_DATA, (CHILD_DATA_LIMIT, CHILD_DATA_LIMIT))
    os.environ["SHARPSIM_MAX_ARRAY_BYTES"] = str(MAX_ARRAY_BYTES)
    from tests.fuzz.catalog import all_cases

    wanted = json.loads(sys.stdin.readline())
    by_id = {case.id: case for case in all_cases()}
    for case_id in wanted:
        print(json.dumps({"start": case_id}), flush=True)
        case = by_id.get(case_id)
        try:
            if case is None:
                raise LookupError(f"no case {case_id!r} in the catalog (did it change during the run?)")
            failure = judge(case.entry, case.arg, case.value, case.category)
        except BaseException as error:  # noqa: BLE001 - MemoryError and friends are outcomes here
            failure = f"obscure {type(error).__name__}: {first_line(error)}"
        print(json.dumps({"id": case_id, "failure": failure}), flush=True)


if __name__ == "__main__":
    _child_main()
