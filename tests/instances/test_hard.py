"""The hard instance family of Appendix H against a plain-numpy construction: μ, P_j, argmax sets, margins,
coverage, the sampler and the theorem's parameter choice (the class itself: ``tests/classes/test_hard.py``)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sharpsim  # noqa: F401
from sharpsim.instances.registry import family_names, make
from sharpsim.classes.hard import HardClass, minimum_candidates
from sharpsim.instances.hard import hard_parameters
from sharpsim.referee.quantities import argmax_mask, coverage_coefficient, prompt_margins


def numpy_hard(d, M, delta, gamma, index):
    """Appendix H written out: rows [d+1, M+1], μ [d+1]; index is 0-based (argmax of x_i is response index[i-1]+1)."""
    a = 1.0 / ((1.0 - gamma) * M)
    b = (1.0 / M) * (1.0 - gamma / ((M - 1) * (1.0 - gamma)))
    table = np.zeros((d + 1, M + 1))
    table[0, 0] = 1.0
    for i in range(1, d + 1):
        for j in range(1, M + 1):
            table[i, j] = a if j == index[i - 1] + 1 else b
    mu = np.array([1.0 - delta] + [delta / d] * d)
    return table, mu


def numpy_argmax_sets(table, gamma):
    return table >= (1.0 - gamma) * table.max(axis=1, keepdims=True)


instances = st.tuples(st.integers(1, 5), st.integers(2, 9), st.floats(0.01, 0.99), st.sampled_from([0.5, 0.25, 0.6]),
                      st.integers(0, 2**31 - 1))


def _valid(d, M, gamma):
    return M >= minimum_candidates(gamma)


def test_make_builds_the_member_of_the_given_index():
    index = np.array([4, 0, 2])
    policy = make("hard", num_rare=3, num_candidates=5, delta=0.3, index=index)
    table, mu = numpy_hard(3, 5, 0.3, 0.5, index)
    np.testing.assert_allclose(policy.to_tabular().probs, table, rtol=1e-13)
    np.testing.assert_allclose(policy.prompt_probs, mu, rtol=1e-13)


@settings(deadline=None, max_examples=30, derandomize=True)
@given(instances)
@pytest.mark.slow  # compiles several jitted programs; the slow suite (CI) runs it
def test_family_matches_numpy_construction(params):
    """Every (d, M) is embedded in one padded shape, so the jitted referee compiles once for all examples."""
    d, M, delta, gamma, seed = params
    if not _valid(d, M, gamma):
        return
    index = np.random.default_rng(seed).integers(0, M, size=d)
    padded_index = np.concatenate([index, np.zeros(5 - d, int)])
    policy = HardClass(d, M, delta, gamma, max_rare=5, max_candidates=9).member(padded_index)
    table, mu = numpy_hard(d, M, delta, gamma, index)
    full = policy.to_tabular()
    assert np.all(np.asarray(full.prompt_probs)[d + 1:] == 0) and np.all(np.asarray(full.probs)[: d + 1, M + 1:] == 0)
    np.testing.assert_allclose(np.asarray(full.probs)[: d + 1, : M + 1], table, rtol=1e-13, atol=0)
    np.testing.assert_allclose(np.asarray(full.prompt_probs)[: d + 1], mu, rtol=1e-13)
    np.testing.assert_allclose(table.sum(axis=1), 1.0, rtol=1e-13)
    # γ-argmax sets: {y_0} at x_0 and the singleton {y_{j_i}} at x_i (γ > 0 makes b < (1 − γ)a)
    expected_sets = numpy_argmax_sets(table, gamma)
    assert np.array_equal(np.asarray(argmax_mask(full, gamma))[: d + 1, : M + 1], expected_sets)
    assert expected_sets.sum(axis=1).tolist() == [1] * (d + 1)
    assert np.array_equal(np.argmax(expected_sets, axis=1), np.asarray(policy.argmax_responses())[: d + 1])
    # margins: a/b − 1 at rare prompts (inf where b = 0), inf at x_0
    a, b = table[1, index[0] + 1], (table[1].sum() - table[1, index[0] + 1]) / (M - 1)
    expected_margin = np.array([np.inf] + [a / b - 1.0 if b > 0 else np.inf] * d)
    np.testing.assert_allclose(np.asarray(prompt_margins(full))[: d + 1], expected_margin, rtol=1e-10)
    # coverage: numpy expectation, Appendix H's formula and the class's report agree, for p = 1, 2, 3
    for p in (1, 2, 3):
        numpy_value = (mu @ (np.where(expected_sets, table, 0).sum(axis=1) ** (-p))) ** (1 / p)
        formula = ((1 - delta) + (M * (1 - gamma)) ** p * delta) ** (1 / p)
        assert numpy_value == pytest.approx(formula, rel=1e-12)
        assert float(coverage_coefficient(full, gamma, p)) == pytest.approx(formula, rel=1e-12)
        assert policy.model_class.coverage(p) == pytest.approx(formula, rel=1e-12)
    assert policy.model_class.log_size == pytest.approx(d * math.log(M))


@pytest.mark.slow
def test_registered_and_random_member_is_uniform():
    assert "hard" in family_names()
    model_class = HardClass(3, 5, 0.3)
    indices = jax.vmap(model_class.sample_index)(jax.random.split(jax.random.PRNGKey(0), 20000))
    counts = np.bincount(np.asarray(indices).ravel(), minlength=5)
    expected = 20000 * 3 / 5
    assert np.all(np.abs(counts - expected) < 5 * math.sqrt(expected))
    first = make("hard", num_rare=3, num_candidates=5, delta=0.3, key=jax.random.PRNGKey(7))
    again = make("hard", num_rare=3, num_candidates=5, delta=0.3, key=jax.random.PRNGKey(7))
    assert np.array_equal(first.index, again.index)


@pytest.mark.slow
def test_sampler_and_log_prob_match_the_table():
    index = np.array([2, 0, 4])
    policy = make("hard", num_rare=3, num_candidates=6, delta=0.4, index=index)
    table, mu = numpy_hard(3, 6, 0.4, 0.5, index)
    key_x, key_y = jax.random.split(jax.random.PRNGKey(1))
    draws = 20000
    prompts = np.asarray(policy.sample_prompts(key_x, draws))
    observed = np.bincount(prompts, minlength=4) / draws
    assert np.all(np.abs(observed - mu) < 5 * np.sqrt(mu * (1 - mu) / draws))
    responses = np.asarray(policy.sample_responses(key_y, jnp.array([0, 1, 2, 3]), draws))
    for x in range(4):
        freq = np.bincount(responses[x], minlength=7) / draws
        assert np.all(np.abs(freq - table[x]) < 5 * np.sqrt(table[x] * (1 - table[x]) / draws) + 1e-12)
    xs, ys = np.meshgrid(np.arange(4), np.arange(7), indexing="ij")
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(np.asarray(policy.log_prob(xs, ys)), np.log(table), rtol=1e-13)


def test_hard_parameters_follow_the_theorem():
    params = hard_parameters(coverage=4.0, eps=1 / 64, num_rare=4)
    assert params["delta"] == pytest.approx(16 / 64)
    assert params["num_candidates"] == 26  # ((4 − 0.75)/0.25)/(1/2) = 26
    model_class = HardClass(**params)
    assert model_class.coverage() == pytest.approx(4.0)
    assert hard_parameters(coverage=1.0, eps=0.01, num_rare=2)["num_candidates"] == 8  # M ≥ 8 (Lemma H.3)


@pytest.mark.parametrize("kwargs,error,message", [
    (dict(num_rare=0), ValueError, "num_rare must be an integer >= 1, got 0"),
    (dict(num_rare=2.5), TypeError, "num_rare must be an integer"),
    (dict(num_candidates=1), ValueError, r"num_candidates must be >= 2 for gamma=0.5 .*got 1"),
    (dict(num_candidates=3, gamma=0.75), ValueError, r"num_candidates must be >= 4 for gamma=0.75"),
    (dict(delta=0.0), ValueError, r"delta must lie in \(0, 1\), got 0.0"),
    (dict(delta=1.0), ValueError, r"delta must lie in \(0, 1\), got 1.0"),
    (dict(delta=-0.2), ValueError, r"delta must lie in \(0, 1\)"),
    (dict(gamma=0.0), ValueError, r"gamma must lie in \(0, 1\), got 0.0"),
    (dict(gamma=1.0), ValueError, r"gamma must lie in \(0, 1\)"),
    (dict(key=jax.random.PRNGKey(0), index=np.zeros(4, int)), ValueError, "either key .* or index"),
    (dict(index=np.zeros(3, int)), ValueError, r"index must be an integer array of shape \(4,\)"),
    (dict(index=np.array([0, 1, 2, 16])), ValueError, r"index entries must lie in \[0, 16\)"),
])
def test_bad_family_parameters_are_refused(kwargs, error, message):
    with pytest.raises(error, match=message):
        make("hard", **kwargs)


def test_bad_hard_parameters_are_refused():
    with pytest.raises(ValueError, match=r"eps must lie in \(0, 0.0625\), got 0.1"):
        hard_parameters(coverage=4.0, eps=0.1, num_rare=2)
    with pytest.raises(ValueError, match=r"coverage must lie in \[1, inf\), got 0.5"):
        hard_parameters(coverage=0.5, eps=0.01, num_rare=2)
    with pytest.raises(TypeError, match="unknown parameter"):
        make("hard", num_arms=3)
