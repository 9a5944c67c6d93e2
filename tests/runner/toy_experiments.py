"""Small experiment folders for the runner's tests, a script that kills a run inside a write, and a check that an
output tree holds no stray files."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from sharpsim.runner.lock import LOCK_NAME
from sharpsim.runner.sweep import PARTIAL_PREFIX

# A fast toy with a real PNG figure written through atomic_save_figure. Hooks for the tests, read only here:
# TOY_FAIL=cell makes run_cell raise a ValueError (a user's mistake) and TOY_FAIL=plot makes plot raise one;
# TOY_HOLD=FILE makes the first cell wait until FILE exists (a run that is surely in progress).
TOY_SWEEP = '''
import os
import time
from pathlib import Path

import jax
import numpy as np
from sharpsim.runner.experiment import Sweep


def run_cell(params, key, seeds):
    if os.environ.get("TOY_FAIL") == "cell":
        raise ValueError("toy cell refuses to run,\\n  on two lines")
    hold = os.environ.get("TOY_HOLD")
    if hold and params["a"] == 1:
        while not Path(hold).exists():
            time.sleep(0.02)
    return {"value": np.asarray(jax.random.uniform(key, (seeds,))) + 10 * params["a"]}


SWEEP = Sweep(title="fast toy", grid={"a": [1, 2, 3, 4]}, seeds=3, run_cell=run_cell, seed_rows=True,
              quick_grid={"a": [1, 2]})
'''
TOY_ANALYSIS = '''
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from sharpsim.runner.sweep import atomic_save_figure


def summarize(table):
    return {"mean": float(table.value.mean()), "cells": int(table.cell_id.nunique())}


def plot(summary, table, path):
    if os.environ.get("TOY_FAIL") == "plot":
        raise ValueError("toy plot refuses to draw")
    figure, ax = plt.subplots(figsize=(3, 2))
    ax.plot(table.a, table.value, "o")
    ax.set_xlabel("a")
    ax.set_ylabel("value")
    atomic_save_figure(figure, path, dpi=50)
    plt.close(figure)
'''

# Runs the command line with a writer patched to write half of its file and then SIGKILL its own process: the kill
# lands inside the real atomic write, after its partial file was created. argv: MODE (cell K | figure) then the
# command line's arguments.
KILL_INSIDE_WRITE = '''
import io, os, signal, sys
mode = sys.argv[1]
if mode == "cell":
    import pandas as pd
    kill_at, arguments = int(sys.argv[2]), sys.argv[3:]
    owner, method = pd.DataFrame, "to_parquet"
else:
    import matplotlib.figure
    kill_at, arguments = 1, sys.argv[2:]
    owner, method = matplotlib.figure.Figure, "savefig"
original = getattr(owner, method)
calls = []

def dying(self, target, *args, **kwargs):
    calls.append(target)
    if len(calls) < kill_at:
        return original(self, target, *args, **kwargs)
    buffer = io.BytesIO()
    original(self, buffer, *args, **kwargs)
    data = buffer.getvalue()
    with open(target, "wb") as handle:
        handle.write(data[: len(data) // 2])
    os.kill(os.getpid(), signal.SIGKILL)

setattr(owner, method, dying)
from sharpsim.runner.cli import main
sys.exit(main(arguments))
'''


def write_toy_experiment(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "sweep.py").write_text(textwrap.dedent(TOY_SWEEP))
    (folder / "analysis.py").write_text(textwrap.dedent(TOY_ANALYSIS))
    return folder


def run_killed_inside_write(mode: list[str], arguments: list[str], env: dict | None = None):
    """Run ``sharpsim ARGUMENTS`` in a subprocess that kills itself in the middle of a write (see above)."""
    return subprocess.run([sys.executable, "-c", KILL_INSIDE_WRITE, *mode, *arguments], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=300)


def stray_files(root: Path) -> list[str]:
    """What a finished run must not leave in an output tree: partial files, lock files, empty folders."""
    stray = []
    for folder, subfolders, files in os.walk(root):
        if not subfolders and not files:
            stray.append(f"{folder}/ (empty folder)")
        stray += [os.path.join(folder, f) for f in files if f.startswith(PARTIAL_PREFIX) or f == LOCK_NAME]
    return stray


def is_png(path: Path) -> bool:
    import matplotlib.image

    if not path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n"):
        return False
    try:
        return matplotlib.image.imread(path).ndim == 3  # decodes the whole image
    except (OSError, SyntaxError, ValueError):  # what the image reader raises for a truncated or broken file
        return False
