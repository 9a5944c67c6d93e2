"""The implicit model class of Appendix H (``HardClass``): its MLE against the materialized ``ProductClass``,
padding, and the realizable best-of-N classes of Assumptions 4.1 and D.1 (against numpy replays)."""

import math

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sharpsim  # noqa: F401
from sharpsim.algorithms.best_of_n import best_of_n_law
from sharpsim.classes.finite import ProductClass
from sharpsim.classes.hard import HardClass
from sharpsim.referee.quantities import coverage_coefficient


@pytest.mark.slow
@settings(deadline=None, max_examples=15, derandomize=True)
@given(st.integers(0, 2**31 - 1), st.sampled_from([None, 0.9, 1.0]))
def test_implicit_mle_equals_materialized_product_class(seed, top_mass):
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


@pytest.mark.slow
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


@pytest.mark.slow
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


def test_bad_class_parameters_are_refused():
    with pytest.raises(ValueError, match=r"top_mass must lie in \(0.2, 1\]"):
        HardClass(2, 5, 0.5, top_mass=0.1)
    with pytest.raises(ValueError, match="max_rare must be an integer >= 3, got 2"):
        HardClass(3, 5, 0.5, max_rare=2)
    with pytest.raises(ValueError, match="rows\\(\\) materializes the class only without padding"):
        HardClass(2, 5, 0.5, max_candidates=8).rows()
