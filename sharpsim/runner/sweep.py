"""The sweep runner: executes an ``Experiment``'s cells with resume, then its analysis (the bsuite pattern).

An experiment (``runner/experiment.py``) is a grid × seeds with a ``run_cell(params, key, seeds)`` that computes
one cell *vectorized over seeds*, and an analysis (``summarize`` then ``plot``). ``run_experiment`` executes the
cells that are not stored yet, each stored atomically as its own parquet file, so a run killed halfway loses at
most the cell in flight and resumes where it stopped. A run holds its results folder's lock (``runner/lock.py``)
from start to end, so two runs into one folder never compute a cell twice.

Cell ids are stable hashes of (experiment, parameters, seeds, base seed, the experiment's fixed ``settings``).
Each cell's PRNG key is folded from the base seed and the hash of (experiment, parameters, seeds) alone, so a
cell's numbers do not depend on which other cells run or in what order, and a change of settings reruns the cell
on the same random numbers (common random numbers across settings). Every constant that shapes a cell's numbers
belongs in the grid or in ``settings``: then changing it recomputes the cell instead of reusing a stale one. (A
change of code that alters numbers needs ``--force``, or a bump of the experiment's ``settings["revision"]``.)

Compile once: a ``run_cell`` should call module-level jitted functions whose shapes do not depend on the
grid value (pass values as arrays, pad to a common shape). ``sharpsim.core.jit.counted_jit`` counts traces so
tests can assert that a sweep compiled once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import jax
import numpy as np
import pandas as pd

from sharpsim.core.jit import counted_jit  # noqa: F401  (re-exported: experiments count their compilations)
from sharpsim.core.validation import check_positive_int
from sharpsim.runner.experiment import Experiment
from sharpsim.runner.backends import LocalBackend
from sharpsim.runner.lock import hold_folder, make_folders, remove_created_folders

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Layout:
    """Where one run writes: a results folder (cells/ + summary.json) and the figure path."""

    results_dir: Path
    figure_path: Path

    @property
    def cells_dir(self) -> Path:
        return self.results_dir / "cells"

    @property
    def summary_path(self) -> Path:
        return self.results_dir / "summary.json"


def default_layout(name: str, out_dir: Path | str = ".", quick: bool = False, tag: str | None = None) -> Layout:
    """Committed full runs: results/NAME, figures/NAME.png; --quick: results/quick/NAME, figures/quick/NAME.png;
    an exploratory ``sharpsim run`` with overrides: runs/NAME-TAG/."""
    out_dir = Path(out_dir)
    if tag is not None:
        folder = out_dir / "runs" / f"{name}-{tag}"
        return Layout(folder, folder / f"{name}.png")
    sub = Path("quick") if quick else Path()
    return Layout(out_dir / "results" / sub / name, out_dir / "figures" / sub / f"{name}.png")


def cell_id(experiment_name: str, params: Mapping[str, Any], seeds: int, base_seed: int,
            settings: Mapping[str, Any] | None = None) -> str:
    """The stored cell's name; without ``settings``, the id its random stream is folded from."""
    record = {"experiment": experiment_name, "params": params, "seeds": seeds, "base_seed": base_seed,
              "schema": SCHEMA_VERSION}
    if settings is not None:
        record["settings"] = dict(settings)
    payload = json.dumps(
        record,
        sort_keys=True, default=_json_default,
    )
    return short_hash(payload, 16)


def short_hash(text: str, length: int) -> str:
    """The first ``length`` hex characters of SHA-1(text): stable across runs, machines and Python versions."""
    return hashlib.sha1(text.encode()).hexdigest()[:length]


def cell_key(base_seed: int, identifier: str) -> jax.Array:
    return jax.random.fold_in(jax.random.PRNGKey(base_seed), int(identifier[:8], 16))


@dataclass(frozen=True)
class RunOutput:
    table: pd.DataFrame
    summary: dict
    layout: Layout
    computed_cells: int
    stored_cells: int
    seconds: float


def run_experiment(
    experiment: Experiment,
    layout: Layout,
    quick: bool = False,
    force: bool = False,
    overrides: Mapping[str, Sequence] | None = None,
    seeds: int | None = None,
    base_seed: int = 0,
    progress: bool = True,
    wait: bool = True,
    backend=None,
) -> RunOutput:
    """Run every cell of the experiment that is not stored yet, then analyze the whole table.

    ``backend`` computes the cells (``runner/backends.py``: ``LocalBackend()``, the default, or ``RayBackend(...)``);
    this process stores each one as it arrives, so both give the same stored cells.

    The results folder is locked for the whole run (``runner/lock.py``): a second run into it waits, or with
    ``wait=False`` raises ``FolderInUseError``, so no cell is ever computed twice. A run that fails before storing
    any cell removes the folders it created."""
    start = time.perf_counter()
    grid = experiment.resolved_grid(quick, overrides)
    if seeds is None:
        seeds = experiment.resolved_seeds(quick)
    seeds = check_positive_int(seeds, "seeds")
    with hold_folder(layout.results_dir, wait=wait) as created:
        figure_folders: list[Path] = []
        try:
            return _run_locked(experiment, layout, grid, seeds, quick, force, base_seed, progress, figure_folders,
                               start, backend or LocalBackend())
        except BaseException:
            remove_created_folders(figure_folders)  # empty unless the plot wrote something before failing
            if created and not any(layout.cells_dir.glob("*.parquet")):
                shutil.rmtree(layout.results_dir, ignore_errors=True)  # a run that stored nothing leaves nothing
                remove_created_folders(created)
            raise


def _run_locked(experiment, layout, grid, seeds, quick, force, base_seed, progress, figure_folders, start, backend):
    from sharpsim import __version__

    cells = experiment.cells(grid)
    layout.cells_dir.mkdir(parents=True, exist_ok=True)
    identifiers = [cell_id(experiment.name, params, seeds, base_seed, experiment.settings) for params in cells]
    streams = {i: cell_id(experiment.name, params, seeds, base_seed) for i, params in zip(identifiers, cells)}
    remove_partial_files(layout.cells_dir)  # what a killed run was writing when it died
    frames = {} if force else {i: stored_cell(_cell_path(layout, i), i, p) for i, p in zip(identifiers, cells)}
    pending = [(i, p) for i, p in zip(identifiers, cells) if frames.get(i) is None]

    bar = _progress_bar(len(cells), len(cells) - len(pending), experiment.name, progress)
    params_of = dict(pending)
    tasks = [(i, p, cell_key(base_seed, streams[i]), seeds) for i, p in pending]
    for identifier, columns in backend.map(experiment.sweep.run_cell, tasks):
        params = params_of[identifier]
        frame = _cell_frame(columns, params, seeds if experiment.sweep.seed_rows else None, identifier, base_seed,
                            __version__)
        path = _cell_path(layout, identifier)
        _atomic_write(path, lambda temporary: frame.to_parquet(temporary, index=False))
        frames[identifier] = pd.read_parquet(path)  # as a resumed run will read it: one table, whatever was resumed
        bar.update(1)
    bar.close()

    table = pd.concat([frames[i] for i in identifiers], ignore_index=True)
    figure_folders += make_folders(layout.figure_path.parent)
    remove_partial_files(layout.figure_path.parent)
    summary = experiment.analyze(table, layout.figure_path)
    summary = {"experiment": experiment.name, "sharpsim_version": __version__, "quick": quick,
               "seeds": seeds, "base_seed": base_seed, "grid": grid, "settings": dict(experiment.settings),
               **summary}
    atomic_write_text(json.dumps(summary, indent=2, sort_keys=True, default=_json_default) + "\n",
                      layout.summary_path)
    return RunOutput(table, summary, layout, len(pending), len(cells) - len(pending),
                     time.perf_counter() - start)


def load_table(layout: Layout) -> pd.DataFrame:
    """Every stored cell of a results folder as one tidy table (including cells of older grids)."""
    paths = sorted(layout.cells_dir.glob("*.parquet"))
    if not paths:
        raise FileNotFoundError(f"no stored cells under {layout.cells_dir}")
    return pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)


def stored_cell(path: Path, identifier: str, params: Mapping[str, Any]) -> pd.DataFrame | None:
    """The stored table of one cell if ``path`` holds that cell, else None (nothing stored yet, or a file that is
    unreadable, empty, or another cell's: its ``cell_id`` column or its grid values differ). A bad file gets a
    one-line warning and is recomputed, never used."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        frame = pd.read_parquet(path)
    except Exception as error:  # a truncated or foreign file: any reader error means "not this cell"
        return _refuse_cell(path, f"it cannot be read ({type(error).__name__})")
    if len(frame) == 0 or "cell_id" not in frame or not (frame["cell_id"] == identifier).all():
        return _refuse_cell(path, "it holds another cell")
    for axis, value in params.items():
        if axis not in frame or not (frame[axis] == value).all():
            return _refuse_cell(path, f"its {axis!r} column is not {value!r}")
    return frame


def _refuse_cell(path: Path, reason: str) -> None:
    print(f"sharpsim: warning: stored cell {path} is not used ({reason}); recomputing it", file=sys.stderr)
    return None


PARTIAL_PREFIX = ".sharpsim-partial-"


def remove_partial_files(folder: Path) -> None:
    """Delete the temporary files that a run killed in the middle of a write left in ``folder``. A partial file is
    named after the process writing it; one whose process is still alive is being written right now (another run
    sharing the folder, such as ``reproduce``'s parallel experiments writing their figures) and is left alone."""
    for partial in Path(folder).glob(f"{PARTIAL_PREFIX}*"):
        if not _writer_alive(partial.name):
            partial.unlink(missing_ok=True)


def _writer_alive(name: str) -> bool:
    pid = name[len(PARTIAL_PREFIX):].split("-", 1)[0]
    if not pid.isdigit() or int(pid) == os.getpid():
        return False  # an older file without a writer id, or one this process left behind
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by someone else
    return True


def atomic_write_text(text: str, path: Path) -> None:
    _atomic_write(path, lambda temporary: Path(temporary).write_text(text))


def atomic_save_figure(figure, path: Path, dpi: int = 150) -> None:
    """Save a matplotlib figure so that a kill mid-write never leaves a truncated PNG."""
    _atomic_write(path, lambda temporary: figure.savefig(temporary, dpi=dpi, bbox_inches="tight",
                                                         format=Path(path).suffix.lstrip(".") or None))


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """``write`` a temporary file beside ``path``, give it ordinary permissions, then rename it over ``path``: a
    reader sees the old file or the new one, never half of one; a killed write leaves only a partial file that
    ``remove_partial_files`` deletes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f"{PARTIAL_PREFIX}{os.getpid()}-", suffix=".tmp",
                                     delete=False) as handle:
        temporary = Path(handle.name)
    try:
        write(temporary)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp's 0600 would make results unreadable to others
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _cell_path(layout: Layout, identifier: str) -> Path:
    return layout.cells_dir / f"{identifier}.parquet"


def _cell_frame(columns, params, seed_rows: int | None, identifier, base_seed, version) -> pd.DataFrame:
    """The cell's tidy table; ``seed_rows`` = number of seeds when the rows are one per seed, else None."""
    columns = {name: np.asarray(value) for name, value in columns.items()}
    lengths = {name: value.shape for name, value in columns.items()}
    if any(len(shape) != 1 for shape in lengths.values()) or len({s[0] for s in lengths.values()}) != 1:
        raise ValueError(f"run_cell must return 1-d columns of one length, got shapes {lengths}")
    length = next(iter(lengths.values()))[0]
    frame = pd.DataFrame(columns)
    if seed_rows is not None and "seed" not in frame:
        if length != seed_rows:
            raise ValueError(f"run_cell must return one row per seed ({seed_rows}) for a seed_rows experiment, "
                             f"got {length}")
        frame.insert(0, "seed", np.arange(seed_rows))
    for axis, value in reversed(list(params.items())):
        frame.insert(0, axis, [value] * length)
    frame["cell_id"] = identifier
    frame["base_seed"] = base_seed
    frame["sharpsim_version"] = version
    return frame


def _progress_bar(total: int, done: int, name: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=done, desc=name, unit="cell", disable=not enabled, leave=True)


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON-serializable: {value!r}")
