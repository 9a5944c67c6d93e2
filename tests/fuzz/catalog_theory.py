"""Catalog entries of ``sharpsim.theory``: every bound, built from its signature and a table of what each argument
name means (its valid value, its invalid values, its valid extremes). Each bound also gets a ``#shapes`` variant
whose first two numeric arguments are arrays of lengths 3 and 2 (mismatched shapes must be refused naming one of
them). See ``catalog.py`` for the format."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import numpy as np

import sharpsim.theory
from tests.fuzz.harness import Entry
from tests.fuzz.values import FIX, INF, NAN, POLICY, POS, Kind, arr, fx, interval

# ``theory.checks`` holds the argument checks of the bounds (validators, not bounds): not fuzzed on its own
THEORY_HELPER_MODULES = {"checks"}

# the bounds are vectorized: arrays of valid values are valid, so the kinds leave lists out
UNIT = interval(0.0, 1.0, False, False, arrays_ok=True)
GE1 = interval(1.0, INF, True, False, arrays_ok=True)
NONNEG = interval(0.0, INF, True, False, arrays_ok=True)
POSITIVE = interval(0.0, INF, False, False, arrays_ok=True)
GAMMA = interval(0.0, 1.0, True, False, arrays_ok=True)
WHOLE = Kind([0, -1, 2.5, NAN, INF, "3", None, [2.5, 2.0]])   # integers ≥ 1, given as numbers or arrays
MARGIN = interval(0.0, INF, False, True, arrays_ok=True)     # γ_margin ∈ (0, inf]
P_STAR = interval(0.0, 1.0, False, True, arrays_ok=True)

# argument name -> (valid value, invalid values, valid extremes)
ARGUMENTS = {
    "eps": (0.1, UNIT, [1e-12, 1 - 1e-12]),
    "delta": (0.1, UNIT, [1e-12, 1 - 1e-12]),
    "rho": (0.1, UNIT, [1e-300, 1 - 1e-12]),
    "coverage": (4.0, GE1, [1.0, 1e12]),
    "concentrability": (4.0, GE1, [1.0, 1e12]),
    "loss_concentrability": (4.0, GE1, [1.0, 1e12]),
    "mode_coverage": (4.0, GE1, [1.0, 1e12]),
    "log_class_size": (2.0, NONNEG, [0.0, 1e6]),
    "log_net_size": (2.0, NONNEG, [0.0, 1e6]),
    "log_ratio_range": (1.0, NONNEG, [0.0, 1e6]),
    "eps_disc": (0.01, NONNEG, [1e-12]),
    "constant": (1.0, POSITIVE, [1e-12, 1e12]),
    "num_prompts": (100.0, POSITIVE, [1e-12, 1e12]),
    "effective_samples": (10.0, POSITIVE, [1e-12, 1e12]),
    "sec": (5.0, POSITIVE, [1e-12, 1e12]),
    "num_rounds": (10.0, POSITIVE, [1.0, 1e12]),
    "reward_range": (3.0, POSITIVE, [1e-12, 1e12]),
    "radius": (2.0, POSITIVE, [1e12]),       # a tiny radius is refused jointly with eps_disc (Lemma J.4)
    "lam": (1.0, POSITIVE, [1e-12, 1e12]),
    "mu": (2.0, POSITIVE, [1e-12, 1e12]),
    "beta": (0.5, POSITIVE, [1e-12, 1e12]),
    "margin": (0.5, MARGIN, [1e-12, 1e12]),
    "p_star": (0.5, P_STAR, [1e-300, 1.0]),
    "num_samples": (4, WHOLE, [1, 10**15]),
    "num_argmax": (1, WHOLE, [1]),
    "num_responses": (16, WHOLE, [1, 10**15]),
    "dimension": (3, WHOLE, [1, 10**15]),
    "p": (1, WHOLE + [0.5], [512, 10**6]),
    "gamma": (0.0, GAMMA, [1 - 1e-12]),
    "adaptive": (False, Kind(["yes", None, 2]), [True]),
}


def theory_functions() -> dict[str, object]:
    """The public functions of every submodule of ``sharpsim.theory`` (but the helpers), as ``theory.<name>``."""
    found = {}
    for info in pkgutil.iter_modules(sharpsim.theory.__path__):
        if info.name in THEORY_HELPER_MODULES or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"sharpsim.theory.{info.name}")
        names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
        for name in names:
            value = getattr(module, name)
            if inspect.isfunction(value) and value.__module__.startswith("sharpsim.theory"):
                found.setdefault(f"theory.{name}", value)
    return found


FAST_BOUNDS = {"theory.thm_4_1_sample_complexity", "theory.thm_j2_beta"}   # fuzzed in the default suite


def _bound_entries(name: str, function) -> list[Entry]:
    parameters = list(inspect.signature(function).parameters)
    valid = {p: ARGUMENTS[p][0] for p in parameters}
    bad = {p: ARGUMENTS[p][1] for p in parameters}
    extreme = {p: ARGUMENTS[p][2] for p in parameters}
    # the bounds are arithmetic on their arguments: no argument sizes an array, so huge values run in process
    entries = [Entry(name, "theory", lambda **kw: function(**kw), valid, bad=bad, extreme=extreme,
                     unsized=tuple(parameters), fast=tuple(parameters[:1]) if name in FAST_BOUNDS else ())]
    numeric = [p for p in parameters if isinstance(ARGUMENTS[p][0], float)]
    if len(numeric) >= 2:
        first, second = numeric[:2]
        shaped = dict(valid, **{first: np.full(3, valid[first])})
        entries.append(Entry(f"{name}#shapes", "theory", lambda **kw: function(**kw), shaped,
                             bad={second: [np.full(2, valid[second]), np.full((2, 2), valid[second])]},
                             aliases={second: (first,)}, unsized=tuple(parameters),
                             fast=(second,) if name == "theory.thm_4_1_sample_complexity" else ()))
    return entries


def _sec_entries() -> list[Entry]:
    function = theory_functions()["theory.sequential_extrapolation_coefficient"]
    policies = arr("[tab_learned, tab]", lambda: [FIX.tab_learned, FIX.tab])
    return [Entry("theory.sequential_extrapolation_coefficient", "theory", lambda **kw: function(**kw),
                  {"policies": policies, "base": fx("tab"), "beta": 0.5, "lam": 1.0, "rewards": None,
                   "return_terms": False},
                  bad={"policies": Kind([[], "abc", None, 3, arr("[tab_3x3]", lambda: [FIX.tab_3x3]),
                                         arr("[tab, 'abc']", lambda: [FIX.tab, "abc"])]),
                       "base": POLICY, "beta": POS, "lam": POS,
                       "rewards": Kind([np.zeros((3, 3)), np.full((2, 3), NAN), "abc", [["a"] * 3] * 2]),
                       "return_terms": Kind(["yes", None, 2])},
                  extreme={"beta": [1e-12, 1e12], "lam": [1e-300, 1e300], "base": [fx("tab_ties")]},
                  allow_inf=True)]


def build() -> list[Entry]:
    entries = []
    for name, function in theory_functions().items():
        if name == "theory.sequential_extrapolation_coefficient":
            continue
        entries += _bound_entries(name, function)
    return entries + _sec_entries()


ENTRIES = build()
