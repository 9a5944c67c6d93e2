"""Markov and multi-layer linear-softmax representations against numpy references, their validation, and
the interface the rest of sharpsim relies on: Oracle, best-of-N, referee quantities, sequence masses."""

import functools
import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests.numpy_reference import chi_square_pvalue
from sharpsim import Oracle, best_of_n, coverage_coefficient, kl_divergence, margin, sharpening_error, sharpness
from sharpsim.policies.autoregressive import AutoregressivePolicy, sequences_to_indices
from sharpsim.policies.tree import TreePolicy
from sharpsim.referee.sequence_mass import estimate_target_mass, sequence_sharpening_error, target_mass
from sharpsim.policies.linear_softmax import LinearSoftmaxARPolicy
from sharpsim.policies.markov import MarkovPolicy


# ---- Markov ------------------------------------------------------------------------------------------
def random_markov(rng, num_prompts, vocab, horizon):
    return rng.dirichlet(np.ones(vocab), size=num_prompts), rng.dirichlet(np.ones(vocab), size=(num_prompts, horizon - 1, vocab))


def np_markov_prob(initial, transitions, x, sequence):
    return initial[x, sequence[0]] * math.prod(transitions[x, h - 1, sequence[h - 1], sequence[h]]
                                               for h in range(1, len(sequence)))


@pytest.mark.slow
@pytest.mark.parametrize("vocab,horizon", [(2, 1), (2, 5), (3, 3)])
def test_markov_enumeration_and_log_prob_match_numpy(vocab, horizon):
    rng = np.random.default_rng(vocab + horizon)
    initial, transitions = random_markov(rng, 2, vocab, horizon)
    policy = MarkovPolicy(initial, transitions)
    sequences = list(itertools.product(range(vocab), repeat=horizon))
    expected = np.array([[np_markov_prob(initial, transitions, x, s) for s in sequences] for x in range(2)])
    np.testing.assert_allclose(policy.to_tabular().probs, expected, rtol=1e-12)
    responses = jnp.asarray(sequences)
    np.testing.assert_allclose(policy.log_prob(jnp.array([[0], [1]]), responses[None]), np.log(expected), rtol=1e-12)
    assert policy.horizon == horizon and policy.vocab_size == vocab


def test_markov_sampling_matches_enumeration():
    rng = np.random.default_rng(7)
    policy = MarkovPolicy(*random_markov(rng, 1, 2, 4))
    samples = policy.sample_responses(jax.random.key(3), jnp.array([0]), 40_000)[0]
    counts = np.bincount(np.asarray(sequences_to_indices(samples, 2)), minlength=16)
    assert chi_square_pvalue(counts, np.asarray(policy.to_tabular().probs[0])) > 1e-4


def test_markov_handles_long_horizons_without_enumeration():
    rng = np.random.default_rng(0)
    policy = MarkovPolicy(*random_markov(rng, 3, 4, 200))
    samples = policy.sample_responses(jax.random.key(0), jnp.arange(3), 8)
    assert samples.shape == (3, 8, 200)
    log_probs = policy.log_prob(jnp.arange(3)[:, None], samples)
    initial, transitions = np.asarray(policy.initial), np.asarray(policy.transitions)
    s = np.asarray(samples)
    expected = [[np.log(initial[x, s[x, j, 0]]) + sum(np.log(transitions[x, h - 1, s[x, j, h - 1], s[x, j, h]])
                                                     for h in range(1, 200)) for j in range(8)] for x in range(3)]
    np.testing.assert_allclose(log_probs, expected, rtol=1e-10)
    with pytest.raises(ValueError, match="4\\^200"):
        policy.to_tabular()


def test_markov_validation_messages():
    rng = np.random.default_rng(0)
    initial, transitions = random_markov(rng, 2, 3, 4)
    bad = transitions.copy()
    bad[1, 2, 0] = [0.5, 0.5, 0.5]
    with pytest.raises(ValueError, match="prompt 1, position 3, previous token 0 must sum to 1"):
        MarkovPolicy(initial, bad)
    bad_initial = initial.copy()
    bad_initial[0] = [np.inf, 0, 0]
    with pytest.raises(ValueError, match="prompt 0, position 0 must be finite"):
        MarkovPolicy(bad_initial, transitions)
    with pytest.raises(ValueError, match="transitions must have shape"):
        MarkovPolicy(initial, transitions[:, :, :2])
    with pytest.raises(ValueError, match="initial must have shape"):
        MarkovPolicy(initial[0], transitions)
    with pytest.raises(ValueError, match="prompt_probs has shape"):
        MarkovPolicy(initial, transitions, prompt_probs=[1.0])


def test_markov_from_logits_and_pytree():
    policy = MarkovPolicy.from_logits(np.zeros((1, 2)), np.zeros((1, 2, 2, 2)))
    np.testing.assert_allclose(policy.to_tabular().probs, np.full((1, 8), 0.125))
    doubled = jax.jit(lambda p: jax.tree_util.tree_map(lambda a: a, p))(policy)
    assert isinstance(doubled, MarkovPolicy) and doubled.horizon == 3


# ---- linear softmax ------------------------------------------------------------------------------------
VOCAB, HORIZON = 3, 3
DIM = VOCAB * VOCAB + VOCAB


def bigram_features(prompt, tokens, position):
    """onehot(prev·|V| + candidate) (prev = 0 at position 0) ⊕ [prompt = 1]·onehot(candidate)."""
    previous = jnp.where(position > 0, tokens[jnp.maximum(position - 1, 0)], 0)
    candidate = tokens[position]
    return jnp.concatenate([jax.nn.one_hot(previous * VOCAB + candidate, VOCAB * VOCAB),
                            (prompt == 1) * jax.nn.one_hot(candidate, VOCAB)])


def np_bigram_features(prompt, prefix, candidate):
    phi = np.zeros(DIM)
    previous = prefix[-1] if len(prefix) else 0
    phi[previous * VOCAB + candidate] = 1.0
    if prompt == 1:
        phi[VOCAB * VOCAB + candidate] = 1.0
    return phi


def np_linear_softmax_prob(theta, prompt, sequence):
    prob = 1.0
    for h, token in enumerate(sequence):
        logits = np.array([np_bigram_features(prompt, sequence[:h], v) @ theta[h] for v in range(VOCAB)])
        weights = np.exp(logits - logits.max())
        prob *= weights[token] / weights.sum()
    return prob


@pytest.mark.slow
def test_linear_softmax_matches_numpy():
    theta = np.random.default_rng(0).normal(size=(HORIZON, DIM)) * 2
    policy = LinearSoftmaxARPolicy(theta, bigram_features, VOCAB, prompt_probs=[0.25, 0.75])
    sequences = list(itertools.product(range(VOCAB), repeat=HORIZON))
    expected = np.array([[np_linear_softmax_prob(theta, x, s) for s in sequences] for x in range(2)])
    np.testing.assert_allclose(policy.to_tabular().probs, expected, rtol=1e-11)
    np.testing.assert_allclose(policy.log_prob(1, jnp.asarray(sequences)), np.log(expected[1]), rtol=1e-11)
    samples = policy.sample_responses(jax.random.key(0), jnp.array([1]), 30_000)[0]
    counts = np.bincount(np.asarray(sequences_to_indices(samples, VOCAB)), minlength=VOCAB**HORIZON)
    assert chi_square_pvalue(counts, expected[1]) > 1e-4
    features = policy.features(jnp.array([1]), jnp.array([[2, 0, 0]]), 1)
    np.testing.assert_array_equal(features[0], [np_bigram_features(1, [2], v) for v in range(VOCAB)])


def test_linear_softmax_validation():
    theta = np.zeros((HORIZON, DIM))
    too_long = theta.copy()
    too_long[1, :2] = [3.0, 4.0]
    with pytest.raises(ValueError, match=r"theta\[1\] has norm 5, above norm_bound=1"):
        LinearSoftmaxARPolicy(too_long, bigram_features, VOCAB, norm_bound=1.0)
    with pytest.raises(ValueError, match="theta must have shape \\[H, d\\]"):
        LinearSoftmaxARPolicy(np.zeros(DIM), bigram_features, VOCAB)
    with pytest.raises(ValueError, match="theta must be finite"):
        LinearSoftmaxARPolicy(np.full((HORIZON, DIM), np.nan), bigram_features, VOCAB)
    with pytest.raises(ValueError, match=r"feature_map must return shape \(d,\) = \(5,\)"):
        LinearSoftmaxARPolicy(np.zeros((HORIZON, 5)), bigram_features, VOCAB)
    with pytest.raises(TypeError, match="feature_map must be callable"):
        LinearSoftmaxARPolicy(theta, None, VOCAB)
    with pytest.raises(ValueError, match="vocab_size must be an integer >= 2"):
        LinearSoftmaxARPolicy(theta, bigram_features, 1)
    with pytest.raises(ValueError, match="feature_map.*failed when traced"):
        LinearSoftmaxARPolicy(theta, lambda x, t, h: float(h), VOCAB)


@pytest.mark.slow  # compiles several jitted programs; the slow suite (CI) runs it
def test_enumeration_limit_applies_to_every_representation():
    for policy in example_policies().values():
        small = policy.with_max_sequences(26)
        assert type(small) is type(policy) and small.max_sequences == 26
        with pytest.raises(ValueError, match="3\\^3 = 27 sequences, above the limit max_sequences=26"):
            small.to_tabular()
        np.testing.assert_allclose(small.to_tabular(max_sequences=27).probs, policy.to_tabular().probs)


# ---- the interface used by Oracle, best-of-N and the referee --------------------------------------------
@functools.lru_cache(maxsize=None)
def example_policies():
    rng = np.random.default_rng(11)
    tree = TreePolicy([rng.dirichlet(np.ones(3) * 0.5, size=(2, 3**h)) for h in range(3)], prompt_probs=[0.4, 0.6])
    markov = MarkovPolicy(*random_markov(rng, 2, 3, 3), prompt_probs=[0.4, 0.6])
    linear = LinearSoftmaxARPolicy(rng.normal(size=(HORIZON, DIM)) * 2, bigram_features, VOCAB, prompt_probs=[0.4, 0.6])
    return {"tree": tree, "markov": markov, "linear": linear}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tree", "markov", "linear"])
def test_oracle_samples_and_evaluates_autoregressive_policies(name):
    policy = example_policies()[name]
    oracle = Oracle(policy)
    prompts, oracle = oracle.draw_prompts(jax.random.key(0), 4)
    batch, oracle = oracle.sample(jax.random.key(1), prompts, 5)
    assert batch.responses.shape == (4, 5, 3) and batch.log_probs.shape == (4, 5)
    table = np.asarray(policy.to_tabular().probs)
    index = np.asarray(sequences_to_indices(batch.responses, 3))
    np.testing.assert_allclose(batch.log_probs, np.log(table[np.asarray(prompts)[:, None], index]), rtol=1e-12)
    log_probs, oracle = oracle.evaluate(prompts, batch.responses[:, 0])
    np.testing.assert_allclose(log_probs, batch.log_probs[:, 0])
    assert (int(oracle.queries.prompts), int(oracle.queries.samples), int(oracle.queries.evaluations)) == (4, 20, 4)


def test_best_of_n_runs_on_autoregressive_policies():
    policy = example_policies()["tree"]
    result, oracle = best_of_n(jax.random.key(0), Oracle(policy), jnp.array([0, 1, 1]), 8)
    assert result.responses.shape == (3, 3)
    np.testing.assert_allclose(result.log_probs, policy.log_prob(jnp.array([0, 1, 1]), result.responses))


@pytest.mark.parametrize("name", ["tree", "markov", "linear"])
def test_referee_quantities_through_enumeration(name):
    base = example_policies()[name]
    learned = AutoregressivePolicy.from_joint(np.full((2, 27), 1 / 27) * 0.5 + 0.5 * np.eye(27)[[5, 20]], 3,
                                              prompt_probs=[0.4, 0.6])
    table = np.asarray(base.to_tabular().probs)
    star = table.argmax(axis=1)
    learned_table = np.asarray(learned.to_tabular().probs)
    np.testing.assert_allclose(sharpness(learned, base), learned_table[[0, 1], star], rtol=1e-12)
    np.testing.assert_allclose(coverage_coefficient(base), 0.4 / table[0].max() + 0.6 / table[1].max(), rtol=1e-12)
    runner_up = np.sort(table, axis=1)[:, -2]
    np.testing.assert_allclose(margin(base), min(table.max(axis=1) / runner_up - 1), rtol=1e-10)
    kl = sum(mu * np.sum(learned_table[x] * np.log(learned_table[x] / table[x])) for x, mu in enumerate([0.4, 0.6]))
    np.testing.assert_allclose(kl_divergence(learned, base), kl, rtol=1e-10)
    # the sequence-level masses agree with the referee when the argmax is unique
    from sharpsim.policies.autoregressive import indices_to_sequences

    targets = indices_to_sequences(jnp.asarray(star), 3, 3)
    np.testing.assert_allclose(target_mass(learned, targets), sharpness(learned, base), rtol=1e-12)
    for delta in (0.3, 0.6, 0.9):
        np.testing.assert_allclose(sequence_sharpening_error(learned, targets, delta, base.prompt_probs),
                                   sharpening_error(learned, base, delta))


def test_monte_carlo_target_mass_interval_covers_exact_mass():
    policy = example_policies()["markov"]
    targets = jnp.array([[0, 1, 2], [2, 2, 0]])
    exact = np.asarray(target_mass(policy, targets))
    estimate = estimate_target_mass(jax.random.key(4), policy, targets, 20_000, confidence=0.999)
    assert np.all(estimate.lower <= exact) and np.all(exact <= estimate.upper)
    assert np.all(np.abs(estimate.estimate - exact) < 0.02) and estimate.num_samples == 20_000
    with pytest.raises(ValueError, match=r"targets must hold one sequence per prompt, shape \[X, H\] = \(2, 3\)"):
        target_mass(policy, targets[0])
    with pytest.raises(ValueError, match="tokens must lie in"):
        target_mass(policy, targets + 5)
    with pytest.raises(TypeError, match="policy must be an AutoregressivePolicy"):
        target_mass(policy.to_tabular(), targets)
    with pytest.raises(ValueError, match="delta must lie in"):
        sequence_sharpening_error(policy, targets, 1.5)
