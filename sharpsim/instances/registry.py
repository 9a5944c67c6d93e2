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

    def decorate(builder: Callable) -> Callable:
        if name in _REGISTRY:
            raise ValueError(f"instance family {name!r} is already registered")
        _REGISTRY[name] = builder
        return builder

    return decorate


def family_names() -> list[str]:
    """Names of all registered instance families, sorted."""
    _load_families()
    return sorted(_REGISTRY)


def family_builder(name: str) -> Callable:
    """The builder registered under ``name``."""
    _load_families()
    if name not in _REGISTRY:
        raise ValueError(f"unknown instance family {name!r}; known families: {', '.join(family_names())}")
    return _REGISTRY[name]


def make(name: str, **params):
    """Build the instance family ``name`` with ``params`` (see each builder's docstring)."""
    builder = family_builder(name)
    accepted = inspect.signature(builder).parameters
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(
            f"family {name!r} got unknown parameter(s) {unknown}; it accepts {sorted(accepted)}"
        )
    return builder(**params)
