"""Catalog entries of ``sharpsim.lm`` (the modular-sum task, the transformer, its policy, the exact argmax search and
the coverage of the learned model, training and the weights on disk). See ``catalog.py`` for the format.

The valid calls stay cheap: a tiny untrained network (d_model 8, one layer) on the modular-sum task with p = 3,
k = 3 (|X| = 27 prompts, H = 2, |V|^H = 9), and a one-step training run of it saved under a temporary folder."""

from __future__ import annotations

import functools
import os
import tempfile

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim import lm
from tests.fuzz.harness import Entry
from tests.fuzz.values import (
    HUGE_SIZES, INF, KEY, NAN, POS_INT, Kind, Lazy, arr, fx, index_array, interval, pos_int, prob_vector,
)

LM_TASK = lm.ModularSumTask(modulus=3, num_operands=3, order_bias=0.5, error_rate=0.1)
CONFIG = lm.TransformerConfig(d_model=8, num_layers=1, num_heads=2, mlp_ratio=2)
LENGTH = LM_TASK.num_operands + LM_TASK.horizon
LM_CONFIG = lm.LMConfig(task=LM_TASK, model=CONFIG, steps=1, batch_size=8, warmup_steps=1, checkpoint_steps=(0,),
                        eval_size=16)
NUM_PROMPTS = LM_TASK.num_prompts  # 27


@functools.cache
def _network():
    return lm.init_transformer(CONFIG, LM_TASK.input_vocab_size, LM_TASK.vocab_size, LENGTH, jax.random.key(0))


@functools.cache
def _policy():
    return lm.TransformerPolicy(_network(), LM_TASK)


@functools.cache
def _search():
    return lm.argmax_search(_policy(), top_k=2)


@functools.cache
def _trained():
    return lm.train_lm(LM_CONFIG, 0, steps=1, progress=False)


@functools.cache
def _folder() -> str:
    return tempfile.mkdtemp(prefix="sharpsim-fuzz-lm-")


@functools.cache
def _saved() -> str:
    return str(lm.save_trained(_trained(), os.path.join(_folder(), "saved")))


def _a_file() -> str:
    path = os.path.join(_folder(), "a-file")
    with open(path, "w") as handle:
        handle.write("not a directory\n")
    return path


NETWORK = Lazy("tiny network (p=3, k=3)", _network)
POLICY = Lazy("tiny TransformerPolicy (27 prompts)", _policy)
SEARCH = Lazy("argmax_search(top_k=2)", _search)
TRAINED = Lazy("train_lm(1 step)", _trained)
SAVED = Lazy("saved 1-step run", _saved)
A_FILE = Lazy("a plain file", _a_file)
MISSING = Lazy("a missing folder", lambda: os.path.join(_folder(), "missing"))
NEW_FOLDER = Lazy("a new folder", lambda: tempfile.mkdtemp(dir=_folder()))

LM_PROMPTS = index_array(NUM_PROMPTS, shapes=False)
RESPONSES = Kind([[[0, 3]], [[0, -1]], [[0.0, 1.0]], [[0, 1, 2]], [0], "ab", None, [["a", "b"]]])
NOT_A_POLICY = Kind(["abc", None, {"a": 1}, 3, fx("tab"), NETWORK])
NOT_A_SEARCH = Kind(["abc", {"a": 1}, 3, arr("search of 3 prompts", lambda: lm.argmax_search(_policy(), [0, 1, 2])),
                     arr("search with top_k=1", lambda: lm.argmax_search(_policy(), top_k=1))])
NOT_A_CONFIG = Kind(["abc", {"d_model": 8}, 3, LM_CONFIG])
FOLDER = Kind([3, {"a": 1}, MISSING, A_FILE, 2.5])
UNIT_CLOSED = interval(0.0, 1.0, True, True)


def _on_simplex(result):
    values = np.asarray(result)
    if (values < -1e-12).any() or (values > 1 + 1e-12).any():
        return f"probabilities outside [0, 1]: {values.ravel()[:6]}"
    return None


ENTRIES = [
    # --- the task ----------------------------------------------------------------------------------------------
    Entry("lm.ModularSumTask", "lm", lambda **kw: lm.ModularSumTask(**kw),
          {"modulus": 3, "num_operands": 3, "order_bias": 0.5, "error_rate": 0.1},
          bad={"modulus": pos_int(2) + [10**9, 2**11], "num_operands": pos_int(2) + [7],
               "order_bias": UNIT_CLOSED, "error_rate": UNIT_CLOSED},
          extreme={"order_bias": [0.0, 1.0], "error_rate": [0.0, 1.0], "modulus": [2, 161]},
          fast=("modulus", "order_bias"), unsized=("modulus",)),
    Entry("lm.ModularSumTask.prompt_tokens", "lm", lambda **kw: LM_TASK.prompt_tokens(**kw), {"prompts": [0, 26]},
          bad={"prompts": LM_PROMPTS}, extreme={"prompts": [np.zeros(0, np.int64), 5]}, fast=("prompts",)),
    Entry("lm.ModularSumTask.answers", "lm", lambda **kw: LM_TASK.answers(**kw), {"prompts": [0, 26]},
          bad={"prompts": LM_PROMPTS}),
    Entry("lm.ModularSumTask.is_correct", "lm", lambda **kw: LM_TASK.is_correct(**kw),
          {"prompts": [0, 26], "responses": [[0, 0], [2, 2]]},
          bad={"prompts": LM_PROMPTS + [[0, 1, 2]], "responses": RESPONSES}, fast=("responses",)),
    Entry("lm.ModularSumTask.is_valid_chain", "lm", lambda **kw: LM_TASK.is_valid_chain(**kw),
          {"prompts": [0, 26], "responses": [[0, 0], [1, 2]]},
          bad={"prompts": LM_PROMPTS + [[0, 1, 2]], "responses": RESPONSES}),
    Entry("lm.ModularSumTask.valid_chains_all", "lm", lambda **kw: LM_TASK.valid_chains_all(**kw),
          {"prompts": [0, 26]}, bad={"prompts": LM_PROMPTS}),
    Entry("lm.ModularSumTask.valid_chains", "lm", lambda **kw: LM_TASK.valid_chains(**kw), {"prompt": 5},
          bad={"prompt": Kind([27, -1, 2.5, "3", None, NAN, [1, 2], True])}, either={"prompt": HUGE_SIZES}),
    Entry("lm.ModularSumTask.data_law", "lm", lambda **kw: LM_TASK.data_law(**kw), {"prompts": [0, 26]},
          bad={"prompts": LM_PROMPTS}, check=lambda law: None if np.allclose(np.asarray(law).sum(-1), 1.0)
          else f"law rows sum to {np.asarray(law).sum(-1)}"),
    Entry("lm.ModularSumTask.sample", "lm", lambda **kw: LM_TASK.sample(**kw), {"key": fx("key"), "batch_size": 4},
          bad={"key": KEY, "batch_size": POS_INT}, either={"batch_size": HUGE_SIZES}, fast=("batch_size",)),
    # --- the network -------------------------------------------------------------------------------------------
    Entry("lm.TransformerConfig", "lm", lambda **kw: lm.TransformerConfig(**kw),
          {"d_model": 8, "num_layers": 1, "num_heads": 2, "mlp_ratio": 2},
          bad={"d_model": POS_INT + [7], "num_layers": POS_INT, "num_heads": POS_INT + [3], "mlp_ratio": POS_INT},
          unsized=("d_model", "num_layers", "num_heads", "mlp_ratio")),
    Entry("lm.init_transformer", "lm", lambda **kw: lm.init_transformer(**kw),
          {"config": CONFIG, "input_vocab": 4, "output_vocab": 3, "length": 5,
           "key": Lazy("key(0)", lambda: jax.random.key(0)), "dtype": jnp.float32},
          bad={"config": NOT_A_CONFIG, "input_vocab": POS_INT, "output_vocab": POS_INT, "length": POS_INT,
               "key": KEY, "dtype": Kind(["abc", jnp.int32, 3, {"a": 1}, "bool"])},
          either={"input_vocab": HUGE_SIZES, "output_vocab": HUGE_SIZES, "length": HUGE_SIZES},
          extreme={"dtype": [jnp.float64]}, fast=("dtype", "key")),
    Entry("lm.TransformerPolicy", "lm", lambda **kw: lm.TransformerPolicy(**kw),
          {"network": NETWORK, "task": LM_TASK, "prompt_probs": None, "max_sequences": 2**22},
          bad={"network": Kind(["abc", None, {"a": 1}, fx("tab"),
                                arr("network of another task", lambda: lm.init_transformer(
                                    CONFIG, 6, 5, 7, jax.random.key(1)))]),
               "task": Kind(["abc", None, {"a": 1}, lm.ModularSumTask(modulus=4, num_operands=3)]),
               "prompt_probs": prob_vector(NUM_PROMPTS), "max_sequences": POS_INT},
          extreme={"max_sequences": [1, 2**62]}, fast=("network", "prompt_probs")),
    # --- the exact argmax and the coverage of the learned model -------------------------------------------------
    Entry("lm.argmax_search", "lm", lambda **kw: lm.argmax_search(**kw),
          {"policy": POLICY, "prompts": [0, 5, 26], "top_k": 2, "max_nodes": 100, "on_cap": "warn",
           "expand_per_round": 1},
          bad={"policy": NOT_A_POLICY, "prompts": LM_PROMPTS + [[[0, 1]]], "top_k": POS_INT,
               "max_nodes": POS_INT, "on_cap": Kind(["bogus", None, 3]), "expand_per_round": POS_INT},
          either={"top_k": HUGE_SIZES, "max_nodes": HUGE_SIZES, "expand_per_round": HUGE_SIZES,
                  "on_cap": ["raise"]},
          extreme={"top_k": [9, 20], "max_nodes": [1], "prompts": [np.zeros(0, np.int64)]},
          allow_inf=True, fast=("top_k", "prompts")),
    Entry("lm.lm_coverage_coefficient", "lm", lambda **kw: lm.lm_coverage_coefficient(**kw),
          {"policy": POLICY, "search": SEARCH, "max_nodes": 100},
          bad={"policy": NOT_A_POLICY, "search": NOT_A_SEARCH[:-1], "max_nodes": POS_INT},
          either={"max_nodes": HUGE_SIZES}),
    Entry("lm.lm_margin", "lm", lambda **kw: lm.lm_margin(**kw),
          {"policy": POLICY, "search": SEARCH, "max_nodes": 100},
          bad={"policy": NOT_A_POLICY, "search": NOT_A_SEARCH, "max_nodes": POS_INT},
          either={"max_nodes": HUGE_SIZES}, allow_inf=True),
    Entry("lm.lm_coverage_profile", "lm", lambda **kw: lm.lm_coverage_profile(**kw),
          {"policy": POLICY, "num_samples": [1, 10, 100], "search": SEARCH, "max_nodes": 100},
          bad={"policy": NOT_A_POLICY, "search": NOT_A_SEARCH[:-1], "max_nodes": POS_INT,
               "num_samples": Kind([[0], [-1], [2.5], [NAN], [INF], [], [[1, 2]], "abc", None, [True]])},
          either={"num_samples": [[10**18], [10**30]]}, check=_on_simplex, fast=("num_samples",)),
    # --- training and the weights on disk ------------------------------------------------------------------------
    Entry("lm.LMConfig", "lm", lambda **kw: lm.LMConfig(**kw),
          {"task": LM_TASK, "model": CONFIG, "steps": 1, "batch_size": 8, "learning_rate": 3e-3, "warmup_steps": 1,
           "weight_decay": 0.01, "clip_norm": 1.0, "checkpoint_steps": (0,), "eval_size": 16},
          bad={"task": Kind(["abc", None, {"modulus": 3}]), "model": NOT_A_CONFIG[:3] + [None],
               "steps": POS_INT, "batch_size": POS_INT, "learning_rate": interval(0.0, INF, False, False),
               "warmup_steps": POS_INT, "weight_decay": interval(0.0, INF, True, False),
               "clip_norm": interval(0.0, INF, False, False),
               "checkpoint_steps": Kind([(-1,), (0.5,), ("a",), 3, "abc", None, (NAN,)]), "eval_size": POS_INT},
          extreme={"checkpoint_steps": [(), (0, 0, 5)], "weight_decay": [0.0]},
          unsized=("steps", "batch_size", "warmup_steps", "eval_size", "learning_rate", "weight_decay", "clip_norm"),
          fast=("checkpoint_steps",)),
    Entry("lm.LMConfig.to_dict", "lm", lambda: LM_CONFIG.to_dict(), {}),
    Entry("lm.LMConfig.from_dict", "lm", lambda **kw: lm.LMConfig.from_dict(**kw),
          {"values": LM_CONFIG.to_dict()},
          bad={"values": Kind(["abc", None, 3, {"bogus": 1}, {"task": "abc"}, {"task": {"modulus": 1}},
                               {"model": {"d_model": 7}}, {"steps": 0}])},
          fast=("values",)),
    Entry("lm.train_lm", "lm", lambda **kw: lm.train_lm(**kw),
          {"config": LM_CONFIG, "seed": 0, "steps": 1, "progress": False},
          bad={"config": Kind(["abc", {"a": 1}, 3, CONFIG]), "seed": pos_int(0) + [2**32],
               "steps": POS_INT, "progress": Kind(["yes", 2, [True]])},
          extreme={"seed": [2**32 - 1]}, either={"steps": HUGE_SIZES}, fast=("seed",), unsized=("seed",)),
    Entry("lm.save_trained", "lm", lambda **kw: lm.save_trained(**kw),
          {"trained": TRAINED, "directory": NEW_FOLDER},
          bad={"trained": Kind(["abc", None, {"a": 1}, NETWORK]), "directory": Kind([None, 3, {"a": 1}, A_FILE])}),
    Entry("lm.load_trained", "lm", lambda **kw: lm.load_trained(**kw), {"directory": SAVED},
          bad={"directory": FOLDER + [Lazy("an empty folder", lambda: tempfile.mkdtemp(dir=_folder()))]},
          fast=("directory",)),
    Entry("lm.load_policy", "lm", lambda **kw: lm.load_policy(**kw),
          {"step": None, "directory": SAVED, "prompt_probs": None},
          bad={"step": Kind([5, -1, 2.5, "a", [0], NAN]), "directory": FOLDER,
               "prompt_probs": prob_vector(NUM_PROMPTS)},
          extreme={"step": [0, 1]}),
    Entry("lm.TrainedLM.policy", "lm", lambda **kw: _trained().policy(**kw), {"step": None, "prompt_probs": None},
          bad={"step": Kind([5, -1, 2.5, "a", [0], NAN, {"a": 1}]), "prompt_probs": prob_vector(NUM_PROMPTS)},
          extreme={"step": [0, 1], "prompt_probs": [[1.0] + [0.0] * (NUM_PROMPTS - 1)]}, fast=("step",)),
]
