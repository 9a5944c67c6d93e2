"""best_of_n over many seeds in bounded memory (``best_of_n_over_seeds``) and the argmax it picks with
(``first_argmax``), against numpy references."""

import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import sharpsim as ss
from sharpsim.algorithms.best_of_n import best_of_n_over_seeds, first_argmax

# the module itself (``sharpsim.algorithms.best_of_n`` as an attribute is the function of that name)
bon = importlib.import_module("sharpsim.algorithms.best_of_n")

jit_first_argmax = jax.jit(first_argmax)


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float64, (4, 6), elements=st.sampled_from([-np.inf, -3.0, -1.5, -0.5, 0.0, np.nan])))
def test_first_argmax_is_numpys_argmax_with_ties_infinities_and_nans(values):
    np.testing.assert_array_equal(np.asarray(jit_first_argmax(jnp.asarray(values))), np.argmax(values, axis=-1))


def _instance():
    rng = np.random.default_rng(0)
    table = rng.dirichlet(np.full(12, 0.5), size=5)
    table[:, 3] = table[:, 4] = 0.05  # ties in π, broken by the first sample
    return ss.TabularPolicy(table / table.sum(axis=1, keepdims=True))


@pytest.mark.parametrize("seed_batch", [1, 3, 4, 7, None])
def test_over_seeds_equals_best_of_n_seed_by_seed(seed_batch):
    base = _instance()
    oracle, prompts = ss.Oracle(base), jnp.array([0, 4, 2, 2])
    keys = jax.random.split(jax.random.PRNGKey(1), 7)
    result = best_of_n_over_seeds(keys, oracle, prompts, 9, seed_batch=seed_batch)
    log_table = np.log(np.asarray(base.probs))
    for seed, key in enumerate(keys):
        draws, _ = oracle.sample(key, prompts, 9)  # the same key gives the same draws; the pick by numpy
        draws = np.asarray(draws.responses)
        scores = log_table[np.asarray(prompts)[:, None], draws]
        picks = draws[np.arange(4), np.argmax(scores, axis=-1)]
        np.testing.assert_array_equal(np.asarray(result.responses[seed]), picks)
        np.testing.assert_array_equal(np.asarray(result.log_probs[seed]), scores.max(axis=-1))
    np.testing.assert_array_equal(np.asarray(result.queries.samples), np.full(7, 4 * 9))


def test_the_default_batch_fills_the_byte_budget(monkeypatch):
    oracle, prompts = ss.Oracle(_instance()), jnp.arange(5)
    keys = jax.random.split(jax.random.PRNGKey(2), 5)
    whole = best_of_n_over_seeds(keys, oracle, prompts, 3, seed_batch=5)
    batches = []
    original = bon._best_of_n_over_seeds
    monkeypatch.setattr(bon, "_best_of_n_over_seeds", lambda *a: batches.append(a[-1]) or original(*a))
    monkeypatch.setattr(bon, "SEED_BATCH_BYTES", 2 * 5 * 3 * bon._BYTES_PER_DRAW)  # two seeds' draws
    result = best_of_n_over_seeds(keys, oracle, prompts, 3)
    assert batches == [2]
    np.testing.assert_array_equal(np.asarray(result.responses), np.asarray(whole.responses))


@pytest.mark.parametrize("call, error, match", [
    (lambda o, k: best_of_n_over_seeds(k, o, jnp.arange(2), 3, seed_batch=0), ValueError, "seed_batch"),
    (lambda o, k: best_of_n_over_seeds(k, o, jnp.arange(2), 3, seed_batch=1.5), TypeError, "seed_batch"),
    (lambda o, k: best_of_n_over_seeds(k, o, jnp.arange(2), 0), ValueError, "num_samples"),
    (lambda o, k: best_of_n_over_seeds(k[:0], o, jnp.arange(2), 3), ValueError, "keys"),
    (lambda o, k: best_of_n_over_seeds(k, _instance(), jnp.arange(2), 3), TypeError, "oracle"),
])
def test_bad_arguments_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call(ss.Oracle(_instance()), jax.random.split(jax.random.PRNGKey(0), 3))
