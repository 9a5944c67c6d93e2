"""Timing and machine description shared by the benchmarks."""

from __future__ import annotations

import os
import platform
import time
from typing import Callable

import jax


def best_time(function: Callable[[], object], repeats: int = 3) -> float:
    """Seconds of the fastest of ``repeats`` calls, after one untimed call (compilation, caches); JAX results are
    waited for, so asynchronous dispatch is not mistaken for speed."""
    jax.block_until_ready(function())
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(function())
        best = min(best, time.perf_counter() - start)
    return best


def machine() -> dict:
    """What the numbers were measured on: CPU model, cores, memory, and the versions that matter."""
    import numpy as np

    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as handle:
            model = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        memory = f"{os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.0f} GiB"
    except (ValueError, OSError, AttributeError):
        memory = "unknown"
    try:
        load = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        load = "unknown"
    return {"cpu": model, "cores": os.cpu_count(), "memory": memory, "load_average_at_start": load,
            "python": platform.python_version(), "jax": jax.__version__, "numpy": np.__version__,
            "platform": platform.platform()}
