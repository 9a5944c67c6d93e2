"""``sharpsim reproduce --quick`` from a fresh process, cold (an empty compilation cache) and warm (the cache the cold
run filled), in a scratch folder so committed results are untouched."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def reproduce_quick(quick: bool) -> list[dict]:
    with tempfile.TemporaryDirectory() as scratch:
        environment = {**os.environ, "SHARPSIM_COMPILE_CACHE": str(Path(scratch) / "cache")}
        times = []
        for _ in ("cold", "warm"):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "sharpsim.runner.cli", "reproduce", "--quick", "--no-progress",
                            "--force", "--out", str(Path(scratch) / "out")], check=True, env=environment,
                           capture_output=True)
            times.append(time.perf_counter() - start)
    return [{"benchmark": "sharpsim reproduce --quick", "setting": f"{os.cpu_count()} cores, fresh processes",
             "ours": f"cold {times[0]:.1f} s, warm {times[1]:.1f} s", "baseline": "targets: 40 s cold, 15 s warm",
             "ratio": times[0] / times[1], "meaning": "cold / warm (what the compile cache saves)"}]
