"""Catalog entries of ``sharpsim.algorithms`` (best-of-N, SFT, adaptive SFT, RLHF, XPO, the Bayes learners) and
``sharpsim.classes`` (model classes and their fits). See ``catalog.py`` for the format."""

from __future__ import annotations

import functools

import numpy as np

import sharpsim as ss
from tests.fuzz.harness import Entry
from tests.fuzz.values import (
    AR_POLICY, CALLABLE, FIX, GAMMA, HUGE_SIZES, INF, KEY, MODEL_CLASS, NAN, ORACLE, POLICY, POS, POS_INT, UNIT,
    Kind, arr, bigram_features, fx, index_array, interval, pos_int, prob_vector, real_array,
)

ALG_ORACLE = ORACLE + [arr("Oracle over a 3×3 base", lambda: ss.Oracle(FIX.tab_3x3))]
CLASS_OF_OTHER_SPACES = arr("TabularClass on 3 prompts", lambda: ss.TabularClass(3, num_prompts=3))
ALG_CLASS = MODEL_CLASS + [CLASS_OF_OTHER_SPACES]
# 3 training pairs on 2 prompts × 3 responses
PROMPTS, RESPONSES = index_array(2, 3, shapes=True), index_array(3, 3, shapes=True)
WEIGHTS = real_array(3) + [[-1.0, 1.0, 1.0]]
LOG_PROBS = Kind([np.array(1.0), np.zeros((2, 0)), np.full((2, 3), NAN), np.full((2, 3), 0.5), "abc", None,
                  [["a", "b", "c"]]])
HARD_CLASS = MODEL_CLASS + [fx("tab_class"),
                            arr("HardClass(3, 4, 0.25) of other spaces", lambda: ss.HardClass(3, 4, 0.25))]
MU = POS
PAIRED = {"prompts": ("responses",), "responses": ("prompts",)}   # a shape mismatch may name either


@functools.cache
def _hard_class():
    return FIX.hard.model_class


@functools.cache
def _xpo_result():
    result, _ = ss.xpo_sharpen(FIX.key, FIX.oracle, FIX.tab_class, 2, 0.5, 0.1, num_steps=2, num_validation=2,
                               reward_range=5.0, value_range=5.0)
    return result


def _train():
    return {"prompts": np.array([0, 1, 1]), "responses": np.array([0, 1, 2]), "weights": None}


def _fit_bad(prompts=PROMPTS, responses=RESPONSES):
    return {"prompts": prompts, "responses": responses, "weights": WEIGHTS}


_XPO_VALID = {"key": fx("key"), "oracle": fx("oracle"), "model_class": fx("tab_class"), "num_rounds": 2, "beta": 0.5,
              "alpha": 0.1, "num_steps": 2, "num_validation": 2, "learning_rate": 0.5, "reward_range": 5.0,
              "value_range": 5.0, "initial_params": None}

ENTRIES = [
    # --- algorithms -----------------------------------------------------------------------------------------
    Entry("best_of_n", "algorithms", lambda **kw: ss.best_of_n(**kw),
          {"key": fx("key"), "oracle": fx("oracle"), "prompts": np.array([0, 1]), "num_samples": 3},
          bad={"key": KEY, "oracle": ORACLE, "prompts": index_array(2), "num_samples": POS_INT},
          either={"num_samples": HUGE_SIZES}, allow_inf=False, fast=("oracle",)),
    Entry("running_best_index", "algorithms", lambda **kw: ss.running_best_index(**kw),
          {"log_probs": np.log(np.array([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]]))},
          bad={"log_probs": Kind([np.array(1.0), np.zeros((2, 0)), np.full((2, 3), NAN), "abc", None,
                                  [["a", "b", "c"]]])},
          extreme={"log_probs": [np.array([[-INF, -INF, -1.0], [-1e-300, -1e-300, -INF]])]}),
    Entry("sft_sharpen", "algorithms", lambda **kw: ss.sft_sharpen(**kw),
          {"key": fx("key"), "oracle": fx("oracle"), "model_class": fx("tab_class"), "num_prompts": 4,
           "num_samples": 2},
          bad={"key": KEY, "oracle": ALG_ORACLE, "model_class": ALG_CLASS, "num_prompts": POS_INT,
               "num_samples": POS_INT},
          either={"num_prompts": HUGE_SIZES, "num_samples": HUGE_SIZES}, fast=("oracle", "model_class")),
    Entry("adaptive_sft_sharpen", "algorithms", lambda **kw: ss.adaptive_sft_sharpen(**kw),
          {"key": fx("key"), "oracle": fx("oracle"), "model_class": fx("tab_class"), "num_prompts": 4, "mu": 1.0,
           "max_samples": 8},
          bad={"key": KEY, "oracle": ALG_ORACLE, "model_class": ALG_CLASS, "num_prompts": POS_INT, "mu": MU,
               "max_samples": POS_INT},
          either={"num_prompts": HUGE_SIZES, "max_samples": HUGE_SIZES}, extreme={"mu": [1e-300, 1e300]}),
    Entry("adaptive_stopping_time", "algorithms", lambda **kw: ss.adaptive_stopping_time(**kw),
          {"log_probs": np.log(np.array([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])), "mu": 1.0},
          bad={"log_probs": LOG_PROBS, "mu": MU}, extreme={"mu": [1e-300, 1e300]}),
    Entry("rlhf_sharpen", "algorithms", lambda **kw: ss.rlhf_sharpen(**kw),
          {"key": fx("key"), "oracle": fx("oracle"), "model_class": fx("tab_class"), "num_prompts": 4, "beta": 0.5,
           "tie_break": "pessimistic"},
          bad={"key": KEY, "oracle": ALG_ORACLE + [fx("oracle_tree")], "model_class": ALG_CLASS,
               "num_prompts": POS_INT, "beta": POS, "tie_break": Kind(["bogus", None, 3, ""])},
          either={"num_prompts": HUGE_SIZES}, extreme={"beta": [1e-300, 1e300]}),
    Entry("rlhf_regression_loss", "algorithms", lambda **kw: ss.rlhf_regression_loss(**kw),
          {"policy_log_probs": np.log([[0.5, 0.3], [0.2, 0.6]]), "base_log_probs": np.log([[0.4, 0.4], [0.3, 0.5]]),
           "beta": 0.5, "rewards": None, "weights": None},
          bad={"policy_log_probs": Kind([np.zeros((2, 3)), np.full((2, 2), NAN), "abc", None, np.zeros(2)]),
               "base_log_probs": Kind([np.zeros((2, 3)), np.full((2, 2), NAN), "abc", None]),
               "beta": POS, "rewards": Kind([np.zeros((2, 3)), np.full((2, 2), NAN), "abc"]),
               "weights": real_array(2) + [[-1.0, 1.0]]}),
    Entry("xpo_sharpen", "algorithms", lambda **kw: ss.xpo_sharpen(**kw), _XPO_VALID,
          bad={"key": KEY, "oracle": ALG_ORACLE + [fx("oracle_tree")], "model_class": ALG_CLASS + [fx("finite_class")],
               "num_rounds": POS_INT, "beta": POS, "alpha": interval(0.0, INF, True, False), "num_steps": POS_INT,
               "num_validation": POS_INT, "learning_rate": POS, "reward_range": interval(0.0, INF, True, False),
               "value_range": interval(0.0, INF, True, False),
               "initial_params": Kind([np.zeros((3, 3)), np.full((2, 3), NAN), "abc", [["a"] * 3] * 2])},
          either={"num_rounds": HUGE_SIZES, "num_steps": HUGE_SIZES, "num_validation": HUGE_SIZES},
          fast=("num_rounds",)),
    Entry("bayes_hard_learner", "algorithms", lambda **kw: ss.bayes_hard_learner(**kw),
          {"key": fx("key"), "oracle": fx("hard_oracle"), "model_class": arr("hard class", _hard_class),
           "num_prompts": 4, "num_samples": 2, "num_active": None},
          bad={"key": KEY, "oracle": ORACLE + [fx("oracle")], "model_class": HARD_CLASS, "num_prompts": POS_INT,
               "num_samples": POS_INT, "num_active": POS_INT + [5]},
          either={"num_prompts": HUGE_SIZES, "num_samples": HUGE_SIZES}),
    Entry("adaptive_bayes_hard_learner", "algorithms", lambda **kw: ss.adaptive_bayes_hard_learner(**kw),
          {"key": fx("key"), "oracle": fx("hard_oracle"), "model_class": arr("hard class", _hard_class),
           "num_prompts": 4, "max_samples": 8, "num_active": None},
          bad={"key": KEY, "oracle": ORACLE + [fx("oracle")], "model_class": HARD_CLASS, "num_prompts": POS_INT,
               "max_samples": POS_INT, "num_active": POS_INT + [5]},
          either={"num_prompts": HUGE_SIZES, "max_samples": HUGE_SIZES}),
    Entry("hard_posterior", "algorithms", lambda **kw: ss.hard_posterior(**kw),
          {"model_class": arr("hard class", _hard_class), "prompts": np.array([1, 2]),
           "responses": np.array([[1, 2], [3, 3]]), "log_probs": np.log(np.full((2, 2), 0.25)), "weights": None},
          aliases=PAIRED,
          # no oracle here: a HardClass of other spaces that the data fit (one more rare prompt) is indistinguishable
          bad={"model_class": MODEL_CLASS + [fx("tab_class")], "prompts": index_array(3, shapes=True),
               "responses": Kind([[[5, 1], [1, 1]], [[-2, 1], [1, 1]], [[0.5, 1.0], [1.0, 1.0]], "ab", None]),
               "log_probs": Kind([np.full((2, 3), -1.0), np.full((2, 2), NAN), "abc", None]),
               "weights": real_array(2) + [[-1.0, 1.0]]}),
    Entry("XPOResult.to_tabular", "algorithms", lambda: _xpo_result().to_tabular(), {}),
    # --- classes ---------------------------------------------------------------------------------------------
    Entry("TabularClass", "classes", lambda **kw: ss.TabularClass(**kw),
          {"num_responses": 3, "prompt_probs": None, "num_prompts": 2},
          bad={"num_responses": POS_INT, "prompt_probs": prob_vector(2), "num_prompts": POS_INT},
          either={"num_responses": HUGE_SIZES, "num_prompts": HUGE_SIZES}),
    Entry("TabularClass.like", "classes", lambda **kw: ss.TabularClass.like(**kw), {"base": fx("tab")},
          bad={"base": POLICY}, extreme={"base": [fx("tree"), fx("hard")]}),
    Entry("TabularClass.fit", "classes", lambda **kw: FIX.tab_class.fit(**kw), _train(), bad=_fit_bad(),
          aliases=PAIRED, fast=("responses",)),
    Entry("FiniteClass", "classes", lambda **kw: ss.FiniteClass(**kw),
          {"policies": arr("[2, 2, 3] stack", lambda: np.stack([FIX.probs, FIX.probs])), "prompt_probs": None},
          bad={"policies": Kind([np.zeros((0, 2, 3)), np.full((2, 2, 3), NAN), np.full((2, 2, 3), 0.5),
                                 np.full((2, 3), 1 / 3), "abc", None, [[["a"] * 3] * 2]]),
               "prompt_probs": prob_vector(2)}),
    Entry("FiniteClass.from_policies", "classes", lambda **kw: ss.FiniteClass.from_policies(**kw),
          {"policies": arr("[tab, tab_learned]", lambda: [FIX.tab, FIX.tab_learned]), "prompt_probs": None},
          bad={"policies": Kind([[], "abc", None, 3, arr("[tab, tab_3x3]", lambda: [FIX.tab, FIX.tab_3x3]),
                                 arr("[tab, 'abc']", lambda: [FIX.tab, "abc"])]),
               "prompt_probs": prob_vector(2)}),
    Entry("FiniteClass.log_likelihoods", "classes", lambda **kw: FIX.finite_class.log_likelihoods(**kw), _train(),
          bad=_fit_bad(), allow_inf=True, aliases=PAIRED),
    Entry("FiniteClass.fit", "classes", lambda **kw: FIX.finite_class.fit(**kw), _train(), bad=_fit_bad(),
          aliases=PAIRED),
    Entry("FiniteFit.to_tabular", "classes",
          lambda: FIX.finite_class.fit(np.array([0]), np.array([0])).to_tabular(), {}),
    Entry("ProductClass", "classes", lambda **kw: ss.ProductClass(**kw),
          {"rows": arr("[2, 2, 3] rows", lambda: np.stack([FIX.probs, FIX.probs], axis=1)), "prompt_probs": None},
          bad={"rows": Kind([np.zeros((2, 0, 3)), np.full((2, 2, 3), NAN), np.full((2, 2, 3), 0.5), "abc", None]),
               "prompt_probs": prob_vector(2)}),
    Entry("ProductClass.shared", "classes", lambda **kw: ss.ProductClass.shared(**kw),
          {"candidates": fx("probs"), "prompt_probs": None, "num_prompts": 2},
          bad={"candidates": Kind([np.full((2, 3), NAN), np.full((2, 3), 0.5), np.zeros((2, 0)), "abc", None]),
               "prompt_probs": prob_vector(2), "num_prompts": POS_INT},
          either={"num_prompts": HUGE_SIZES}),
    Entry("ProductClass.fit", "classes", lambda **kw: FIX.product_class.fit(**kw), _train(), bad=_fit_bad(),
          aliases=PAIRED),
    Entry("LinearSoftmaxClass", "classes", lambda **kw: ss.LinearSoftmaxClass(**kw),
          {"features": fx("features"), "radius": 2.0, "prompt_probs": None, "max_steps": 50, "tolerance": 1e-7,
           "momentum": 0.9},
          bad={"features": Kind([np.zeros((2, 3)), np.full((2, 3, 2), NAN), np.zeros((2, 0, 2)), "abc", None]),
               "radius": POS, "prompt_probs": prob_vector(2), "max_steps": POS_INT, "tolerance": POS,
               "momentum": GAMMA}, either={"max_steps": HUGE_SIZES}),
    Entry("LinearSoftmaxClass.policy", "classes", lambda **kw: FIX.ls_class.policy(**kw), {"theta": np.zeros(2)},
          bad={"theta": Kind([np.zeros(3), np.full(2, NAN), "abc", None, np.zeros((2, 2))])},
          extreme={"theta": [np.array([1e300, -1e300])]}),
    Entry("LinearSoftmaxClass.negative_log_likelihood", "classes",
          lambda **kw: FIX.ls_class.negative_log_likelihood(**kw), {"theta": np.zeros(2), "counts": np.ones((2, 3))},
          bad={"theta": Kind([np.zeros(3), np.full(2, NAN), "abc", None]),
               "counts": Kind([np.ones((2, 2)), np.full((2, 3), NAN), -np.ones((2, 3)), "abc", None])}),
    Entry("LinearSoftmaxClass.fit", "classes", lambda **kw: FIX.ls_class.fit(**kw), _train(), bad=_fit_bad(),
          aliases=PAIRED),
    Entry("LinearSoftmaxFit.to_tabular", "classes",
          lambda: FIX.ls_class.fit(np.array([0]), np.array([0])).to_tabular(), {}),
    Entry("AutoregressiveLinearClass", "classes", lambda **kw: ss.AutoregressiveLinearClass(**kw),
          {"feature_map": bigram_features, "vocab_size": 2, "horizon": 2, "dimension": 2, "radius": 1.0,
           "prompt_probs": None, "num_prompts": 2, "max_steps": 50, "tolerance": 1e-7, "momentum": 0.9,
           "max_sequences": 16},
          bad={"feature_map": CALLABLE, "vocab_size": pos_int(2), "horizon": POS_INT, "dimension": POS_INT + [3],
               "radius": POS, "prompt_probs": prob_vector(2), "num_prompts": POS_INT, "max_steps": POS_INT,
               "tolerance": POS, "momentum": GAMMA, "max_sequences": POS_INT},
          either={"horizon": HUGE_SIZES, "dimension": HUGE_SIZES}),
    Entry("AutoregressiveLinearClass.like", "classes", lambda **kw: ss.AutoregressiveLinearClass.like(**kw),
          {"base": fx("lsar"), "radius": 1.0}, bad={"base": AR_POLICY + [fx("tree")], "radius": POS}),
    Entry("AutoregressiveLinearClass.policy", "classes", lambda **kw: FIX.ar_class.policy(**kw),
          {"theta": np.zeros((2, 2))}, bad={"theta": Kind([np.zeros(2), np.full((2, 2), NAN), "abc", None])}),
    Entry("AutoregressiveLinearClass.fit", "classes", lambda **kw: FIX.ar_class.fit(**kw),
          {"prompts": np.array([0, 1]), "responses": np.array([[0, 1], [1, 1]]), "weights": None},
          bad={"prompts": index_array(2, shapes=True),
               "responses": Kind([[[0, 2], [1, 1]], [[0, 1]], [[0.5, 1.0], [1.0, 1.0]], "ab", None, [0, 1]]),
               "weights": real_array(2) + [[-1.0, 1.0]]}, aliases=PAIRED),
    Entry("best_achievable_log_mass", "classes", lambda **kw: ss.best_achievable_log_mass(**kw),
          {"policy": fx("lsar"), "target": np.array([0, 1]), "norm_bound": 1.0, "prompt": 0, "num_steps": 5,
           "learning_rate": 0.05},
          bad={"policy": AR_POLICY + [fx("tree")], "target": Kind([[0, 2], [0], [[0, 1]], [0.5, 1.0], "ab", None]),
               "norm_bound": POS, "prompt": Kind([2, -1, 0.5, "0", None]), "num_steps": POS_INT,
               "learning_rate": POS},
          either={"num_steps": HUGE_SIZES}),
    Entry("HardClass", "classes", lambda **kw: ss.HardClass(**kw),
          {"num_rare": 2, "num_candidates": 4, "delta": 0.25, "gamma": 0.5, "top_mass": None, "max_rare": None,
           "max_candidates": None},
          bad={"num_rare": POS_INT, "num_candidates": pos_int(2), "delta": UNIT, "gamma": UNIT,
               "top_mass": interval(0.25, 1.0, False, True), "max_rare": POS_INT + [1],
               "max_candidates": POS_INT + [3]},
          either={"num_rare": HUGE_SIZES, "num_candidates": HUGE_SIZES, "max_rare": HUGE_SIZES,
                  "max_candidates": HUGE_SIZES},
          extreme={"delta": [1e-300, 1 - 1e-16]}, fast=("num_candidates",)),
    Entry("HardClass.coverage", "classes", lambda **kw: FIX.hard_class.coverage(**kw), {"p": 1},
          bad={"p": interval(1.0, INF, True, False)}, extreme={"p": [512, 1e6]}),
    Entry("HardClass.sample_index", "classes", lambda **kw: FIX.hard_class.sample_index(**kw), {"key": fx("key")},
          bad={"key": KEY}),
    Entry("HardClass.member", "classes", lambda **kw: FIX.hard_class.member(**kw), {"index": np.array([0, 3])},
          bad={"index": Kind([[0, 4], [-1, 0], [0], [0.5, 1.0], "ab", None])}),
    Entry("HardClass.random_member", "classes", lambda **kw: FIX.hard_class.random_member(**kw), {"key": fx("key")},
          bad={"key": KEY}),
    Entry("HardClass.member_table", "classes", lambda **kw: FIX.hard_class.member_table(**kw),
          {"index": np.array([0, 3])}, bad={"index": Kind([[0, 4], [-1, 0], [0], [0.5, 1.0], "ab", None])}),
    Entry("HardClass.rows", "classes", lambda: FIX.hard_class.rows(), {}),
    Entry("HardClass.check_table_fits", "classes", lambda **kw: FIX.hard_class.check_table_fits(**kw),
          {"name": "a table"}),
    Entry("HardClass.bon_top_mass", "classes", lambda **kw: FIX.hard_class.bon_top_mass(**kw), {"num_samples": 3},
          bad={"num_samples": POS_INT}, extreme={"num_samples": [10**30, 10**400]}),
    Entry("HardClass.adaptive_bon_top_mass", "classes", lambda **kw: FIX.hard_class.adaptive_bon_top_mass(**kw),
          {"mu": 1.0}, bad={"mu": MU}, extreme={"mu": [1e-300, 1e300]}),
    Entry("HardClass.with_top_mass", "classes", lambda **kw: FIX.hard_class.with_top_mass(**kw), {"top_mass": 0.5},
          bad={"top_mass": interval(0.25, 1.0, False, True)}),
    Entry("HardClass.bon_class", "classes", lambda **kw: FIX.hard_class.bon_class(**kw), {"num_samples": 3},
          bad={"num_samples": POS_INT}, extreme={"num_samples": [10**30]}),
    Entry("HardClass.adaptive_bon_class", "classes", lambda **kw: FIX.hard_class.adaptive_bon_class(**kw),
          {"mu": 1.0}, bad={"mu": MU}, extreme={"mu": [1e300]}),
    Entry("HardClass.log_likelihoods", "classes", lambda **kw: FIX.hard_class.log_likelihoods(**kw),
          {"prompts": np.array([1, 2, 2]), "responses": np.array([1, 2, 4]), "weights": None},
          bad=_fit_bad(index_array(3, 3, shapes=True), index_array(5, 3, shapes=True)), allow_inf=True,
          aliases=PAIRED),
    Entry("HardClass.fit", "classes", lambda **kw: FIX.hard_class.fit(**kw),
          {"prompts": np.array([1, 2, 2]), "responses": np.array([1, 2, 4]), "weights": None},
          bad=_fit_bad(index_array(3, 3, shapes=True), index_array(5, 3, shapes=True)), allow_inf=True,
          aliases=PAIRED),
]
