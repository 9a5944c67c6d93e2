"""``counted_jit``: ``jax.jit`` that counts its traces, so tests can assert that a sweep compiles once per experiment
rather than once per grid value (the chex habit of guarding against silent recompilation)."""

from __future__ import annotations

import functools
from typing import Callable

import jax


def counted_jit(function: Callable | None = None, **jit_kwargs) -> Callable:
    """``jax.jit`` that counts how many times ``function`` is traced (``.trace_count``), so tests can assert
    that a sweep compiled once rather than once per grid value."""
    if function is None:
        return functools.partial(counted_jit, **jit_kwargs)

    @functools.wraps(function)
    def traced(*args, **kwargs):
        # getattr: a copy of the wrapper shipped to another process (a Ray worker) arrives without the attribute
        wrapper.trace_count = getattr(wrapper, "trace_count", 0) + 1
        return function(*args, **kwargs)

    wrapper = jax.jit(traced, **jit_kwargs)
    wrapper.trace_count = 0
    return wrapper
