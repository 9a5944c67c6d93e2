"""Run the benchmark suite and write its table: ``python -m benchmarks.run [--quick] [--only NAME ...] [--out DIR]``.

Each benchmark is a ratio measured in one process (or its children) on the same instance: sharpsim's kernel against
a baseline. The table (``benchmarks/results/benchmarks.md`` and ``.json``) records the machine and its load, since
the numbers are only comparable on an idle machine of the same kind. ``--quick`` shrinks every size (a smoke test of
the suite, not numbers to quote) and skips the reproduce timing.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from benchmarks.kernels import best_of_n_rates, exact_law_against_monte_carlo, sft_against_numpy
from benchmarks.memory import peak_memory
from benchmarks.reproduce_timing import reproduce_quick
from benchmarks.timing import machine
from benchmarks.xpo_rounds import xpo_time_per_round

BENCHMARKS = {"bon": best_of_n_rates, "sft": sft_against_numpy, "exact": exact_law_against_monte_carlo,
              "xpo": xpo_time_per_round, "memory": peak_memory, "reproduce": reproduce_quick}
DEFAULT_OUT = Path(__file__).resolve().parent / "results"


def table_markdown(rows: list[dict], described: dict, seconds: float, quick: bool) -> str:
    lines = ["# sharpsim benchmarks", "",
             f"Measured {time.strftime('%Y-%m-%d')} in {seconds:.0f} s{' (--quick: sizes shrunk, not for quoting)' if quick else ''} "
             f"on: {described['cpu']}, {described['cores']} cores, {described['memory']} "
             f"(load average at start {described['load_average_at_start']}); Python {described['python']}, "
             f"JAX {described['jax']}, numpy {described['numpy']}.", "",
             "| benchmark | setting | sharpsim | baseline | ratio | ratio means |", "|---|---|---|---|---|---|"]
    for row in rows:
        cells = [row["benchmark"], row["setting"], row["ours"], row["baseline"], f"{row['ratio']:.3g}", row["meaning"]]
        lines.append("| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, no reproduce timing (a smoke test)")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="run only these benchmarks")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder of benchmarks.md/.json")
    arguments = parser.parse_args(argv)
    names = arguments.only or [n for n in BENCHMARKS if not (arguments.quick and n == "reproduce")]
    described, start, rows = machine(), time.perf_counter(), []
    for name in names:
        began = time.perf_counter()
        rows.extend(BENCHMARKS[name](arguments.quick))
        print(f"{name}: {time.perf_counter() - began:.1f} s", flush=True)
    seconds = time.perf_counter() - start
    arguments.out.mkdir(parents=True, exist_ok=True)
    (arguments.out / "benchmarks.md").write_text(table_markdown(rows, described, seconds, arguments.quick))
    (arguments.out / "benchmarks.json").write_text(json.dumps({"machine": described, "quick": arguments.quick,
                                                               "seconds": seconds, "rows": rows}, indent=2) + "\n")
    print(table_markdown(rows, described, seconds, arguments.quick))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
