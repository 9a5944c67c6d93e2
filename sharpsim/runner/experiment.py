"""An experiment is data plus an analysis (the bsuite pattern), kept in a folder of its own.

A folder ``NAME/`` holds two files:

* ``sweep.py`` defines ``SWEEP = Sweep(...)``: the grid, the seeds, the fixed settings and ``run_cell``;
* ``analysis.py`` defines ``summarize(table) -> dict`` (the numbers: fits, thresholds, intervals) and
  ``plot(summary, table, path)`` (the figure, theory overlaid, drawn from the summary and the table).

``load_experiment(path)`` turns such a folder into an ``Experiment``. The built-in experiments live in the
repository's top-level ``experiments/`` folder and load the same way as a user's folder anywhere else, so a user's
experiment gets the same resume, progress bar and tidy tables (``sharpsim run PATH``).

Inside a folder, ``sweep.py`` and ``analysis.py`` may import each other or other files of the same folder
relatively (``from . import analysis``): the folder is loaded as a package named after it.
"""

from __future__ import annotations

import importlib
import itertools
import math
import numbers
import os
import re
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import jax
import pandas as pd

CellFunction = Callable[[Mapping[str, Any], jax.Array, int], Mapping[str, Any]]

# The order of ``sharpsim reproduce``: the paper's order (coverage, lower bounds, SFT, RLHF, XPO, autoregressive).
BUILTIN_EXPERIMENTS = (
    "bon_coverage",
    "lower_bound",
    "lower_bound_p",
    "lower_bound_adaptive",
    "lower_bound_allocation",
    "sft_coverage",
    "sft_epsilon",
    "sft_class_size",
    "sft_n_vs_N",
    "rlhf_beta",
    "rlhf_margin",
    "rlhf_margin_linear",
    "greedy_vs_argmax",
    "xpo_vs_sft",
    "offline_vs_online",
    "xpo_alpha",
    "sft_bitstring",
    "bon_lift",
    "self_rewards",
    "amortisation",
    "lm_coverage",
    "lm_sharpening",
)


@dataclass(frozen=True)
class Sweep:
    """A named grid × seeds and the function that computes one cell of it.

    Attributes:
      title: one line for ``sharpsim list``.
      grid: axis name → values for the full run; cells are the cartesian product in axis order.
      seeds: seeds per cell in the full run.
      run_cell: (params, key, seeds) → mapping of column name → 1-d array (all of one length), vectorized over
        seeds.
      claim: the paper's statement the experiment checks (theorem number), for ``sharpsim list``.
      quick_grid / quick_seeds: replacements for ``--quick`` (missing axes keep the full values).
      settings: the fixed constants that define a cell besides its grid values (ε, δ, ρ, sizes, paddings,
        hyper-parameters); JSON-able, part of every cell id and of ``summary.json``.
      seed_rows: ``run_cell`` returns one row per seed (a ``seed`` column 0..seeds−1 is added unless given).
    """

    title: str
    grid: Mapping[str, Sequence]
    seeds: int
    run_cell: CellFunction
    claim: str = ""
    quick_grid: Mapping[str, Sequence] = field(default_factory=dict)
    quick_seeds: int | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    seed_rows: bool = False

    def __post_init__(self):
        if not isinstance(self.title, str):
            raise TypeError(f"Sweep title must be a string, got {type(self.title).__name__}")
        if not callable(self.run_cell):
            raise TypeError(f"Sweep run_cell must be callable (params, key, seeds) -> columns, got {self.run_cell!r}")
        if not isinstance(self.grid, Mapping) or not self.grid:
            raise ValueError(f"Sweep grid must be a non-empty mapping axis -> values, got {self.grid!r}")
        unknown = set(self.quick_grid) - set(self.grid)
        if unknown:
            raise ValueError(f"Sweep quick_grid names axes {sorted(unknown)} that the grid lacks ({sorted(self.grid)})")


@dataclass(frozen=True)
class Experiment:
    """A sweep with its name and its analysis (``summarize`` then ``plot``)."""

    name: str
    sweep: Sweep
    summarize: Callable[[pd.DataFrame], dict]
    plot: Callable[[dict, pd.DataFrame, Path], None]
    folder: Path | None = None

    # the sweep's fields, read through
    title = property(lambda self: self.sweep.title)
    claim = property(lambda self: self.sweep.claim)
    grid = property(lambda self: self.sweep.grid)
    seeds = property(lambda self: self.sweep.seeds)
    settings = property(lambda self: self.sweep.settings)

    def analyze(self, table: pd.DataFrame, figure_path: Path) -> dict:
        """``summarize`` the table, then ``plot`` the summary and the table to ``figure_path``; the summary."""
        summary = self.summarize(table)
        self.plot(summary, table, Path(figure_path))
        return summary

    def resolved_grid(self, quick: bool = False, overrides: Mapping[str, Sequence] | None = None) -> dict:
        grid = {axis: list(values) for axis, values in self.sweep.grid.items()}
        if quick:
            grid.update({axis: list(values) for axis, values in self.sweep.quick_grid.items()})
        for axis, values in (overrides or {}).items():
            if axis not in grid:
                raise ValueError(f"experiment {self.name!r} has no grid axis {axis!r}; its axes are {sorted(grid)}")
            grid[axis] = list(values)
        for axis, values in grid.items():
            if len(values) == 0:
                raise ValueError(f"grid axis {axis!r} of experiment {self.name!r} has no values")
            for value in values:
                # a NaN would also defeat the stored-cell check (NaN != NaN): every run would recompute the cell
                if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral) and not math.isfinite(
                        value):
                    raise ValueError(f"grid axis {axis!r} of experiment {self.name!r} has the value "
                                     f"{float(value)!r}; grid values must be finite numbers")
        return grid

    def resolved_seeds(self, quick: bool = False) -> int:
        if quick and self.sweep.quick_seeds:
            return self.sweep.quick_seeds
        return self.sweep.seeds

    @staticmethod
    def cells(grid: Mapping[str, Sequence]) -> list[dict]:
        axes = list(grid)
        return [dict(zip(axes, combination)) for combination in itertools.product(*(grid[a] for a in axes))]


def builtin_experiments_folder() -> Path:
    """Where the built-in experiments live: ``$SHARPSIM_EXPERIMENTS`` if set, else the ``experiments/`` folder beside
    the ``sharpsim`` package (a source checkout, installed with ``pip install -e .``), else ``./experiments``."""
    configured = os.environ.get("SHARPSIM_EXPERIMENTS")
    if configured:
        return Path(configured)
    beside_package = Path(__file__).resolve().parents[2] / "experiments"
    if beside_package.is_dir():
        return beside_package
    return Path.cwd() / "experiments"


def experiment_names() -> list[str]:
    return list(BUILTIN_EXPERIMENTS)


def get_experiment(name_or_path: str | os.PathLike) -> Experiment:
    """A built-in experiment by name, or any experiment folder by path."""
    text = str(name_or_path)
    if text in BUILTIN_EXPERIMENTS:
        return load_experiment(builtin_experiments_folder() / text)
    path = Path(text)
    if path.is_dir():
        return load_experiment(path)
    if os.sep in text or (os.altsep and os.altsep in text) or text.startswith("."):
        raise ValueError(f"experiment folder {text!r} does not exist or is not a folder")
    raise ValueError(f"unknown experiment {text!r}: not a folder with sweep.py and analysis.py, nor a built-in "
                     f"experiment ({', '.join(BUILTIN_EXPERIMENTS)})")


def experiment_module(name_or_path: str | os.PathLike, module: str = "sweep") -> types.ModuleType:
    """One file of an experiment folder as a module (``"sweep"``, ``"analysis"`` or a helper file beside them), for
    tests and notebooks that call an experiment's own functions."""
    text = str(name_or_path)
    folder = builtin_experiments_folder() / text if text in BUILTIN_EXPERIMENTS else Path(text)
    if not (folder / f"{module}.py").is_file():
        raise ValueError(f"experiment folder {str(folder)!r} has no {module}.py")
    return importlib.import_module(f"{_folder_package(folder.resolve())}.{module}")


def load_experiment(folder: str | os.PathLike) -> Experiment:
    """Load the experiment in ``folder`` (``sweep.py`` with ``SWEEP``, ``analysis.py`` with ``summarize`` and
    ``plot``). The folder's name is the experiment's name."""
    folder = Path(folder).resolve()
    for required in ("sweep.py", "analysis.py"):
        if not (folder / required).is_file():
            raise ValueError(f"experiment folder {str(folder)!r} has no {required}; an experiment folder holds "
                             "sweep.py (SWEEP = Sweep(...)) and analysis.py (summarize, plot)")
    package = _folder_package(folder)
    sweep_module = importlib.import_module(f"{package}.sweep")
    analysis_module = importlib.import_module(f"{package}.analysis")
    sweep = getattr(sweep_module, "SWEEP", None)
    if not isinstance(sweep, Sweep):
        raise TypeError(f"{folder / 'sweep.py'} must define SWEEP = sharpsim.runner.Sweep(...), got {sweep!r}")
    for function in ("summarize", "plot"):
        if not callable(getattr(analysis_module, function, None)):
            raise TypeError(f"{folder / 'analysis.py'} must define {function}(...)")
    return Experiment(folder.name, sweep, analysis_module.summarize, analysis_module.plot, folder)


def _folder_package(folder: Path) -> str:
    """Register ``folder`` as a package (so its files import each other relatively) and return its module name.
    The name carries a hash of the path, so two folders of one name never collide."""
    from sharpsim.runner.sweep import short_hash

    safe = re.sub(r"\W", "_", folder.name)
    name = f"sharpsim_experiment_{safe}_{short_hash(str(folder), 8)}"
    if name not in sys.modules:
        package = types.ModuleType(name)
        package.__path__ = [str(folder)]
        package.__file__ = str(folder / "__init__.py")
        sys.modules[name] = package
    return name
