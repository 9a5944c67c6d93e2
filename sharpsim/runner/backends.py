"""Where a sweep's cells are computed: in this process (``local``, the default) or as tasks on a Ray cluster
(``ray``, for grids that outgrow one machine).

Cells are independent and keyed by their id, and a cell's PRNG key depends only on its id and the base seed, so a
backend only decides where ``run_cell(params, key, seeds)`` runs. The driver (the process running
``run_experiment``) receives each cell's columns as it finishes and stores it atomically, so a run killed halfway
keeps every cell already stored and resumes like a local run, and both backends store bit-identical cells.

Ray is an optional dependency (``pip install "sharpsim[ray]"``). ``RayBackend(address=None)`` starts a local Ray
instance with this machine's cores; ``address="auto"`` or ``"ray://HOST:10001"`` joins a running cluster, whose
workers need sharpsim installed in the same version (for example through ``runtime_env={"pip": [...]}``, see the
README). Experiment folders and user files that are not importable on the workers (``sweep.py`` of an experiment
folder, a ``path/to/file.py:FUNCTION`` method) are shipped by value with each task.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from typing import Callable, Iterable, Iterator

import numpy as np

# modules that exist only in this process (an experiment folder's package, a user's file): shipped by value
_LOCAL_MODULE_PREFIXES = ("sharpsim_experiment_", "sharpsim_loaded_")

Task = tuple[object, dict, object, int]  # (identifier, params, key, seeds)


class LocalBackend:
    """Every cell in this process, one after the other (JAX uses the cores within a cell)."""

    name = "local"

    def map(self, run_cell: Callable, tasks: Iterable[Task]) -> Iterator[tuple[object, dict]]:
        for identifier, params, key, seeds in tasks:
            yield identifier, run_cell(params, key, seeds)


class RayBackend:
    """Each cell a Ray task (one CPU each), results streamed back in completion order."""

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None):
        if address is not None and not isinstance(address, str):
            raise TypeError(f"address must be a Ray address string (e.g. 'auto' or 'ray://HOST:10001'), got "
                            f"{type(address).__name__}")
        if num_cpus is not None and (isinstance(num_cpus, bool) or not isinstance(num_cpus, int) or num_cpus < 1):
            raise ValueError(f"num_cpus must be a positive integer, got {num_cpus!r}")
        self.address, self.num_cpus = address, num_cpus

    def _ray(self):
        try:
            import ray
        except ImportError:
            raise ValueError('--backend ray needs Ray: pip install "sharpsim[ray]"') from None
        if not ray.is_initialized():
            options = {"ignore_reinit_error": True, "include_dashboard": False, "log_to_driver": False,
                       "logging_level": logging.ERROR}
            if self.address is None:
                options["num_cpus"] = self.num_cpus or os.cpu_count() or 1
            else:
                options["address"] = self.address
            with warnings.catch_warnings():
                # Ray starts its daemons with fork + exec, which Python flags once JAX's threads exist; the
                # children exec at once and share nothing with JAX
                warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning)
                ray.init(**options)
        for name, module in list(sys.modules.items()):
            if name.startswith(_LOCAL_MODULE_PREFIXES) and module is not None:
                ray.cloudpickle.register_pickle_by_value(module)
        return ray

    def map(self, run_cell: Callable, tasks: Iterable[Task]) -> Iterator[tuple[object, dict]]:
        tasks = list(tasks)
        if not tasks:
            return
        ray = self._ray()
        remote = ray.remote(num_cpus=1)(run_cell_remotely)
        pending = {remote.remote(run_cell, params, np.asarray(key), seeds): identifier
                   for identifier, params, key, seeds in tasks}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                identifier = pending.pop(done[0])
                yield identifier, ray.get(done[0])
        finally:
            for reference in pending:  # the driver stopped (an error, a kill): stop the cells still queued
                ray.cancel(reference)


def run_cell_remotely(run_cell: Callable, params: dict, key, seeds: int) -> dict:
    """A cell on a Ray worker: the persistent compile cache on (as in a local run), the key back to a JAX array, the
    columns back to numpy (what the driver stores)."""
    import jax.numpy as jnp

    from sharpsim.runner.compile_cache import enable_compile_cache

    enable_compile_cache()
    columns = run_cell(params, jnp.asarray(key), seeds)
    return {name: np.asarray(value) for name, value in columns.items()}


BACKENDS = ("local", "ray")


def make_backend(name: str = "local", address: str | None = None):
    """The backend called ``name`` (``"local"`` or ``"ray"``); ``address`` only with ``"ray"``."""
    if name == "local":
        if address is not None:
            raise ValueError("--address is for --backend ray (a Ray cluster's address), not the local backend")
        return LocalBackend()
    if name == "ray":
        return RayBackend(address)
    raise ValueError(f"backend must be one of {list(BACKENDS)}, got {name!r}")
