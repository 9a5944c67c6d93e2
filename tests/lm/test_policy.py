"""The trained-network policy: exact log π(y|x) by teacher forcing against a numpy forward pass, enumeration,
sampling with temperature, greedy and beam decoding, jit/vmap, and the sealed oracle with the built-in algorithms."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sharpsim
from sharpsim.lm.model import network_arrays
from sharpsim.lm.policy import TransformerPolicy
from sharpsim.lm.task import ModularSumTask
from tests.lm.test_model import CONFIG, TASK, numpy_logits, random_network

POLICY = TransformerPolicy(random_network(5, scale=2.5), TASK)
SEQUENCES = np.asarray(list(itertools.product(range(TASK.modulus), repeat=TASK.horizon)))  # lexicographic


def numpy_log_softmax(logits):
    shifted = logits - logits.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def numpy_operands(prompt):
    p, k = TASK.modulus, TASK.num_operands
    return np.asarray([(prompt // p ** (k - 1 - i)) % p for i in range(k)])


def numpy_log_joint():
    """float64 [X, |V|^H]: log π(y|x) from the numpy forward pass, one sequence at a time."""
    arrays = network_arrays(POLICY.network)
    table = np.zeros((TASK.num_prompts, len(SEQUENCES)))
    for prompt in range(TASK.num_prompts):
        for index, sequence in enumerate(SEQUENCES):
            logits = numpy_logits(arrays, CONFIG.num_heads, numpy_operands(prompt), sequence, TASK.separator)
            table[prompt, index] = numpy_log_softmax(logits)[np.arange(TASK.horizon), sequence].sum()
    return table


LOG_JOINT = numpy_log_joint()


def test_protocol_spaces_and_pytree():
    assert isinstance(POLICY, sharpsim.SequencePolicy)
    assert (POLICY.num_prompts, POLICY.vocab_size, POLICY.horizon, POLICY.num_responses) == (27, 3, 2, 9)
    leaves = jax.tree.leaves(POLICY)
    assert all(isinstance(leaf, jax.Array) and leaf.dtype == jnp.float64 for leaf in leaves)
    assert len(leaves) == len(jax.tree.leaves(POLICY.network)) + 1  # the weights and μ


@pytest.mark.slow  # compile-heavy (seconds): the slow suite runs it
def test_log_prob_is_exact_teacher_forcing_in_float64():
    prompts = np.arange(TASK.num_prompts)[:, None]
    log_probs = POLICY.log_prob(prompts, SEQUENCES[None])
    assert log_probs.dtype == jnp.float64 and log_probs.shape == (27, 9)
    np.testing.assert_allclose(np.asarray(log_probs), LOG_JOINT, rtol=1e-12, atol=1e-12)
    # the per-position path (what sampling and decoding use) agrees with the one-pass path
    steps = sum(jnp.take_along_axis(POLICY.next_token_log_probs(prompts, SEQUENCES[None], h),
                                    jnp.asarray(SEQUENCES[None, :, h, None]), axis=-1)[..., 0]
                for h in range(TASK.horizon))
    np.testing.assert_allclose(np.asarray(steps), LOG_JOINT, rtol=1e-12, atol=1e-12)


@pytest.mark.slow  # compile-heavy (seconds): the slow suite runs it
def test_to_tabular_enumerates_the_sequence_law():
    table = POLICY.to_tabular()
    np.testing.assert_allclose(np.asarray(table.probs), np.exp(LOG_JOINT), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(np.asarray(table.probs).sum(-1), 1.0, atol=1e-12)


def numpy_tempered_law(prompt, temperature):
    """The token-level tempered sequence law at one prompt, from the numpy conditionals."""
    arrays = network_arrays(POLICY.network)
    law = np.zeros(len(SEQUENCES))
    for index, sequence in enumerate(SEQUENCES):
        logits = numpy_logits(arrays, CONFIG.num_heads, numpy_operands(prompt), sequence, TASK.separator)
        law[index] = np.exp(numpy_log_softmax(logits / temperature)[np.arange(TASK.horizon), sequence].sum())
    return law


@pytest.mark.slow  # compile-heavy (seconds): the slow suite runs it
@pytest.mark.parametrize("temperature", [1.0, 0.5])
def test_sampling_with_temperature_follows_the_law(temperature):
    prompts = jnp.asarray([4, 17])
    draws = POLICY.sample_responses(jax.random.key(1), prompts, 20000, temperature=temperature)
    assert draws.shape == (2, 20000, TASK.horizon)
    index = np.asarray(sharpsim.sequences_to_indices(draws, TASK.modulus))
    for row, prompt in enumerate(np.asarray(prompts)):
        empirical = np.bincount(index[row], minlength=9) / 20000
        expected = numpy_tempered_law(prompt, temperature)
        # 20000 draws: each frequency within 5 standard errors
        np.testing.assert_array_less(np.abs(empirical - expected), 5 * np.sqrt(expected * (1 - expected) / 20000)
                                     + 1e-3)


@pytest.mark.slow  # compile-heavy (seconds): the slow suite runs it
def test_greedy_and_beam_decoding():
    greedy = np.asarray(sharpsim.greedy_decode(POLICY))
    arrays = network_arrays(POLICY.network)
    for prompt in range(TASK.num_prompts):
        tokens = np.zeros(TASK.horizon, np.int64)
        for h in range(TASK.horizon):
            logits = numpy_logits(arrays, CONFIG.num_heads, numpy_operands(prompt), tokens, TASK.separator)
            tokens[h] = np.argmax(logits[h])
        np.testing.assert_array_equal(greedy[prompt], tokens)
    beam = sharpsim.beam_search(POLICY, TASK.modulus ** (TASK.horizon - 1))  # exact width
    best = LOG_JOINT.argmax(-1)
    np.testing.assert_array_equal(np.asarray(beam.sequences), SEQUENCES[best])
    np.testing.assert_allclose(np.asarray(beam.log_probs), LOG_JOINT.max(-1), rtol=1e-12)


@pytest.mark.slow  # compile-heavy (seconds): the slow suite runs it
def test_jit_and_vmap_over_policies():
    other = TransformerPolicy(random_network(6, scale=2.5), TASK)
    stacked = jax.tree.map(lambda a, b: jnp.stack([a, b]), POLICY, other)
    prompts, responses = jnp.asarray([0, 5, 26]), jnp.asarray(SEQUENCES[[1, 4, 8]])
    batched = jax.jit(jax.vmap(lambda policy: policy.log_prob(prompts, responses)))(stacked)
    np.testing.assert_allclose(np.asarray(batched[0]), np.asarray(POLICY.log_prob(prompts, responses)), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(batched[1]), np.asarray(other.log_prob(prompts, responses)), rtol=1e-12)


@pytest.mark.slow
def test_sampling_and_decoding_under_vmap():
    prompts = jnp.asarray([0, 5, 26])
    keys = jax.random.split(jax.random.key(0), 3)
    draws = jax.jit(jax.vmap(lambda key: POLICY.sample_responses(key, prompts, 4)))(keys)
    for row, key in enumerate(keys):
        np.testing.assert_array_equal(np.asarray(draws[row]), np.asarray(POLICY.sample_responses(key, prompts, 4)))
    other = TransformerPolicy(random_network(6, scale=2.5), TASK)
    stacked = jax.tree.map(lambda a, b: jnp.stack([a, b]), POLICY, other)
    greedy = jax.vmap(lambda policy: sharpsim.greedy_decode(policy, prompts))(stacked)
    np.testing.assert_array_equal(np.asarray(greedy[1]), np.asarray(sharpsim.greedy_decode(other, prompts)))


@pytest.mark.slow  # compile-heavy (seconds): the slow suite runs it
def test_through_the_oracle_best_of_n_and_sft():
    oracle = sharpsim.Oracle(POLICY)
    assert (oracle.vocab_size, oracle.horizon, oracle.num_prompts) == (3, 2, 27)
    prompts = jnp.arange(27)
    result, charged = sharpsim.best_of_n(jax.random.key(2), oracle, prompts, 200)
    assert int(charged.queries.samples) == 27 * 200
    index = np.asarray(sharpsim.sequences_to_indices(result.responses, 3))
    np.testing.assert_allclose(np.asarray(result.log_probs), LOG_JOINT[np.arange(27), index], rtol=1e-12)
    # every argmax has mass ≥ 1/9, so 200 draws miss it at some prompt with probability < 27·(8/9)^200 < 1e-9
    np.testing.assert_array_equal(index, LOG_JOINT.argmax(-1))
    log_probs, _ = oracle.evaluate(prompts, jnp.asarray(SEQUENCES[np.zeros(27, int)]))
    np.testing.assert_allclose(np.asarray(log_probs), LOG_JOINT[:, 0], rtol=1e-12)
    # SFT-Sharpening through the same oracle (same draw shapes: the compiled sampler is reused)
    sft, charged = sharpsim.sft_sharpen(jax.random.key(4), oracle, sharpsim.TabularClass.like(POLICY), 27, 200)
    assert int(charged.queries.samples) == 27 * 200 and sft.policy.probs.shape == (27, 9)
    picked = np.asarray(sharpsim.sequences_to_indices(sft.responses, 3))
    np.testing.assert_array_equal(picked, LOG_JOINT.argmax(-1)[np.asarray(sft.prompts)])


def test_bad_input():
    with pytest.raises(TypeError, match="task"):
        TransformerPolicy(POLICY.network, {"modulus": 3})
    with pytest.raises(TypeError, match="network"):
        TransformerPolicy("weights", TASK)
    with pytest.raises(ValueError, match="vocabulary"):
        TransformerPolicy(POLICY.network, ModularSumTask(modulus=4, num_operands=3))
    with pytest.raises(ValueError, match="prompt_probs"):
        TransformerPolicy(POLICY.network, TASK, prompt_probs=np.ones(5))
    with pytest.raises(ValueError, match="responses"):
        POLICY.log_prob(0, jnp.asarray([[0, 3]]))
    with pytest.raises(ValueError, match="prompts"):
        POLICY.log_prob(27, jnp.asarray([[0, 1]]))
    with pytest.raises(ValueError, match="temperature"):
        POLICY.sample_responses(jax.random.key(0), jnp.asarray([0]), 2, temperature=0.0)
