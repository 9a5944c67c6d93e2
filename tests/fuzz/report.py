"""Print every failing fuzz case, grouped by library package: ``python -m tests.fuzz.report [--fast] [--only NAME]``.

Runs what ``test_public_api`` runs (the valid calls, every argument's explicit values and hypothesis draws in
this process, the huge values in the memory-capped child) but collects every failure instead of stopping at the
first failing test. Cases of one argument that fail the same way are listed on one line with all their values.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import sys
import time

os.environ.setdefault("SHARPSIM_MAX_ARRAY_BYTES", str(2**28))

from tests.fuzz import catalog  # noqa: E402
from tests.fuzz.harness import judge, run_guarded, runs_guarded  # noqa: E402
from tests.fuzz.test_public_api import FAST_EXAMPLES, SLOW_EXAMPLES, argument_failures  # noqa: E402
from tests.fuzz.values import label  # noqa: E402


def kind_of(failure: str) -> str:
    """The failure without the echo of the value (quoted strings and numbers masked): cases of one argument with
    the same kind are listed on one line."""
    if failure.startswith("accepted"):
        return "accepted an invalid value silently"
    return re.sub(r"'[^']*'|\"[^\"]*\"|-?\d[\d.e+\-]*|\[[^\]]*\]|\([^)]*\)", "_", failure)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fast", action="store_true", help="only the default suite's subset")
    parser.add_argument("--only", default=None, help="only entries whose name contains this")
    parser.add_argument("--no-guarded", action="store_true", help="skip the huge values (child process)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    # package -> (entry, arg) -> kind -> [(value, source, failure)]
    found = collections.defaultdict(lambda: collections.defaultdict(lambda: collections.defaultdict(list)))
    selected = [entry for entry in catalog.entries() if (args.only is None or args.only in entry.name)
                and (not args.fast or entry.fast)]
    for entry in selected:
        failure = judge(entry, None)
        if failure:
            found[entry.package][(entry.name, "(valid call)")][kind_of(failure)].append(("", "valid", failure))
        for arg in entry.arguments():
            if args.fast and arg not in entry.fast:
                continue
            examples = FAST_EXAMPLES if arg in entry.fast else SLOW_EXAMPLES
            for value, source, failure in argument_failures(entry, arg, examples):
                found[entry.package][(entry.name, arg)][kind_of(failure)].append((value, source, failure))
        print(f"{time.perf_counter() - start:7.1f}s {entry.name}", file=sys.stderr, flush=True)
    in_process = time.perf_counter() - start
    if not args.no_guarded:
        guarded = [case for case in catalog.all_cases() if runs_guarded(case) and case.entry in selected
                   and (not args.fast or case.arg in case.entry.fast)]
        outcomes = run_guarded(guarded)
        for case in guarded:
            failure = outcomes.get(case.id)
            if failure:
                found[case.entry.package][(case.entry.name, case.arg)][kind_of(failure)].append(
                    (label(case.value), f"{case.category} {case.index}, guarded", failure))
    total = time.perf_counter() - start
    count = sum(len(v) for package in found.values() for kinds in package.values() for v in kinds.values())
    print(f"# {count} failing cases ({len(selected)} entries; {in_process:.0f}s in process, {total:.0f}s in all)")
    for package in sorted(found):
        cases = sum(len(v) for kinds in found[package].values() for v in kinds.values())
        print(f"\n## {package} ({cases} cases)")
        for (name, arg), kinds in sorted(found[package].items()):
            for kind, items in kinds.items():
                values = "; ".join(f"{value} [{source}]" for value, source, _ in items)
                shown = items[0][2] if len({failure for _, _, failure in items}) == 1 else f"{items[0][2]} (first)"
                print(f"- {name} `{arg}` = {values}\n  -> {shown}")
    return 1 if count else 0


if __name__ == "__main__":
    sys.exit(main())
