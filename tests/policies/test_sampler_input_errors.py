"""Regression tests of issue 12 for the samplers, scorers and decoders (``core`` and ``policies``): every input the
fuzz test found accepted silently (an out-of-range index clamped by a JAX gather), refused obscurely (a JAX or numpy
message without the argument's name) or attempted at a huge size now raises ``ValueError``/``TypeError`` whose
message names the argument. Traced inputs keep working at no cost outside checked mode, and are checked under
``sharpsim.checked``; the index conversions are checked against numpy's own ``ravel_multi_index``."""

import re
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sharpsim as ss
from sharpsim.core.sampling import sample_categorical_rows

KEY = jax.random.PRNGKey(0)
TAB = ss.TabularPolicy(np.array([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]]))  # X = 2 prompts, Y = 3 responses
ORACLE = ss.Oracle(TAB)
TREE = ss.TreePolicy.from_joint([[0.4, 0.3, 0.2, 0.1], [0.1, 0.2, 0.3, 0.4]], 2)  # X = 2, V = 2, H = 2
MARKOV = ss.MarkovPolicy(np.array([[0.7, 0.3], [0.4, 0.6]]),
                         np.array([[[[0.6, 0.4], [0.3, 0.7]]], [[[0.5, 0.5], [0.8, 0.2]]]]))


def bigram_features(prompt, tokens, position):
    previous = jnp.where(position > 0, tokens[jnp.maximum(position - 1, 0)], 0)
    token = tokens[position]
    return jnp.stack([(token == prompt % 2).astype(jnp.float64), (token == previous).astype(jnp.float64)])


LSAR = ss.LinearSoftmaxARPolicy(np.array([[1.0, -0.5], [0.3, 0.8]]), bigram_features, 2, num_prompts=2)
PROMPTS, TOKENS = np.array([0, 1]), np.array([[0, 1], [1, 0]])
ALWAYS = lambda k, running_max: k >= 2  # noqa: E731
HUGE = 10**30  # beyond int64: must be a ValueError naming the size, not an OverflowError


def _step_cases(name, method):
    """The findings of one ``next_token_log_probs``-like method (prompts, tokens [X, H=2], position)."""
    call = lambda **kw: method(**{"prompts": PROMPTS, "tokens": TOKENS, "position": 1, **kw})  # noqa: E731
    return [
        (f"{name} prompt 2 (clamped before)", lambda: call(prompts=[2, 2]), ValueError, "prompts"),
        (f"{name} prompt -1 (wrapped before)", lambda: call(prompts=[-1, -1]), ValueError, "prompts"),
        (f"{name} float prompts", lambda: call(prompts=[0.5, 0.5]), TypeError, "prompts"),
        (f"{name} string prompts", lambda: call(prompts="0"), TypeError, "prompts"),
        (f"{name} None prompts", lambda: call(prompts=None), TypeError, "prompts"),
        (f"{name} token 2 (clamped before)", lambda: call(tokens=[[0, 2], [1, 0]]), ValueError, "tokens"),
        (f"{name} token -1", lambda: call(tokens=[[0, -1], [1, 0]]), ValueError, "tokens"),
        (f"{name} float tokens", lambda: call(tokens=[[0.0, 1.0], [1.0, 0.0]]), TypeError, "tokens"),
        (f"{name} tokens without the H axis", lambda: call(tokens=[0, 1, 0]), ValueError, "tokens"),
        (f"{name} tokens longer than H", lambda: call(tokens=[[0, 1, 0], [1, 0, 1]]), ValueError, "tokens"),
        (f"{name} string tokens", lambda: call(tokens="ab"), TypeError, "tokens"),
        (f"{name} None tokens", lambda: call(tokens=None), TypeError, "tokens"),
        (f"{name} position H", lambda: call(position=2), ValueError, "position"),
        (f"{name} position -1", lambda: call(position=-1), ValueError, "position"),
        (f"{name} position 0.5", lambda: call(position=0.5), TypeError, "position"),
        (f"{name} position '1'", lambda: call(position="1"), TypeError, "position"),
        (f"{name} position None", lambda: call(position=None), TypeError, "position"),
        (f"{name} prompts not broadcasting", lambda: call(prompts=[0, 1, 0]), ValueError, "prompts"),
    ]


FINDINGS = [
    # the oracle's mask and stop rule
    ("Oracle.sample active of strings", lambda: ORACLE.sample(KEY, PROMPTS, 3, active="abc"), TypeError, "active"),
    ("Oracle.sample active of floats", lambda: ORACLE.sample(KEY, PROMPTS, 3, active=[0.5, 2.0]), TypeError,
     "active"),
    ("Oracle.sample active too long", lambda: ORACLE.sample(KEY, PROMPTS, 3, active=[True, False, True]),
     ValueError, "active"),
    ("Oracle.sample active of more axes", lambda: ORACLE.sample(KEY, PROMPTS, 3, active=[[True, False]] * 3),
     ValueError, "active"),
    ("Oracle.sample_until active of floats",
     lambda: ORACLE.sample_until(KEY, PROMPTS, 4, ALWAYS, active=[0.5, 2.0]), TypeError, "active"),
    ("Oracle.sample_until stop rule of the wrong shape",
     lambda: ORACLE.sample_until(KEY, PROMPTS, 4, lambda k, running_max: jnp.ones(5, bool)), ValueError,
     "stop_rule"),
    # tabular samplers and scorer
    ("TabularPolicy.sample_prompts zero", lambda: TAB.sample_prompts(KEY, 0), ValueError, "num_prompts"),
    ("TabularPolicy.sample_prompts True", lambda: TAB.sample_prompts(KEY, True), TypeError, "num_prompts"),
    ("TabularPolicy.sample_prompts -1", lambda: TAB.sample_prompts(KEY, -1), ValueError, "num_prompts"),
    ("TabularPolicy.sample_prompts 2.0", lambda: TAB.sample_prompts(KEY, 2.0), TypeError, "num_prompts"),
    ("TabularPolicy.sample_prompts huge", lambda: TAB.sample_prompts(KEY, HUGE), ValueError, "num_prompts"),
    ("TabularPolicy.sample_responses zero", lambda: TAB.sample_responses(KEY, PROMPTS, 0), ValueError, "num_samples"),
    ("TabularPolicy.sample_responses 2.5", lambda: TAB.sample_responses(KEY, PROMPTS, 2.5), TypeError,
     "num_samples"),
    ("TabularPolicy.sample_responses huge", lambda: TAB.sample_responses(KEY, PROMPTS, HUGE), ValueError,
     "num_samples"),
    ("TabularPolicy.sample_responses prompt 2", lambda: TAB.sample_responses(KEY, [2, 2], 3), ValueError, "prompts"),
    ("TabularPolicy.sample_responses prompt -1", lambda: TAB.sample_responses(KEY, [-1, -1], 3), ValueError,
     "prompts"),
    ("TabularPolicy.sample_responses None", lambda: TAB.sample_responses(KEY, None, 3), TypeError, "prompts"),
    ("TabularPolicy.log_prob prompt 2", lambda: TAB.log_prob([2, 2], [0, 1]), ValueError, "prompts"),
    ("TabularPolicy.log_prob response 3", lambda: TAB.log_prob(PROMPTS, [3, 3]), ValueError, "responses"),
    ("TabularPolicy.log_prob response -1", lambda: TAB.log_prob(PROMPTS, [-1, -1]), ValueError, "responses"),
    ("TabularPolicy.log_prob float responses", lambda: TAB.log_prob(PROMPTS, [0.5, 0.5]), TypeError, "responses"),
    ("TabularPolicy.log_prob dict prompts", lambda: TAB.log_prob({}, [0, 1]), TypeError, "prompts"),
    ("TabularPolicy.log_prob shapes", lambda: TAB.log_prob(PROMPTS, [0, 0, 0]), ValueError, "prompts"),
    # autoregressive samplers and scorer
    ("AutoregressivePolicy.sample_prompts zero", lambda: TREE.sample_prompts(KEY, 0), ValueError, "num_prompts"),
    ("AutoregressivePolicy.sample_prompts huge", lambda: TREE.sample_prompts(KEY, HUGE), ValueError, "num_prompts"),
    ("AutoregressivePolicy.sample_responses huge", lambda: TREE.sample_responses(KEY, PROMPTS, HUGE), ValueError,
     "num_samples"),
    ("AutoregressivePolicy.sample_responses string prompts", lambda: TREE.sample_responses(KEY, "0", 3), TypeError,
     "prompts"),
    ("AutoregressivePolicy.sample_responses None prompts", lambda: TREE.sample_responses(KEY, None, 3), TypeError,
     "prompts"),
    ("AutoregressivePolicy.log_prob None prompts", lambda: TREE.log_prob(None, TOKENS), TypeError, "prompts"),
    ("AutoregressivePolicy.log_prob string responses", lambda: TREE.log_prob(PROMPTS, "ab"), TypeError, "responses"),
    ("AutoregressivePolicy.log_prob None responses", lambda: TREE.log_prob(PROMPTS, None), TypeError, "responses"),
    # representations
    *_step_cases("TreePolicy.next_token_log_probs", TREE.next_token_log_probs),
    *_step_cases("MarkovPolicy.next_token_log_probs", MARKOV.next_token_log_probs),
    *_step_cases("LinearSoftmaxARPolicy.next_token_log_probs", LSAR.next_token_log_probs),
    *_step_cases("LinearSoftmaxARPolicy.features", LSAR.features),
    ("LinearSoftmaxARPolicy.with_theta shape", lambda: LSAR.with_theta(np.zeros(3)), ValueError, "theta"),
    ("LinearSoftmaxARPolicy.with_theta NaN", lambda: LSAR.with_theta(np.full((2, 2), np.nan)), ValueError, "theta"),
    ("LinearSoftmaxARPolicy.with_theta string", lambda: LSAR.with_theta("abc"), TypeError, "theta"),
    ("LinearSoftmaxARPolicy.with_theta None", lambda: LSAR.with_theta(None), TypeError, "theta"),
    ("TreePolicy levels None", lambda: ss.TreePolicy(None), TypeError, "levels"),
    ("TreePolicy.from_logits empty", lambda: ss.TreePolicy.from_logits([]), ValueError, "level_logits"),
    ("TreePolicy.from_logits string", lambda: ss.TreePolicy.from_logits("abc"), TypeError, "level_logits"),
    ("TreePolicy.from_logits None", lambda: ss.TreePolicy.from_logits(None), TypeError, "level_logits"),
    ("TreePolicy.from_logits shape",
     lambda: ss.TreePolicy.from_logits([np.zeros((2, 1, 2)), np.zeros((2, 3, 2))]), ValueError, "level_logits"),
    ("TreePolicy.from_logits NaN", lambda: ss.TreePolicy.from_logits([np.full((2, 1, 2), np.nan)]), ValueError,
     "level_logits"),
    ("TreePolicy.from_logits all -inf", lambda: ss.TreePolicy.from_logits([np.full((2, 1, 2), -np.inf)]),
     ValueError, "level_logits"),
    ("TreePolicy.from_logits strings", lambda: ss.TreePolicy.from_logits([[[["a", "b"]]]]), TypeError,
     "level_logits"),
    ("MarkovPolicy.from_logits NaN initial",
     lambda: ss.MarkovPolicy.from_logits(np.full((2, 2), np.nan), np.zeros((2, 1, 2, 2))), ValueError,
     "initial_logits"),
    ("MarkovPolicy.from_logits all -inf initial",
     lambda: ss.MarkovPolicy.from_logits(np.full((2, 2), -np.inf), np.zeros((2, 1, 2, 2))), ValueError,
     "initial_logits"),
    ("MarkovPolicy.from_logits empty vocabulary",
     lambda: ss.MarkovPolicy.from_logits(np.zeros((2, 0)), np.zeros((2, 1, 2, 2))), ValueError, "initial_logits"),
    ("MarkovPolicy.from_logits string initial", lambda: ss.MarkovPolicy.from_logits("abc", np.zeros((2, 1, 2, 2))),
     TypeError, "initial_logits"),
    ("MarkovPolicy.from_logits None initial", lambda: ss.MarkovPolicy.from_logits(None, np.zeros((2, 1, 2, 2))),
     TypeError, "initial_logits"),
    ("MarkovPolicy.from_logits NaN transitions",
     lambda: ss.MarkovPolicy.from_logits(np.zeros((2, 2)), np.full((2, 1, 2, 2), np.nan)), ValueError,
     "transition_logits"),
    ("MarkovPolicy.from_logits transition shape",
     lambda: ss.MarkovPolicy.from_logits(np.zeros((2, 2)), np.zeros((2, 1, 2, 3))), ValueError, "transition_logits"),
    ("MarkovPolicy.from_logits None transitions", lambda: ss.MarkovPolicy.from_logits(np.zeros((2, 2)), None),
     TypeError, "transition_logits"),
    # decoding
    ("greedy_decode string prompts", lambda: ss.greedy_decode(TREE, "0"), TypeError, "prompts"),
    ("greedy_decode prompt 2", lambda: ss.greedy_decode(TREE, [2]), ValueError, "prompts"),
    ("beam_search dict prompts", lambda: ss.beam_search(TREE, 2, {}), TypeError, "prompts"),
    ("beam_search huge width", lambda: ss.beam_search(TREE, HUGE), ValueError, "width"),
    ("beam_search width 10**9", lambda: ss.beam_search(TREE, 10**9), ValueError, "width"),
    ("sample_with_temperature None prompts", lambda: ss.sample_with_temperature(KEY, MARKOV, None, 2, 0.5),
     TypeError, "prompts"),
    ("sample_with_temperature huge", lambda: ss.sample_with_temperature(KEY, MARKOV, PROMPTS, HUGE, 0.5), ValueError,
     "num_samples"),
    ("in_argmax_set string sequences", lambda: ss.in_argmax_set(TREE, "ab"), TypeError, "sequences"),
    ("in_argmax_set None sequences", lambda: ss.in_argmax_set(TREE, None), TypeError, "sequences"),
    ("viterbi_decode of a tree", lambda: ss.viterbi_decode(TREE), TypeError, "policy"),
    ("viterbi_decode of None", lambda: ss.viterbi_decode(None), TypeError, "policy"),
    # the enumeration order
    ("sequences_to_indices token 2", lambda: ss.sequences_to_indices([[0, 2]], 2), ValueError, "sequences"),
    ("sequences_to_indices token -1", lambda: ss.sequences_to_indices([[0, -1]], 2), ValueError, "sequences"),
    ("sequences_to_indices float tokens", lambda: ss.sequences_to_indices([[0.5, 1.0]], 2), TypeError, "sequences"),
    ("sequences_to_indices None", lambda: ss.sequences_to_indices(None, 2), TypeError, "sequences"),
    ("sequences_to_indices scalar", lambda: ss.sequences_to_indices(1, 2), ValueError, "sequences"),
    ("sequences_to_indices vocab 1", lambda: ss.sequences_to_indices([[0, 0]], 1), ValueError, "vocab_size"),
    ("sequences_to_indices vocab 2.0", lambda: ss.sequences_to_indices([[0, 0]], 2.0), TypeError, "vocab_size"),
    ("sequences_to_indices vocab '3'", lambda: ss.sequences_to_indices([[0, 0]], "3"), TypeError, "vocab_size"),
    ("sequences_to_indices vocab inf", lambda: ss.sequences_to_indices([[0, 0]], np.inf), TypeError, "vocab_size"),
    ("sequences_to_indices huge vocab", lambda: ss.sequences_to_indices([[0, 0]], HUGE), ValueError, "vocab_size"),
    ("indices_to_sequences index 4", lambda: ss.indices_to_sequences([4], 2, 2), ValueError, "indices"),
    ("indices_to_sequences index -1", lambda: ss.indices_to_sequences([-1], 2, 2), ValueError, "indices"),
    ("indices_to_sequences float index", lambda: ss.indices_to_sequences([0.5], 2, 2), TypeError, "indices"),
    ("indices_to_sequences string index", lambda: ss.indices_to_sequences("ab", 2, 2), TypeError, "indices"),
    ("indices_to_sequences horizon 0", lambda: ss.indices_to_sequences([0], 2, 0), ValueError, "horizon"),
    ("indices_to_sequences horizon 2.5", lambda: ss.indices_to_sequences([0], 2, 2.5), TypeError, "horizon"),
    ("indices_to_sequences horizon None", lambda: ss.indices_to_sequences([0], 2, None), TypeError, "horizon"),
    ("indices_to_sequences horizon 10**9", lambda: ss.indices_to_sequences([0], 2, 10**9), ValueError, "horizon"),
    ("indices_to_sequences vocab 1", lambda: ss.indices_to_sequences([0], 1, 2), ValueError, "vocab_size"),
    ("indices_to_sequences vocab nan", lambda: ss.indices_to_sequences([0], np.nan, 2), TypeError, "vocab_size"),
]


@pytest.mark.parametrize("name, call, error, argument", FINDINGS, ids=[case[0] for case in FINDINGS])
def test_each_fuzz_finding_is_refused_naming_the_argument(name, call, error, argument):
    with pytest.raises(error) as raised:
        call()
    message = str(raised.value)
    assert re.search(rf"(?<![A-Za-z0-9_]){re.escape(argument)}(?![A-Za-z0-9_])", message), message


def test_a_huge_horizon_is_refused_at_once():
    start = time.perf_counter()
    with pytest.raises(ValueError, match="horizon"):
        ss.indices_to_sequences([0], 2, HUGE)  # 2**(10**30) must never be computed
    assert time.perf_counter() - start < 1.0


def test_out_of_range_indices_give_the_index_and_the_allowed_range():
    with pytest.raises(ValueError, match=re.escape("prompts must lie in [0, 2); entry (1,) is 5")):
        TAB.log_prob([0, 5], [0, 1])
    with pytest.raises(ValueError, match=re.escape("tokens must lie in [0, 2); entry (0, 1) is 2")):
        TREE.next_token_log_probs(PROMPTS, [[0, 2], [1, 0]], 1)
    with pytest.raises(ValueError, match=re.escape("position must be an integer in [0, 2) (0-based), got 2")):
        MARKOV.next_token_log_probs(PROMPTS, TOKENS, 2)


@pytest.mark.slow  # compile-heavy (seconds): the slow suite runs it
def test_valid_calls_give_the_numpy_answers():
    log_table = np.log(np.array([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]]))
    np.testing.assert_allclose(np.asarray(TAB.log_prob([0, 1, 1], [2, 0, 1])), log_table[[0, 1, 1], [2, 0, 1]],
                               rtol=1e-12)
    # Markov: position 1 conditions on the previous token (tokens[:, 0] = [0, 1]) at prompts [0, 1]
    expected = np.log(np.array([[0.6, 0.4], [0.8, 0.2]]))
    np.testing.assert_allclose(np.asarray(MARKOV.next_token_log_probs(PROMPTS, TOKENS, 1)), expected, rtol=1e-12)


@pytest.mark.slow  # compile-heavy (seconds): the slow suite runs it
@settings(max_examples=30, deadline=None)
@given(st.integers(2, 5), st.integers(1, 6), st.data())
def test_index_conversions_match_numpy_ravel_multi_index(vocab, horizon, data):
    sequences = np.array(data.draw(st.lists(st.lists(st.integers(0, vocab - 1), min_size=horizon,
                                                     max_size=horizon), min_size=1, max_size=4)))
    expected = np.ravel_multi_index(tuple(sequences.T), (vocab,) * horizon)
    np.testing.assert_array_equal(np.asarray(ss.sequences_to_indices(sequences, vocab)), expected)
    np.testing.assert_array_equal(np.asarray(ss.indices_to_sequences(expected, vocab, horizon)), sequences)


@pytest.mark.slow  # compile-heavy (seconds): the slow suite runs it
def test_traced_samplers_carry_no_checks_outside_checked_mode_and_raise_under_checked():
    prompts = jnp.array([0, 1])
    checked_jaxpr = jax.make_jaxpr(lambda p: TAB.sample_responses(KEY, p, 3))(prompts)
    cdf, guide = TAB._sampler_tables()  # a concrete policy samples from the CDF (and guide) it keeps
    plain_jaxpr = jax.make_jaxpr(
        lambda p: sample_categorical_rows(KEY, TAB.probs, p, 3, cdf=cdf, guide=guide))(prompts)
    assert len(checked_jaxpr.eqns) == len(plain_jaxpr.eqns)  # the public sampler adds no operation

    sample = jax.jit(lambda p: TAB.sample_responses(KEY, p, 3))
    assert sample(prompts).shape == (2, 3)
    with pytest.raises(ValueError, match=re.escape("prompts must lie in [0, 2)")):
        ss.checked(sample)(jnp.array([0, 2]))
    with pytest.raises(TypeError, match="prompts must be integer prompt indices"):  # dtype: at trace time
        sample(jnp.array([0.0, 1.0]))

    step = jax.jit(lambda position: TREE.next_token_log_probs(PROMPTS, TOKENS, position))
    np.testing.assert_allclose(np.asarray(step(1)), np.asarray(TREE.next_token_log_probs(PROMPTS, TOKENS, 1)))
    with pytest.raises(ValueError, match=re.escape("position must lie in [0, 2)")):
        ss.checked(step)(2)
    with pytest.raises(ValueError, match=re.escape("tokens must lie in [0, 2)")):
        ss.checked(jax.jit(lambda t: TREE.log_prob(PROMPTS, t)))(jnp.array([[0, 1], [1, 5]]))
