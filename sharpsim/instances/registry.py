"""The registry of instance families: base policies π_base built by name.

``make(name, **params)`` builds an instance; ``family_names()`` lists the names. A family module registers its
builders with ``@register_family`` when it is imported; the registry imports the built-in family modules
(``_FAMILY_MODULES``) the first time a name is looked up, so every family is available whatever was imported.
Every family documents its C_cov (Eq. 6) and γ_margin (Assumption 4.2) as formulas where they have one.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Callable

import jax
import numpy as np

from sharpsim.core.validation import is_concrete

_REGISTRY: dict[str, Callable] = {}
# imported on the first look-up; each registers its families (importing them here at the top would be circular)
_FAMILY_MODULES = (
    "sharpsim.instances.tabular",
    "sharpsim.instances.hard",
    "sharpsim.instances.sphere",
    "sharpsim.instances.hidden_sphere",
    "sharpsim.instances.linear_margin",
    "sharpsim.instances.autoregressive",
)


def _load_families() -> None:
    for module in _FAMILY_MODULES:
        importlib.import_module(module)


def register_family(name: str) -> Callable:
    """Decorator: register ``builder(**params)`` under ``name`` (names are unique)."""

    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty string, got {name!r} ({type(name).__name__})")

    def decorate(builder: Callable) -> Callable:
        if not callable(builder):
            raise TypeError(f"register_family({name!r}) decorates a builder function, got {builder!r}")
        if name in _REGISTRY:
            raise ValueError(f"instance family {name!r} is already registered (name must be new)")
        _REGISTRY[name] = builder
        return builder

    return decorate


def family_names() -> list[str]:
    """Names of all registered instance families, sorted."""
    _load_families()
    return sorted(_REGISTRY)


def family_builder(name: str) -> Callable:
    """The builder registered under ``name``."""
    if not isinstance(name, str):
        raise TypeError(f"the instance family name must be a string, got {name!r} ({type(name).__name__})")
    _load_families()
    if name not in _REGISTRY:
        raise ValueError(f"unknown instance family {name!r} (name must be a registered family); known families: "
                         f"{', '.join(family_names())}")
    return _REGISTRY[name]


def make(name: str, **params):
    """Build the instance family ``name`` with ``params`` (see each builder's docstring). A parameter the family
    does not take, or a required one left out, is a ``TypeError`` naming the family and what it accepts."""
    builder = family_builder(name)
    accepted = inspect.signature(builder).parameters
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise TypeError(
            f"family {name!r} got unknown parameter(s) {unknown}; it accepts {sorted(accepted)}"
        )
    missing = sorted(p for p, spec in accepted.items() if spec.default is inspect.Parameter.empty and p not in params)
    if missing:
        raise TypeError(f"family {name!r} needs parameter(s) {missing}; it accepts {sorted(accepted)}")
    return builder(**params)


def check_key(key, name: str = "key") -> None:
    """A single PRNG key: ``jax.random.PRNGKey(seed)`` (uint32 [2]) or ``jax.random.key(seed)`` (a typed scalar
    key); otherwise a ``TypeError`` naming ``name``. Traced keys are trusted."""
    if key is None or isinstance(key, (bool, int, float, str)):
        raise TypeError(f"{name} must be a PRNG key (jax.random.PRNGKey(seed) or jax.random.key(seed)), got {key!r}")
    if not is_concrete(key):
        return
    dtype = getattr(key, "dtype", None)
    if dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        if np.ndim(key) != 0:
            raise ValueError(f"{name} must be a single PRNG key, got a batch of shape {np.shape(key)}")
        return
    array = np.asarray(key)
    if array.dtype != np.uint32 or array.shape != (2,):
        raise TypeError(
            f"{name} must be a PRNG key (jax.random.PRNGKey(seed): uint32 of shape (2,)), got {array.dtype} of "
            f"shape {array.shape}"
        )


def check_normal_float(value: float, name: str) -> float:
    """A positive parameter that XLA will see must be a normal float64 (≥ 2.2e-308): XLA flushes subnormal
    numbers to zero, so a smaller temperature or concentration would silently act as 0."""
    tiny = float(np.finfo(np.float64).tiny)
    if 0 < value < tiny:
        raise ValueError(f"{name} must be at least {tiny:.4g} (the smallest normal float64; XLA flushes smaller "
                         f"numbers to zero), got {value!r}")
    return value
