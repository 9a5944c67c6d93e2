"""Bad input to ``sharpsim.lm`` is refused with a ValueError/TypeError naming the argument (regressions of the fuzz
catalog's findings, tests/fuzz/catalog_lm.py). A tiny untrained network keeps every call cheap."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sharpsim import lm

TASK = lm.ModularSumTask(modulus=3, num_operands=3)  # |X| = 27, H = 2
CONFIG = lm.TransformerConfig(d_model=8, num_layers=1, num_heads=2, mlp_ratio=2)
NETWORK = lm.init_transformer(CONFIG, TASK.input_vocab_size, TASK.vocab_size, 5, jax.random.key(0))
POLICY = lm.TransformerPolicy(NETWORK, TASK)
SMALL_MEMORY = str(2**28)


def test_task_checker_refuses_prompts_that_do_not_match_the_responses():
    with pytest.raises(ValueError, match=r"prompts must broadcast against responses\[..., 0\]: shapes \(3,\) and "
                                         r"\(2,\)"):
        TASK.is_correct([0, 1, 2], [[0, 0], [1, 1]])
    with pytest.raises(ValueError, match="prompts must broadcast"):
        TASK.is_valid_chain([0, 1, 2], [[0, 0], [1, 1]])
    # broadcasting one prompt against several responses is allowed; reference: the answer is Σ operands mod p
    operands = np.array([5 // 9, (5 // 3) % 3, 5 % 3])
    answer = operands.sum() % 3
    responses = np.array([[0, answer], [0, (answer + 1) % 3]])
    np.testing.assert_array_equal(TASK.is_correct(5, responses), [True, False])


@pytest.mark.parametrize("prompt, error", [(27, ValueError), (-1, ValueError), (2.5, TypeError), ("3", TypeError)])
def test_valid_chains_names_prompt(prompt, error):
    with pytest.raises(error, match="prompt must"):
        TASK.valid_chains(prompt)


def test_sample_refuses_a_huge_batch_up_front(monkeypatch):
    monkeypatch.setenv("SHARPSIM_MAX_ARRAY_BYTES", SMALL_MEMORY)
    with pytest.raises(ValueError, match="batch_size is too large"):
        TASK.sample(jax.random.key(0), 10**9)


@pytest.mark.parametrize("dtype", ["abc", 3, {"a": 1}, jnp.int32, "bool"])
def test_init_transformer_names_a_bad_dtype(dtype):
    with pytest.raises(TypeError, match="dtype must be a floating dtype"):
        lm.init_transformer(CONFIG, 4, 3, 5, jax.random.key(0), dtype=dtype)


@pytest.mark.parametrize("name", ["input_vocab", "output_vocab", "length"])
@pytest.mark.parametrize("size", [10**9, 10**30])
def test_init_transformer_refuses_huge_sizes_up_front(name, size, monkeypatch):
    monkeypatch.setenv("SHARPSIM_MAX_ARRAY_BYTES", SMALL_MEMORY)
    sizes = {"input_vocab": 4, "output_vocab": 3, "length": 5, name: size}
    with pytest.raises(ValueError, match=f"{name}={size}.* is too large"):
        lm.init_transformer(CONFIG, key=jax.random.key(0), **sizes)


def test_init_transformer_weight_count_is_what_the_check_assumes():
    count = sum(leaf.size for leaf in jax.tree.leaves(NETWORK))
    width, hidden = 8, 16
    per_layer = 4 * width * (width + 1) + 2 * hidden * width + hidden + width + 4 * width
    assert count == (4 + 5) * width + 3 * (width + 1) + per_layer + 2 * width


def test_argmax_search_sizes(monkeypatch):
    monkeypatch.setenv("SHARPSIM_MAX_ARRAY_BYTES", SMALL_MEMORY)
    with pytest.raises(ValueError, match="top_k .* is too large"):
        lm.argmax_search(POLICY, [0, 1], top_k=10**9)
    with pytest.raises(ValueError, match="top_k .* is too large"):
        lm.argmax_search(POLICY, np.zeros(0, np.int64), top_k=10**30)
    with pytest.raises(ValueError, match="on_cap must be one of"):
        lm.argmax_search(POLICY, [0], on_cap=["warn"])
    # a node cap beyond int64 is no cap: the same exact answer as the default cap
    huge = lm.argmax_search(POLICY, [0, 1], top_k=2, max_nodes=10**30)
    default = lm.argmax_search(POLICY, [0, 1], top_k=2)
    np.testing.assert_array_equal(huge.sequences, default.sequences)
    assert not huge.capped.any()


@pytest.mark.parametrize("function", [lm.lm_coverage_coefficient, lm.lm_margin])
@pytest.mark.parametrize("max_nodes, error", [(0, ValueError), (2.5, TypeError), (None, TypeError)])
def test_coverage_functions_check_max_nodes_with_a_search(function, max_nodes, error):
    search = lm.argmax_search(POLICY, top_k=2)
    with pytest.raises(error, match="max_nodes must be an integer"):
        function(POLICY, search, max_nodes=max_nodes)


@pytest.fixture(scope="module")
def trained():
    config = lm.LMConfig(task=TASK, model=CONFIG, steps=1, batch_size=8, warmup_steps=1, checkpoint_steps=(0,),
                         eval_size=16)
    return lm.train_lm(config, 0, steps=1, progress=False)


@pytest.mark.parametrize("step, error", [([0], TypeError), ({"a": 1}, TypeError), (2.5, TypeError), (-1, ValueError),
                                         (5, ValueError)])
def test_trained_policy_names_step(trained, step, error):
    with pytest.raises(error, match="step must be"):
        trained.policy(step)


def test_train_lm_checks_progress_and_steps(trained, monkeypatch):
    with pytest.raises(TypeError, match="progress must be True or False"):
        lm.train_lm(trained.config, 0, steps=1, progress="yes")
    monkeypatch.setenv("SHARPSIM_MAX_ARRAY_BYTES", SMALL_MEMORY)
    with pytest.raises(ValueError, match="steps .* is too large"):
        lm.train_lm(trained.config, 0, steps=10**30, progress=False)


def test_weights_on_disk_name_directory(trained, tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    with pytest.raises(ValueError, match="directory .* is a file, not a folder"):
        lm.save_trained(trained, a_file)
    for bad in (None, 3, {"a": 1}):
        with pytest.raises(TypeError, match="directory must be a path"):
            lm.save_trained(trained, bad)
    for bad in (3, 2.5):
        with pytest.raises(TypeError, match="directory must be a path"):
            lm.load_trained(bad)
    with pytest.raises(ValueError, match="directory .* holds no trained model"):
        lm.load_trained(a_file)
    saved = lm.save_trained(trained, tmp_path / "run")
    again = lm.load_trained(os.fspath(saved))
    np.testing.assert_array_equal(again.losses, trained.losses)


@pytest.mark.parametrize("values, error, match", [
    ("abc", TypeError, "values must be a dict"),
    (None, TypeError, "values must be a dict"),
    ({"bogus": 1}, ValueError, r"values has keys that are not LMConfig fields: \['bogus'\]"),
    ({"task": "abc"}, TypeError, "values do not describe an LMConfig"),
    ({"task": {"modulus": 1}}, ValueError, "values do not describe an LMConfig: modulus must be"),
    ({"steps": 0}, ValueError, "values do not describe an LMConfig: steps must be"),
])
def test_lm_config_from_dict_names_values(values, error, match):
    with pytest.raises(error, match=match):
        lm.LMConfig.from_dict(values)


def test_lm_config_round_trips():
    config = lm.LMConfig(task=TASK, model=CONFIG, steps=3, checkpoint_steps=(0, 2))
    assert lm.LMConfig.from_dict(config.to_dict()) == config
