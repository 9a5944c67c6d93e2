"""The hard family of App. H against a plain-numpy construction: μ, P_j, argmax sets, margins, coverage,
the sampler, the implicit class's MLE (against the materialised ProductClass) and its realizable BoN classes."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sharpsim  # noqa: F401
from sharpsim.algorithms.best_of_n import best_of_n_law
from sharpsim.classes.finite import ProductClass
from sharpsim.instances.registry import family_names, make
from sharpsim.instances.hard import HardClass, hard_parameters, minimum_candidates
from sharpsim.referee.quantities import argmax_mask, coverage_coefficient, prompt_margins


def numpy_hard(d, M, delta, gamma, index):
    """App. H written out: rows [d+1, M+1], μ [d+1]; index is 0-based (argmax of x_i is response index[i-1]+1)."""
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
    # coverage: numpy expectation, the digest's formula and the class's report agree, for p = 1, 2, 3
    for p in (1, 2, 3):
        numpy_value = (mu @ (np.where(expected_sets, table, 0).sum(axis=1) ** (-p))) ** (1 / p)
        formula = ((1 - delta) + (M * (1 - gamma)) ** p * delta) ** (1 / p)
        assert numpy_value == pytest.approx(formula, rel=1e-12)
        assert float(coverage_coefficient(full, gamma, p)) == pytest.approx(formula, rel=1e-12)
        assert policy.model_class.coverage(p) == pytest.approx(formula, rel=1e-12)
    assert policy.model_class.log_size == pytest.approx(d * math.log(M))


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


@settings(deadline=None, max_examples=15, derandomize=True)
@given(st.integers(0, 2**31 - 1), st.sampled_from([None, 0.9, 1.0]))
def test_implicit_mle_equals_materialised_product_class(seed, top_mass):
    """HardClass.fit is the ProductClass MLE over the same rows (with y_0 rows for x_0), incl. ties and unseen."""
    rng = np.random.default_rng(seed)
    d, M = 3, 5
    model_class = HardClass(d, M, 0.5, top_mass=top_mass)
    prompts = rng.integers(0, d + 1, size=12)
    responses = np.where(prompts == 0, 0, rng.integers(1, M + 1, size=12))
    weights = rng.integers(0, 3, size=12).astype(float)
    rows = np.asarray(model_class.rows())  # [d+1, M, M+1]
    counts = np.zeros((d + 1, M + 1))
    np.add.at(counts, (prompts, responses), weights)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(counts[:, None, :] > 0, counts[:, None, :] * np.log(rows), 0.0)
    scores = terms.sum(axis=-1)[1:]  # [d, M]
    fitted = model_class.fit(prompts, responses, weights)
    for i in range(d):  # the lowest candidate whose score ties the best (up to rounding of the sum order)
        best = scores[i].max()
        tied = np.flatnonzero(scores[i] >= best - 1e-9 * max(1.0, abs(best))) if np.isfinite(best) else [0]
        assert int(fitted.index[i]) == tied[0]
    total = scores[np.arange(d), np.asarray(fitted.index)].sum() + terms[0, 0].sum()
    assert float(fitted.log_likelihood) == pytest.approx(total, rel=1e-12) or total == float(fitted.log_likelihood)
    product = ProductClass(model_class.rows(), model_class.prompt_probs).fit(prompts, responses, weights)
    assert float(product.log_likelihood) == pytest.approx(float(fitted.log_likelihood), rel=1e-12) or (
        float(product.log_likelihood) == float(fitted.log_likelihood))


def test_padded_class_embeds_the_small_one():
    small = HardClass(3, 6, 0.3)
    padded = HardClass(3, 6, 0.3, max_rare=5, max_candidates=9)
    index = np.array([1, 5, 0])
    small_table = small.member(index).to_tabular()
    big_table = padded.member(np.array([1, 5, 0, 0, 0])).to_tabular()
    np.testing.assert_allclose(big_table.probs[:4, :7], small_table.probs, rtol=1e-14)
    assert np.all(np.asarray(big_table.prompt_probs[4:]) == 0)
    assert float(coverage_coefficient(big_table, 0.5)) == pytest.approx(small.coverage(), rel=1e-12)
    prompts, responses = np.array([1, 1, 2, 3, 0]), np.array([2, 2, 6, 3, 0])
    padded_fit, small_fit = padded.fit(prompts, responses), small.fit(prompts, responses)
    assert np.array_equal(np.asarray(padded_fit.index)[:3], np.asarray(small_fit.index))

    @jax.jit
    def top_of(d, M):  # one compilation serves any (d, M) within the padding
        return HardClass(d, M, 0.3, max_rare=5, max_candidates=9).bon_top_mass(4)

    assert float(top_of(3, 6)) == pytest.approx(1 - (1 - 2 / 6) ** 4)
    assert float(top_of(5, 9)) == pytest.approx(1 - (1 - 2 / 9) ** 4)
    assert top_of._cache_size() == 1


@pytest.mark.parametrize("num_samples", [1, 3, 10])
def test_bon_class_contains_the_bon_law(num_samples):
    """Assumption 4.1 holds: the exact law of best-of-N of π^I is the member I of bon_class(N)."""
    index = np.array([3, 0])
    model_class = HardClass(2, 7, 0.2)
    law = best_of_n_law(model_class.member(index).to_tabular(), num_samples)
    member = model_class.bon_class(num_samples).member(index).to_tabular()
    np.testing.assert_allclose(law.probs, member.probs, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("mu", [0.5, 2.0, math.log(32)])
def test_adaptive_bon_top_mass_matches_the_stopping_rule(mu):
    """Eq. 10 in numpy: before the argmax appears the running max is b, so the rule fires at K = min{k: k b ≥ μ}
    unless the argmax was drawn among the first K; P[pick = argmax] = 1 − (1 − a)^K."""
    model_class = HardClass(2, 9, 0.2)
    a, b = 2 / 9, (1 - 2 / 9) / 8
    k = 1
    while k * b < mu:
        k += 1
    assert float(model_class.adaptive_bon_top_mass(mu)) == pytest.approx(1 - (1 - a) ** k, rel=1e-12)


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


def test_bad_class_parameters_are_refused():
    with pytest.raises(ValueError, match=r"top_mass must lie in \(0.2, 1\]"):
        HardClass(2, 5, 0.5, top_mass=0.1)
    with pytest.raises(ValueError, match="max_rare must be an integer >= 3, got 2"):
        HardClass(3, 5, 0.5, max_rare=2)
    with pytest.raises(ValueError, match="rows\\(\\) materialises the class only without padding"):
        HardClass(2, 5, 0.5, max_candidates=8).rows()
    with pytest.raises(ValueError, match=r"eps must lie in \(0, 0.0625\), got 0.1"):
        hard_parameters(coverage=4.0, eps=0.1, num_rare=2)
    with pytest.raises(ValueError, match=r"coverage must lie in \[1, inf\), got 0.5"):
        hard_parameters(coverage=0.5, eps=0.01, num_rare=2)
    with pytest.raises(ValueError, match="unknown parameter"):
        make("hard", num_arms=3)
