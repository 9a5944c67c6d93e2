"""The written protocols (Policy, ModelClass, Algorithm): a user's own types that satisfy them work with the oracle
and the built-in algorithms, without subclassing anything of sharpsim."""

import pytest
import jax
import jax.numpy as jnp
import numpy as np

from sharpsim import Oracle, TabularClass, TabularPolicy, sft_sharpen
from sharpsim.core.protocols import Algorithm, ModelClass, Policy, SequencePolicy, SizedModelClass
from sharpsim.core.results import Result

PROBS = np.array([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6]])


class HandPolicy:
    """π(y|x) from a fixed table, written without any sharpsim type."""

    num_prompts, num_responses = 2, 3

    def sample_prompts(self, key, num_prompts):
        return jax.random.randint(key, (num_prompts,), 0, 2, dtype=jnp.int64)

    def sample_responses(self, key, prompts, num_samples):
        logits = jnp.log(jnp.asarray(PROBS))[prompts]
        return jax.random.categorical(key, logits[..., None, :], shape=(*prompts.shape, num_samples))

    def log_prob(self, prompts, responses):
        return jnp.log(jnp.asarray(PROBS))[prompts, responses]


class MajorityClass:
    """A hand-written model class: per prompt, all mass on the most frequent target (an MLE over the class of
    point masses), with the spaces and log|Π| of that class."""

    num_prompts, num_responses = 2, 3
    log_size = 2 * np.log(3)

    def fit(self, prompts, responses, weights=None):
        weights = jnp.ones(prompts.shape) if weights is None else weights
        counts = jnp.zeros((2, 3)).at[prompts, responses].add(weights)
        return TabularPolicy.tree_unflatten(None, (jax.nn.one_hot(jnp.argmax(counts, axis=-1), 3),
                                                   jnp.full(2, 0.5)))


def test_protocols_recognize_sharpsim_and_user_types():
    assert isinstance(HandPolicy(), Policy) and not isinstance(HandPolicy(), SequencePolicy)
    assert isinstance(TabularPolicy(PROBS), Policy)
    assert isinstance(MajorityClass(), ModelClass) and isinstance(MajorityClass(), SizedModelClass)
    assert isinstance(TabularClass.like(TabularPolicy(PROBS)), SizedModelClass)
    assert isinstance(sft_sharpen, Algorithm)
    assert not isinstance(object(), Policy)


@pytest.mark.slow
def test_hand_written_policy_through_the_oracle():
    oracle = Oracle(HandPolicy(), budget=100)
    prompts, oracle = oracle.draw_prompts(jax.random.key(0), 4)
    batch, oracle = oracle.sample(jax.random.key(1), prompts, 5)
    expected = np.log(PROBS)[np.asarray(prompts)[:, None], np.asarray(batch.responses)]
    np.testing.assert_allclose(np.asarray(batch.log_probs), expected)
    assert (int(oracle.queries.prompts), int(oracle.queries.samples)) == (4, 20)
    assert (oracle.num_prompts, oracle.num_responses) == (2, 3)


@pytest.mark.slow
def test_hand_written_class_in_sft_sharpen():
    """With N large the best-of-N pick is the argmax at each drawn prompt, so the majority fit is the argmax."""
    result, oracle = sft_sharpen(jax.random.key(3), Oracle(TabularPolicy(PROBS)), MajorityClass(), 8, 30)
    assert isinstance(result, Result)
    picks = np.asarray(result.responses)
    prompts = np.asarray(result.prompts)
    for x in set(prompts.tolist()):
        assert np.argmax(np.asarray(result.policy.probs[x])) == np.bincount(picks[prompts == x]).argmax()
    assert int(result.queries.samples) == 240 == int(oracle.queries.samples)
    # and jitted over seeds
    run = jax.jit(jax.vmap(lambda key: sft_sharpen(key, Oracle(HandPolicy()), MajorityClass(), 8, 30)[0]))
    results = run(jax.random.split(jax.random.key(4), 3))
    np.testing.assert_array_equal(np.asarray(results.queries.samples), [240] * 3)
