"""Training: determinism from the seed, the committed weights reproduced by a short run, the schedule, the files
on disk, and what the committed model has learned."""

import json

import jax.numpy as jnp
import numpy as np
import pytest

import sharpsim
from sharpsim.lm.model import network_arrays
from sharpsim.lm.training import (
    DEFAULT_WEIGHTS,
    LMConfig,
    learning_rate,
    load_policy,
    load_trained,
    save_trained,
    train_lm,
)
from sharpsim.runner.train_command import MATCH_TOLERANCE

COMMITTED = load_trained()


@pytest.fixture(scope="module")
def short_run():
    """The committed configuration and seed, 25 steps: every test of this module shares its compilation."""
    return train_lm(COMMITTED.config, COMMITTED.seed, steps=25, progress=False)


def assert_same_weights(first, second, exact=True):
    a, b = network_arrays(first), network_arrays(second)
    assert a.keys() == b.keys()
    for name in a:
        if exact:
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)
        else:
            np.testing.assert_allclose(a[name], b[name], rtol=MATCH_TOLERANCE, atol=MATCH_TOLERANCE, err_msg=name)


@pytest.mark.slow  # compile-heavy (seconds): the slow suite runs it
def test_short_run_reproduces_the_committed_checkpoint(short_run):
    # the schedule does not depend on the total steps, so 25 steps are the committed run's first 25; bit for bit on
    # one platform, within MATCH_TOLERANCE across platforms (float32 reductions may be ordered differently)
    assert_same_weights(short_run.network, COMMITTED.checkpoints[25], exact=False)
    assert_same_weights(short_run.checkpoints[0], COMMITTED.checkpoints[0], exact=False)
    np.testing.assert_allclose(short_run.losses, COMMITTED.losses[:25], rtol=1e-5)
    assert sorted(short_run.checkpoints) == [0, 25] and short_run.losses.shape == (25,)
    assert short_run.losses.dtype == np.float64


@pytest.mark.slow  # compile-heavy (seconds): the slow suite runs it
def test_deterministic_from_the_seed_and_prefix_property(short_run):
    shorter = train_lm(COMMITTED.config, COMMITTED.seed, steps=10, progress=False)
    np.testing.assert_array_equal(shorter.losses, short_run.losses[:10])  # the same process: bit for bit
    assert sorted(shorter.checkpoints) == [0, 10]
    other = train_lm(COMMITTED.config, COMMITTED.seed + 1, steps=2, progress=False)
    embedding = ".embedding"
    assert not np.array_equal(network_arrays(other.checkpoints[0])[embedding],
                              network_arrays(shorter.checkpoints[0])[embedding])


def test_learning_rate_schedule():
    config = LMConfig(learning_rate=0.01, warmup_steps=10)
    steps = np.arange(0, 200)
    t = steps + 1.0
    expected = 0.01 * np.minimum(t / 10, np.sqrt(10 / t))
    np.testing.assert_allclose(np.asarray(learning_rate(config, steps)), expected, rtol=1e-6)


@pytest.mark.slow  # needs the short training run (seconds of compilation)
def test_save_and_load_round_trip(tmp_path, short_run):
    save_trained(short_run, tmp_path / "run")
    loaded = load_trained(tmp_path / "run")
    assert loaded.config == COMMITTED.config and loaded.seed == 0 and loaded.steps == 25
    assert sorted(loaded.checkpoints) == [0, 25]
    assert_same_weights(loaded.network, short_run.network)
    assert_same_weights(loaded.checkpoints[0], short_run.checkpoints[0])
    np.testing.assert_array_equal(loaded.losses, short_run.losses)
    assert loaded.eval_losses == short_run.eval_losses
    meta = json.loads((tmp_path / "run" / "config.json").read_text())
    assert meta["config"]["task"]["modulus"] == 7 and meta["dtype"] == "float32"
    assert sorted(path.name for path in (tmp_path / "run").iterdir()) == [
        "checkpoint_000000.npz", "config.json", "final.npz", "log.json"]


@pytest.mark.slow  # compile-heavy (seconds): the slow suite runs it
def test_committed_weights_are_small_and_learned_the_task():
    total = sum(path.stat().st_size for path in DEFAULT_WEIGHTS.iterdir())
    assert total < 2 * 2**20
    assert COMMITTED.eval_losses[COMMITTED.steps] < COMMITTED.eval_losses[0]
    policy = load_policy()
    prompts = jnp.arange(0, policy.num_prompts, 7)
    greedy = sharpsim.greedy_decode(policy, prompts)
    assert float(jnp.mean(policy.task.is_correct(prompts, greedy))) > 0.95
    early = load_policy(step=0)
    assert float(jnp.mean(early.task.is_correct(prompts, sharpsim.greedy_decode(early, prompts)))) < 0.5


def test_bad_input(tmp_path):
    with pytest.raises(TypeError, match="config"):
        train_lm({"steps": 3})
    with pytest.raises(ValueError, match="seed"):
        train_lm(COMMITTED.config, -1)
    with pytest.raises(ValueError, match="seed"):
        train_lm(COMMITTED.config, 2**32)
    with pytest.raises(ValueError, match="steps"):
        train_lm(COMMITTED.config, 0, steps=0)
    with pytest.raises(ValueError, match="batch_size"):
        LMConfig(batch_size=0)
    with pytest.raises(ValueError, match="learning_rate"):
        LMConfig(learning_rate=-1.0)
    with pytest.raises(TypeError, match="checkpoint_steps"):
        LMConfig(checkpoint_steps=(1, "x"))
    with pytest.raises(ValueError, match="checkpoint_steps"):
        LMConfig(checkpoint_steps=(-1,))
    with pytest.raises(TypeError, match="task"):
        LMConfig(task="sum")
    with pytest.raises(ValueError, match="config.json"):
        load_trained(tmp_path)
    with pytest.raises(ValueError, match="step"):
        COMMITTED.policy(step=7)
    with pytest.raises(TypeError, match="trained"):
        save_trained("model", tmp_path)
