"""The fuzz catalog: every public callable of sharpsim with a valid call and fuzzed values per argument.

Public callables (``public_callables``) are enumerated programmatically: the names of ``sharpsim.__all__``, the
module-level functions and classes of ``sharpsim.statistics``, ``sharpsim.complexity`` and ``sharpsim.allocation``,
the public functions and classes in the ``__all__`` of the lazily loaded subpackages ``sharpsim.tasks`` and
``sharpsim.lm`` (prefixed ``tasks.`` / ``lm.``), ``sharpsim.measure.pass_at_k`` (as ``pass_at_k``), the bounds of
``sharpsim.theory``, ``make(family, ...)`` for every registered family, and the public methods of every public class
(a method is listed under the public class that defines it, or under the public class that inherits it from a private
base). ``EXCLUDED`` lists, with the reason, what is not a function of data.

Each ``harness.Entry`` names its callable as ``public_callables`` does (a ``#suffix`` marks a variant with other
valid arguments), its package (for the report), a valid call and, per argument, values that must be refused
(``bad``), values that may be refused or answered (``either``) and valid extremes that must be answered
(``extreme``). The entries live in one module per package group: ``catalog_core`` (core, policies),
``catalog_referee``, ``catalog_algorithms`` (algorithms, classes), ``catalog_instances``, ``catalog_measure``,
``catalog_theory``, ``catalog_tasks``, ``catalog_lm``.
"""

from __future__ import annotations

import functools
import inspect
import types

import sharpsim as ss
from sharpsim.instances.registry import family_builder
from sharpsim.measure.pass_at_k import pass_at_k
from tests.fuzz import (
    catalog_algorithms, catalog_core, catalog_instances, catalog_lm, catalog_measure, catalog_referee, catalog_tasks,
    catalog_theory,
)
from tests.fuzz.harness import Case, Entry, cases

# Public names that are not functions of data, with the reason; everything else must have an entry.
EXCLUDED = {
    # runtime-checkable Protocols: interfaces for isinstance checks and documentation, never called on data
    "Algorithm": "protocol", "ModelClass": "protocol", "Policy": "protocol", "SequencePolicy": "protocol",
    "SizedModelClass": "protocol",
    # the abstract base of the autoregressive representations (not instantiable); its methods are fuzzed on a tree,
    # and next_token_log_probs (checked here, computed by each representation) on all three
    "AutoregressivePolicy": "abstract base class",
    # a wrapper of functions (checkify of a transformation), not a function of data
    "checked": "function transformation",
    "QueryBudgetExceeded": "exception class",
    # result containers: frozen dataclasses the library builds from validated computations; their public
    # methods are fuzzed
    "Result": "result container", "SampleBatch": "result container", "StoppedBatch": "result container",
    "AdaptiveSFTResult": "result container", "BayesHardResult": "result container",
    "BestOfNResult": "result container", "RLHFResult": "result container", "SFTResult": "result container",
    "XPOResult": "result container", "Decoded": "result container", "FiniteFit": "result container",
    "LinearSoftmaxFit": "result container", "MassEstimate": "result container",
    "SampleComplexity": "result container", "SphereInstance": "result container (make('sphere'))",
    "statistics.SlopeFit": "result container",
    "lm.ArgmaxSearch": "result container (argmax_search)", "lm.TrainedLM": "result container (train_lm, load_trained)",
    # the network's weights as an equinox module (a pytree of arrays), built by init_transformer or load_trained and
    # checked against its task by TransformerPolicy; its forward pass is private to the policy
    "lm.Transformer": "weights container (init_transformer)",
}
# Modules in sharpsim.__all__: theory, statistics, complexity and allocation are enumerated function by function,
# tasks and lm name by name of their ``__all__``; ``testing`` holds hypothesis strategies for tests and
# ``theory_rlhf`` is an alias of ``theory.rlhf``.
MODULES = {"testing": "hypothesis strategies", "theory_rlhf": "alias of theory.rlhf", "theory": "enumerated",
           "statistics": "enumerated", "complexity": "enumerated", "allocation": "enumerated",
           "tasks": "enumerated (its __all__)", "lm": "enumerated (its __all__)"}
# Subpackages enumerated through their ``__all__`` (constants such as ``EOS`` or ``DEFAULT_WEIGHTS`` are not callable).
ALL_MODULES = ("tasks", "lm")
SKIPPED_METHODS = {"tree_flatten", "tree_unflatten"}  # the pytree protocol


def public_callables() -> dict[str, object]:
    """Every public callable by its public name (first name wins when an object is reachable twice)."""
    found: dict[str, object] = {}
    seen: set[int] = set()

    def add(name: str, value) -> None:
        if id(value) not in seen:
            seen.add(id(value))
            found[name] = value

    for name in ss.__all__:
        value = getattr(ss, name)
        if isinstance(value, types.ModuleType):
            assert name in MODULES, f"sharpsim.{name} is a module the fuzz catalog does not know"
        elif callable(value):
            add(name, value)
    for prefix, module in (("statistics", ss.statistics), ("complexity", ss.complexity),
                           ("allocation", ss.allocation)):
        for name, value in vars(module).items():
            if not name.startswith("_") and (inspect.isfunction(value) or inspect.isclass(value)) \
                    and value.__module__ == module.__name__:
                add(f"{prefix}.{name}", value)
    for prefix in ALL_MODULES:
        module = getattr(ss, prefix)
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isfunction(value) or inspect.isclass(value):
                add(f"{prefix}.{name}", value)
    # the pass@k estimator, not re-exported by sharpsim (yet): named as a top-level name would be
    add("pass_at_k", pass_at_k)
    for name, value in catalog_theory.theory_functions().items():
        add(name, value)
    for family in ss.family_names():
        add(f"make('{family}')", family_builder(family))
    public_classes = {value for value in found.values() if inspect.isclass(value)}
    for name, cls in list(found.items()):
        if not inspect.isclass(cls) or EXCLUDED.get(name) == "protocol" or issubclass(cls, BaseException):
            continue
        for klass in cls.__mro__:
            if (klass is not cls and klass in public_classes) or not klass.__module__.startswith("sharpsim"):
                continue
            for attr, raw in vars(klass).items():
                method = raw.__func__ if isinstance(raw, (classmethod, staticmethod)) else raw
                if not attr.startswith("_") and attr not in SKIPPED_METHODS and inspect.isfunction(method):
                    add(f"{name}.{attr}", method)
    return found


@functools.cache
def entries() -> list[Entry]:
    found = []
    for module in (catalog_core, catalog_referee, catalog_algorithms, catalog_instances, catalog_measure,
                   catalog_theory, catalog_tasks, catalog_lm):
        found += module.ENTRIES
    public = public_callables()
    for entry in found:
        target = public.get(base_name(entry))
        entry.none_ok = frozenset(_none_defaults(target)) if target is not None else frozenset()
    names = [entry.name for entry in found]
    duplicates = {name for name in names if names.count(name) > 1}
    assert not duplicates, f"duplicate catalog entries: {sorted(duplicates)}"
    return found


def _none_defaults(target) -> list[str]:
    """Parameters of ``target`` (a function, or a class's constructor) whose default is None."""
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return []
    return [name for name, parameter in signature.parameters.items() if parameter.default is None]


def base_name(entry: Entry) -> str:
    return entry.name.split("#")[0]


@functools.cache
def all_cases() -> list[Case]:
    found = [case for entry in entries() for case in cases(entry)]
    ids = [case.id for case in found]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    return found
