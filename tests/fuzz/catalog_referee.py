"""Catalog entries of ``sharpsim.referee`` (exact quantities, the KL-regularized target, sequence masses, the exact
law of SFT-Sharpening) and of ``best_of_n_law``. See ``catalog.py`` for the format."""

from __future__ import annotations

import numpy as np

import sharpsim as ss
from tests.fuzz.harness import Entry, float_leaves
from tests.fuzz.values import (
    AR_POLICY, FIX, GAMMA, GE1, HUGE_SIZES, INF, KEY, POLICY, POS, POS_INT, UNIT, Kind, arr, fx, interval, pos_int,
    prob_vector,
)


def within(low, high, name="answer"):
    """A check that every float leaf of an answer lies in [low, high]."""
    def check(result):
        for values in float_leaves(result):
            if values.size and (values.min() < low or values.max() > high):
                worst = values.ravel()[np.argmax((values.ravel() < low) | (values.ravel() > high))]
                return f"{name} outside [{low}, {high}]: {float(worst)!r}"
        return None
    return check


PROB = within(0.0, 1.0, "probability")
PAIR_POLICY = POLICY + [fx("tab_3x3")]      # wrong type, or a policy on other spaces
TARGETS = Kind([[[0, 2], [1, 1]], [[0, -1], [1, 1]], [[0.0, 1.0], [1.0, 1.0]], [[0, 1]], [[0, 1, 0], [1, 1, 0]],
                "ab", None, [["a", "b"], ["c", "d"]]])
BETA = POS + [-INF]


def _pair(name, function, second="base", allow_inf=False, check=None, extra=None, bad=None, extreme=None):
    first = "policy" if second == "reference" or function.__name__ in _FIRST_IS_POLICY else "learned"
    valid = {first: fx("tab_learned"), second: fx("tab")}
    valid.update(extra or {})
    return Entry(name, "referee", lambda **kw: function(**kw), valid,
                 bad={first: PAIR_POLICY, second: PAIR_POLICY, **(bad or {})}, allow_inf=allow_inf, check=check,
                 extreme={second: [fx("tab_tiny"), fx("tab_ties")], **(extreme or {})})


_FIRST_IS_POLICY = {"expected_log_likelihood", "regularized_objective", "concentrability", "log_ratio_range",
                    "density_ratio_moment"}

ENTRIES = [
    Entry("argmax_mask", "referee", lambda **kw: ss.argmax_mask(**kw), {"policy": fx("tab"), "gamma": 0.0},
          bad={"policy": POLICY, "gamma": GAMMA}, extreme={"policy": [fx("tab_tiny"), fx("tab_ties"), fx("tree")]}),
    Entry("argmax_mass", "referee", lambda **kw: ss.argmax_mass(**kw), {"policy": fx("tab"), "gamma": 0.0},
          bad={"policy": POLICY, "gamma": GAMMA}, extreme={"policy": [fx("tab_tiny"), fx("tab_ties")],
                                                           "gamma": [1 - 1e-16, 1e-300]}, check=PROB),
    Entry("coverage_coefficient", "referee", lambda **kw: ss.coverage_coefficient(**kw),
          {"policy": fx("tab"), "gamma": 0.0, "p": 1},
          bad={"policy": POLICY, "gamma": GAMMA, "p": GE1 + [0]},
          extreme={"policy": [fx("tab_tiny"), fx("tab_ties"), fx("tree")], "p": [512, 512.5, 1e6, 1e300],
                   "gamma": [1 - 1e-16]},
          check=within(1.0, INF, "coverage"), fast=("p",), unsized=("p",)),
    Entry("coverage_coefficient#tiny", "referee", lambda **kw: ss.coverage_coefficient(**kw),
          {"policy": fx("tab_tiny"), "gamma": 0.0, "p": 2}, extreme={"p": [2, 512, 1e4]},
          check=within(1.0, INF, "coverage"), unsized=("p",)),
    Entry("mode_coverage_coefficient", "referee", lambda **kw: ss.mode_coverage_coefficient(**kw),
          {"policy": fx("tab")}, bad={"policy": POLICY}, extreme={"policy": [fx("tab_tiny"), fx("tab_ties")]},
          check=within(1.0, INF, "coverage")),
    Entry("prompt_margins", "referee", lambda **kw: ss.prompt_margins(**kw), {"policy": fx("tab")},
          bad={"policy": POLICY}, extreme={"policy": [fx("tab_tiny"), fx("tab_ties")]}, allow_inf=True,
          check=within(0.0, INF, "margin")),
    Entry("margin", "referee", lambda **kw: ss.margin(**kw), {"policy": fx("tab")},
          bad={"policy": POLICY}, extreme={"policy": [fx("tab_tiny"), fx("tab_ties")]}, allow_inf=True,
          check=within(0.0, INF, "margin")),
    _pair("sharpness", ss.sharpness, extra={"gamma": 0.0}, bad={"gamma": GAMMA}, check=PROB),
    _pair("sharpening_error", ss.sharpening_error, extra={"delta": 0.1, "gamma": 0.0},
          bad={"delta": UNIT, "gamma": GAMMA}, extreme={"delta": [1e-300, 1 - 1e-16]}, check=PROB),
    _pair("is_sharpened", ss.is_sharpened, extra={"eps": 0.1, "delta": 0.1, "gamma": 0.0},
          bad={"eps": interval(0.0, 1.0, True, False), "delta": UNIT, "gamma": GAMMA}),
    _pair("hellinger_squared", ss.hellinger_squared, "reference", check=within(0.0, 2.0)),
    _pair("hellinger_squared_per_prompt", ss.hellinger_squared_per_prompt, "reference", check=within(0.0, 2.0)),
    _pair("kl_divergence", ss.kl_divergence, "reference", allow_inf=True, check=within(0.0, INF)),
    _pair("kl_divergence_per_prompt", ss.kl_divergence_per_prompt, "reference", allow_inf=True,
          check=within(0.0, INF)),
    Entry("power_policy", "referee", lambda **kw: ss.power_policy(**kw), {"policy": fx("tab"), "beta": 0.5},
          bad={"policy": POLICY, "beta": interval(0.0, INF, False, True)},
          extreme={"policy": [fx("tab_tiny"), fx("tab_ties")], "beta": [1e-300, 1e300, INF]}),
    _pair("expected_log_likelihood", ss.expected_log_likelihood, allow_inf=True, check=within(-INF, 0.0)),
    _pair("regularized_objective", ss.regularized_objective, extra={"beta": 0.5}, bad={"beta": BETA},
          allow_inf=True, extreme={"beta": [1e-300, 1e300]}),
    _pair("concentrability", ss.concentrability, allow_inf=True, check=within(1.0 - 1e-9, INF)),
    _pair("density_ratio_moment", ss.density_ratio_moment, "reference", extra={"beta": 0.5}, bad={"beta": BETA},
          allow_inf=True, extreme={"beta": [1e-300, 100.0]}),
    Entry("loss_concentrability", "referee", lambda **kw: ss.loss_concentrability(**kw),
          {"base": fx("tab"), "policies": arr("[tab, tab_learned]", lambda: [FIX.tab, FIX.tab_learned]),
           "beta": 0.5},
          bad={"base": POLICY, "policies": Kind([[], "abc", None, 3, arr("[tab_3x3]", lambda: [FIX.tab_3x3]),
                                                 arr("[tab, 'abc']", lambda: [FIX.tab, "abc"])]),
               "beta": BETA}, allow_inf=True, extreme={"beta": [1e-300, 100.0]}),
    Entry("reward_range", "referee", lambda **kw: ss.reward_range(**kw), {"base": fx("tab")},
          bad={"base": POLICY}, extreme={"base": [fx("tab_tiny"), fx("tab_ties")]}, check=within(0.0, INF)),
    _pair("log_ratio_range", ss.log_ratio_range, extra={"beta": 0.5}, bad={"beta": BETA}, allow_inf=True),
    Entry("sharpening_beta", "referee", lambda **kw: ss.sharpening_beta(**kw), {"base": fx("tab"), "delta": 0.1},
          bad={"base": POLICY, "delta": UNIT}, extreme={"delta": [1e-300], "base": [fx("tab_tiny"), fx("tab_ties")]},
          allow_inf=True, check=within(0.0, INF)),
    # --- sequence masses -------------------------------------------------------------------------------------
    Entry("target_mass", "referee", lambda **kw: ss.target_mass(**kw), {"policy": fx("tree"), "targets": fx("targets")},
          bad={"policy": AR_POLICY, "targets": TARGETS}, check=PROB),
    Entry("estimate_target_mass", "referee", lambda **kw: ss.estimate_target_mass(**kw),
          {"key": fx("key"), "policy": fx("markov"), "targets": fx("targets"), "num_samples": 8, "confidence": 0.95},
          bad={"key": KEY, "policy": AR_POLICY, "targets": TARGETS, "num_samples": POS_INT, "confidence": UNIT},
          either={"num_samples": HUGE_SIZES}, check=PROB),
    Entry("sequence_sharpening_error", "referee", lambda **kw: ss.sequence_sharpening_error(**kw),
          {"learned": fx("tree"), "targets": fx("targets"), "delta": 0.1, "prompt_probs": None},
          bad={"learned": AR_POLICY, "targets": TARGETS, "delta": UNIT, "prompt_probs": prob_vector(2)},
          extreme={"delta": [1e-300]}, check=PROB, fast=("prompt_probs", "delta")),
    # --- the exact law of SFT-Sharpening --------------------------------------------------------------------
    Entry("exact_sft_expected_error", "referee", lambda **kw: ss.exact_sft_expected_error(**kw),
          {"base": fx("tab"), "num_prompts": 4, "num_samples": 2, "delta": 0.1, "gamma": 0.0},
          bad={"base": POLICY, "num_prompts": POS_INT, "num_samples": POS_INT, "delta": UNIT, "gamma": GAMMA},
          either={"num_prompts": [10**5, *HUGE_SIZES]}, extreme={"num_samples": [10**30, 2**62],
                                                                 "base": [fx("tab_tiny"), fx("tab_ties")]},
          check=PROB),
    Entry("exact_sft_error_distribution", "referee", lambda **kw: ss.exact_sft_error_distribution(**kw),
          {"base": fx("tab"), "num_prompts": 4, "num_samples": 2, "delta": 0.1, "gamma": 0.0, "max_states": 64},
          bad={"base": POLICY, "num_prompts": POS_INT, "num_samples": POS_INT, "delta": UNIT, "gamma": GAMMA,
               "max_states": POS_INT},
          either={"num_prompts": [10**5, *HUGE_SIZES]}, extreme={"num_samples": [10**30],
                                                                 "base": [fx("tab_tiny"), fx("tab_ties")]},
          check=PROB, fast=("num_prompts",)),
    Entry("exact_sft_success_probability", "referee", lambda **kw: ss.exact_sft_success_probability(**kw),
          {"base": fx("tab"), "num_prompts": 4, "num_samples": 2, "delta": 0.1, "eps": 0.1, "gamma": 0.0},
          bad={"base": POLICY, "num_prompts": POS_INT, "num_samples": POS_INT, "delta": UNIT,
               "eps": interval(0.0, 1.0, True, False), "gamma": GAMMA},
          either={"num_prompts": [10**5, *HUGE_SIZES]}, extreme={"num_samples": [10**30]}, check=PROB),
    # --- best-of-N's exact law (algorithms/best_of_n.py, a referee quantity) -------------------------------
    Entry("best_of_n_law", "algorithms", lambda **kw: ss.best_of_n_law(**kw), {"policy": fx("tab"), "n": 4},
          bad={"policy": POLICY, "n": Kind([v for v in pos_int(1) if v != 2.0], pos_int(1).strategy)},
          # a whole float is a count (documented), so 2.0 is an extreme rather than a bad value
          extreme={"n": [2.0, 10**30, 2**62, 10**300, 10**400],
                   "policy": [fx("tab_tiny"), fx("tab_ties"), fx("tree")]},
          fast=("n",), unsized=("n",)),
    Entry("best_of_n_law#tiny", "algorithms", lambda **kw: ss.best_of_n_law(**kw), {"policy": fx("tab_tiny"), "n": 4},
          extreme={"n": [1, 10**6, 10**30]}, unsized=("n",)),
]
