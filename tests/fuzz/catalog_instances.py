"""Catalog entries of ``sharpsim.instances``: ``make(family, ...)`` for every registered family, the registry, the
hard instance's policy and the instance helpers. See ``catalog.py`` for the format."""

from __future__ import annotations

import numpy as np

import sharpsim as ss
from tests.fuzz.harness import Entry
from tests.fuzz.values import (
    FIX, GE1, HUGE_SIZES, INF, KEY, NAN, NONNEG, POLICY, POS, POS_INT, UNIT, Kind, Lazy, arr, fx, index_array, interval,
    pos_int, prob_vector,
)

KEY_OR_NONE = Kind([k for k in KEY if k is not None], KEY.strategy)
PROMPT_PROBS = prob_vector(2)
TEMPERATURE_EXTREMES = [1e-300, 1e300]


def family(name: str, valid: dict, bad: dict, either: dict | None = None, extreme: dict | None = None, **options):
    """The entry of ``make(name, **params)``; every parameter is fuzzed through ``make``."""
    return Entry(f"make('{name}')", "instances", lambda **kw: ss.make(name, **kw), valid, bad=bad,
                 either=either or {}, extreme=extreme or {}, **options)


def _coverage_check(result):
    policy = getattr(result, "policy", result)
    coverage = float(ss.coverage_coefficient(policy))
    return None if np.isfinite(coverage) and coverage >= 1 - 1e-9 else f"coverage {coverage}"


def _register_and_forget(name):
    """``register_family(name)`` applied to a dummy builder, then removed again: the registry is global state."""
    from sharpsim.instances import registry

    before = dict(registry._REGISTRY)
    try:
        return ss.register_family(name)(lambda: None)
    finally:
        registry._REGISTRY.clear()
        registry._REGISTRY.update(before)


FAMILIES = [
    family("bitstring", {"horizon": 4, "coverage": 2.0, "target": None, "key": None, "num_prompts": 1},
           {"horizon": POS_INT, "coverage": GE1 + [16.0, 17.0],
            "target": Kind([[0, 1, 2, 0], [0, 1], [[0, 1, 0, 1]] * 2, [0.5, 1, 1, 1], "abcd", [NAN] * 4]),
            "key": KEY_OR_NONE, "num_prompts": POS_INT},
           either={"horizon": HUGE_SIZES, "num_prompts": HUGE_SIZES},
           extreme={"coverage": [1.0, 16.0 - 1e-9], "horizon": [2000]}),
    family("dirichlet", {"key": fx("key"), "num_prompts": 2, "num_responses": 3, "concentration": 1.0,
                         "temperature": 1.0},
           {"key": KEY, "num_prompts": POS_INT, "num_responses": POS_INT, "concentration": POS, "temperature": POS},
           either={"num_prompts": HUGE_SIZES, "num_responses": HUGE_SIZES},
           extreme={"concentration": [1e-300, 1e300], "temperature": TEMPERATURE_EXTREMES}),
    family("greedy_threshold", {"eta": 0.1, "vocab_size": 4},
           {"eta": interval(0.0, 0.5, False, False), "vocab_size": pos_int(2)},
           either={"vocab_size": HUGE_SIZES}, extreme={"eta": [1e-300]}),
    family("hard", {"num_rare": 2, "num_candidates": 4, "delta": 0.25, "gamma": 0.5, "key": None, "index": None},
           {"num_rare": POS_INT, "num_candidates": pos_int(2), "delta": UNIT, "gamma": UNIT, "key": KEY_OR_NONE,
            "index": Kind([[0, 4], [-1, 0], [0], [0.5, 1.0], "ab"])},
           either={"num_rare": HUGE_SIZES, "num_candidates": HUGE_SIZES}, extreme={"delta": [1e-300]}),
    family("hidden_sphere", {"dimension": 6, "scale": 0.5, "margin": 0.5, "min_distance": None, "radius": None,
                             "delta": 0.1, "decoy": None},
           {"dimension": pos_int(2) + [25], "scale": POS, "margin": POS, "min_distance": POS_INT + [7],
            "radius": POS + [0.1], "delta": UNIT, "decoy": pos_int(0) + [64]},
           either={"dimension": HUGE_SIZES}, extreme={"margin": [1e-12, 1e12], "scale": [1e-12]}),
    family("linear_margin", {"num_responses": 8, "coverage": 2.0, "margin": 0.1, "nuisance_dimension": 2,
                             "nuisance_scale": 1.0, "radius": 1e10, "seed": 0},
           {"num_responses": pos_int(3), "coverage": GE1 + [8.0], "margin": POS + [100.0],
            "nuisance_dimension": pos_int(0), "nuisance_scale": NONNEG, "radius": POS, "seed": pos_int(0)},
           either={"num_responses": HUGE_SIZES, "nuisance_dimension": HUGE_SIZES}),
    family("maxcut", {"adjacency": None, "key": fx("key"), "num_vertices": 3, "edge_prob": 0.5, "scale": 1.0},
           {"adjacency": Kind([np.zeros((3, 3)), np.ones((3, 3)), np.array([[0, 1], [0, 0]]), np.zeros((3, 2)),
                               np.array([[0, 0.5], [0.5, 0]]), "abc", [[NAN, 1], [1, 0]]]),
            "key": KEY, "num_vertices": pos_int(2), "edge_prob": interval(0.0, 1.0, False, True),
            "scale": interval(1.0, INF, True, False)},
           either={"num_vertices": HUGE_SIZES, "scale": [1e300]}),
    family("near_tie", {"num_prompts": 2, "num_responses": 4, "coverage": 2.0, "margin": 0.01, "prompt_probs": None},
           {"num_prompts": POS_INT, "num_responses": pos_int(2), "coverage": GE1 + [4.0], "margin": POS,
            "prompt_probs": PROMPT_PROBS},
           either={"num_prompts": HUGE_SIZES, "num_responses": HUGE_SIZES}, extreme={"margin": [1e-300]},
           check=_coverage_check),
    family("needle", {"num_prompts": 2, "num_responses": 4, "coverage": 2.0, "margin": None, "prompt_probs": None},
           {"num_prompts": POS_INT, "num_responses": pos_int(2), "coverage": GE1 + [4.0], "margin": POS + [10.0],
            "prompt_probs": PROMPT_PROBS},
           either={"num_prompts": HUGE_SIZES, "num_responses": HUGE_SIZES},
           extreme={"coverage": [1.0, 4.0 - 1e-12], "margin": [1e-300]}, check=_coverage_check,
           fast=("num_responses", "coverage")),
    family("not_closed", {"vocab_size": 4, "bound": None},
           {"vocab_size": pos_int(3), "bound": NONNEG}, either={"vocab_size": HUGE_SIZES, "bound": [1e300]}),
    family("pivotal", {"vocab_size": 2, "horizon": 2, "p_first": 0.6},
           {"vocab_size": pos_int(2), "horizon": pos_int(2), "p_first": interval(0.5, 2 / 3, False, False)},
           either={"vocab_size": HUGE_SIZES, "horizon": HUGE_SIZES}),
    family("random_markov", {"key": fx("key"), "num_prompts": 2, "vocab_size": 2, "horizon": 3, "temperature": 1.0,
                             "concentration": 1.0},
           {"key": KEY, "num_prompts": POS_INT, "vocab_size": pos_int(2), "horizon": POS_INT, "temperature": POS,
            "concentration": POS},
           either={"num_prompts": HUGE_SIZES, "vocab_size": HUGE_SIZES, "horizon": HUGE_SIZES},
           extreme={"temperature": TEMPERATURE_EXTREMES, "concentration": [1e-300, 1e300]}),
    family("random_tree", {"key": fx("key"), "num_prompts": 2, "vocab_size": 2, "horizon": 2, "temperature": 1.0,
                           "concentration": 1.0},
           {"key": KEY, "num_prompts": POS_INT, "vocab_size": pos_int(2), "horizon": POS_INT, "temperature": POS,
            "concentration": POS},
           either={"num_prompts": HUGE_SIZES, "vocab_size": HUGE_SIZES, "horizon": HUGE_SIZES},
           extreme={"temperature": TEMPERATURE_EXTREMES, "concentration": [1e-300, 1e300]}),
    family("sphere", {"dimension": 4, "scale": 1.0, "min_distance": None, "radius": None, "delta": 0.1,
                      "optimum": None},
           {"dimension": pos_int(2) + [25], "scale": POS, "min_distance": POS_INT + [5], "radius": POS + [0.5],
            "delta": UNIT, "optimum": pos_int(0) + [64]},
           either={"dimension": HUGE_SIZES, "scale": [1e12]}, extreme={"scale": [1e-12], "delta": [1e-300]}),
    family("ties", {"num_prompts": 2, "num_responses": 4, "num_tied": 2, "p_top": 0.3, "prompt_probs": None},
           {"num_prompts": POS_INT, "num_responses": POS_INT, "num_tied": POS_INT + [5], "p_top": POS + [0.6, 0.2],
            "prompt_probs": PROMPT_PROBS},
           either={"num_prompts": HUGE_SIZES, "num_responses": HUGE_SIZES, "num_tied": HUGE_SIZES},
           extreme={"p_top": [0.5]}, check=_coverage_check),
    family("two_type", {"num_prompts": 2, "num_responses": 8, "p_hi": 0.5, "p_lo": 0.2, "weight_lo": 0.5},
           {"num_prompts": pos_int(2), "num_responses": pos_int(2), "p_hi": interval(0.125, 1.0, False, True),
            "p_lo": interval(0.125, 0.5, False, True), "weight_lo": UNIT},
           either={"num_prompts": HUGE_SIZES, "num_responses": HUGE_SIZES},
           extreme={"weight_lo": [1e-300, 1 - 1e-16], "p_hi": [1.0]}, check=_coverage_check),
    family("zipf", {"num_prompts": 2, "num_responses": 4, "exponent": 1.0, "temperature": 1.0, "key": None},
           {"num_prompts": POS_INT, "num_responses": pos_int(2), "exponent": POS, "temperature": POS,
            "key": KEY_OR_NONE},
           either={"num_prompts": HUGE_SIZES, "num_responses": HUGE_SIZES},
           extreme={"exponent": [1e-300, 1e300], "temperature": TEMPERATURE_EXTREMES}, check=_coverage_check,
           fast=("temperature",)),
]

ENTRIES = FAMILIES + [
    Entry("make", "instances", lambda **kw: ss.make(**kw), {"name": "pivotal"},
          bad={"name": Kind(["bogus", None, 3, "", ["needle"]])}, fast=("name",)),
    Entry("make#unknown_parameter", "instances", lambda **kw: ss.make("pivotal", **kw), {}, bad={"bogus": [1]}),
    Entry("family_names", "instances", lambda: ss.family_names(), {}),
    Entry("register_family", "instances", lambda **kw: _register_and_forget(**kw), {"name": "fuzz-test-family"},
          bad={"name": Kind(["needle", None, 3, "", ["x"]])}),
    Entry("hard_parameters", "instances", lambda **kw: ss.hard_parameters(**kw),
          {"coverage": 4.0, "eps": 0.01, "num_rare": 2, "gamma": 0.5, "p": 1},
          bad={"coverage": GE1, "eps": interval(0.0, 1 / 16, False, False), "num_rare": POS_INT, "gamma": UNIT,
               "p": GE1},
          extreme={"coverage": [1e12, 1e300], "p": [512, 1e6], "eps": [1e-300]}),
    Entry("max_cut_brute_force", "instances", lambda **kw: ss.max_cut_brute_force(**kw),
          {"adjacency": np.array([[0, 1, 1], [1, 0, 0], [1, 0, 0]])},
          bad={"adjacency": Kind([np.zeros((3, 3)), np.ones((3, 3)), np.array([[0, 1], [0, 0]]), np.zeros((3, 2)),
                                  np.array([[0, 0.5], [0.5, 0]]), "abc", None, [[NAN, 1], [1, 0]], np.zeros(0)])},
          either={"adjacency": [Lazy("adjacency of a 64-vertex path", lambda: np.eye(64, k=1) + np.eye(64, k=-1),
                                     huge=True)]}),
    Entry("not_closed_best_mass", "instances", lambda **kw: ss.not_closed_best_mass(**kw),
          {"policy": arr("make('not_closed', vocab_size=4)", lambda: ss.make("not_closed", vocab_size=4)),
           "norm_bound": 1.0, "num_steps": 5},
          bad={"policy": POLICY + [fx("lsar"), fx("tree")], "norm_bound": POS, "num_steps": POS_INT},
          either={"num_steps": HUGE_SIZES}),
    Entry("HardPolicy", "instances", lambda **kw: ss.HardPolicy(**kw),
          {"model_class": arr("HardClass(2, 4, 0.25)", lambda: FIX.hard_class), "index": np.array([0, 3])},
          bad={"model_class": Kind(["abc", None, fx("tab_class"), fx("tab")]),
               "index": Kind([[0, 4], [-1, 0], [0], [0.5, 1.0], "ab", None])}),
    Entry("HardPolicy.argmax_responses", "instances", lambda: FIX.hard.argmax_responses(), {}),
    Entry("HardPolicy.sample_prompts", "instances", lambda **kw: FIX.hard.sample_prompts(**kw),
          {"key": fx("key"), "num_prompts": 3}, bad={"key": KEY, "num_prompts": POS_INT},
          either={"num_prompts": HUGE_SIZES}),
    Entry("HardPolicy.sample_responses", "instances", lambda **kw: FIX.hard.sample_responses(**kw),
          {"key": fx("key"), "prompts": np.array([0, 1]), "num_samples": 3},
          bad={"key": KEY, "prompts": index_array(3), "num_samples": POS_INT}, either={"num_samples": HUGE_SIZES}),
    Entry("HardPolicy.log_prob", "instances", lambda **kw: FIX.hard.log_prob(**kw),
          {"prompts": np.array([0, 1]), "responses": np.array([0, 2])},
          bad={"prompts": index_array(3), "responses": index_array(5)}, allow_inf=True),
    Entry("HardPolicy.to_tabular", "instances", lambda: FIX.hard.to_tabular(), {}),
    Entry("SphereInstance.realizes", "instances", lambda **kw: ss.make("sphere", dimension=4).realizes(**kw),
          {"beta": 0.5}, bad={"beta": POS}, extreme={"beta": [1e-300, 1e300]}),
]
