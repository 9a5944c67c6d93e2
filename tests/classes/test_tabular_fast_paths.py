"""The tabular fit's totals without a pass over the table, and the referee's mass on a mask by one read per row
(``mass_on_mask``), against numpy references: equal to the last bit, under jit and vmap."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sharpsim as ss
from sharpsim.referee.quantities import mass_on_mask


def numpy_fit(prompts, responses, num_prompts, num_responses, weights=None):
    counts = np.zeros((num_prompts, num_responses))
    np.add.at(counts, (prompts, responses), 1.0 if weights is None else weights)
    totals = counts.sum(axis=1, keepdims=True)
    return np.where(totals > 0, counts / np.where(totals > 0, totals, 1.0), 1.0 / num_responses)


@pytest.mark.slow  # a fresh compilation per drawn shape: seconds per example
@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.booleans())
def test_fit_is_the_empirical_distribution_to_the_last_bit(seed, weighted):
    rng = np.random.default_rng(seed)
    prompts, responses = rng.integers(0, 5, 23), rng.integers(0, 7, 23)
    weights = rng.random(23) if weighted else None
    model_class = ss.TabularClass(7, num_prompts=5)
    fitted = jax.jit(lambda p, r: model_class.fit(p, r, weights).probs)(prompts, responses)
    # XLA's float64 division may differ from numpy's in the last bit, so the numpy reference holds up to rounding
    np.testing.assert_allclose(np.asarray(fitted), numpy_fit(prompts, responses, 5, 7, weights), rtol=1e-14)
    if not weighted:
        # the totals by a scatter of ones are the integers the table's row sums give (the weighted path, unit
        # weights): the same bits
        summed = jax.jit(lambda p, r: model_class.fit(p, r, np.ones(23)).probs)(prompts, responses)
        np.testing.assert_array_equal(np.asarray(fitted), np.asarray(summed))


def _masks(rng, rows, columns, ties):
    probs = rng.dirichlet(np.ones(columns), size=rows)
    mask = probs == probs.max(axis=1, keepdims=True)
    if ties:
        mask[0, :2] = True
    return mask


@pytest.mark.parametrize("ties", [False, True])
def test_mass_on_mask_matches_numpy_for_unique_and_tied_sets(ties):
    rng = np.random.default_rng(int(ties))
    mask = _masks(rng, 6, 9, ties)
    probs = rng.dirichlet(np.ones(9), size=6)
    expected = np.where(mask, probs, 0.0).sum(axis=1)
    np.testing.assert_array_equal(np.asarray(mass_on_mask(jnp.asarray(mask), jnp.asarray(probs))), expected)
    # a batch of learned tables against one mask (the branch stays a branch under vmap) and a batch of masks
    tables = rng.dirichlet(np.ones(9), size=(4, 6))
    batched = jax.jit(jax.vmap(lambda p: mass_on_mask(jnp.asarray(mask), p)))(jnp.asarray(tables))
    np.testing.assert_array_equal(np.asarray(batched), np.where(mask, tables, 0.0).sum(axis=-1))
    masks = np.stack([_masks(rng, 6, 9, ties) for _ in range(4)])
    both = jax.jit(jax.vmap(mass_on_mask))(jnp.asarray(masks), jnp.asarray(tables))
    np.testing.assert_array_equal(np.asarray(both), np.where(masks, tables, 0.0).sum(axis=-1))


def test_sharpening_error_of_vmapped_fits_matches_numpy():
    rng = np.random.default_rng(3)
    base = ss.TabularPolicy(rng.dirichlet(np.full(10, 0.5), size=6), rng.dirichlet(np.ones(6)))
    model_class = ss.TabularClass.like(base)
    prompts, responses = rng.integers(0, 6, (5, 30)), rng.integers(0, 10, (5, 30))
    errors = jax.jit(jax.vmap(lambda p, r: ss.sharpening_error(model_class.fit(p, r), base, 0.4)))(prompts, responses)
    probs, mu = np.asarray(base.probs), np.asarray(base.prompt_probs)
    argmax = probs.argmax(axis=1)
    for seed in range(5):
        fitted = numpy_fit(prompts[seed], responses[seed], 6, 10)
        expected = mu[fitted[np.arange(6), argmax] < 1 - 0.4].sum()
        assert float(errors[seed]) == pytest.approx(expected, abs=1e-15)
