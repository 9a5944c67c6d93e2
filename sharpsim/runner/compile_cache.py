"""JAX's persistent compilation cache for the command line, so a second run reuses compiled code.

Most of a short run is XLA compilation. With the cache on, compiled executables are stored on disk and a later
process that compiles the same program loads it instead. The cache is on by default for ``sharpsim`` commands, in
``$SHARPSIM_COMPILE_CACHE`` if set, else ``~/.cache/sharpsim/jax``; ``SHARPSIM_COMPILE_CACHE=off`` (or
``--no-compile-cache``) turns it off. Results do not depend on it: a cached executable is the same program.
"""

from __future__ import annotations

import os
from pathlib import Path

import jax

ENVIRONMENT_VARIABLE = "SHARPSIM_COMPILE_CACHE"


def compile_cache_folder() -> Path | None:
    """Where the cache lives, or None when turned off."""
    configured = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
    if configured.lower() in {"off", "0", "false", "no"}:
        return None
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "sharpsim" / "jax"


def enable_compile_cache() -> Path | None:
    """Turn JAX's persistent cache on in this process (every compilation is cached, however short)."""
    folder = compile_cache_folder()
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # an unwritable home: run without the cache rather than fail
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    return folder

