"""TabularPolicy: the contract of DESIGN.md, every validation error, the pytree protocol, jit/vmap use."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sharpsim.testing.strategies import prob_tables
from sharpsim import TabularPolicy, as_tabular, coverage_coefficient

GOOD = [[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]]


# ---- contract ------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(prob_tables())
def test_attributes_match_inputs(table):
    probs, mu = table
    policy = TabularPolicy(probs, mu)
    np.testing.assert_array_equal(np.asarray(policy.probs), probs)
    np.testing.assert_array_equal(np.asarray(policy.prompt_probs), mu)
    assert policy.num_prompts == probs.shape[0]
    assert policy.num_responses == probs.shape[1]
    with np.errstate(divide="ignore"):
        expected_log = np.log(probs)
    # XLA's log and numpy's may differ in the last ulp; −inf must sit exactly where π = 0
    np.testing.assert_allclose(np.asarray(policy.log_probs), expected_log, rtol=4e-16, atol=0)
    assert policy.probs.dtype == jnp.float64 and policy.prompt_probs.dtype == jnp.float64


def test_default_prompt_probs_are_uniform():
    policy = TabularPolicy(np.full((5, 2), 0.5))
    np.testing.assert_array_equal(np.asarray(policy.prompt_probs), np.full(5, 0.2))


def test_log_probs_minus_inf_at_zero():
    policy = TabularPolicy([[0.0, 1.0]])
    assert np.asarray(policy.log_probs)[0, 0] == -np.inf
    assert np.asarray(policy.log_probs)[0, 1] == 0.0


def test_row_within_tolerance_is_accepted():
    TabularPolicy([[0.5, 0.5 + 5e-10]])
    TabularPolicy([[1.0]], [1.0 - 5e-10])


def test_from_logits_is_softmax():
    logits = np.array([[0.0, 1.0, -2.0], [3.0, -np.inf, 3.0]])
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    policy = TabularPolicy.from_logits(logits, prompt_probs=[0.25, 0.75])
    np.testing.assert_allclose(np.asarray(policy.probs), expected, rtol=1e-12, atol=0)
    assert np.asarray(policy.probs)[1, 1] == 0.0
    np.testing.assert_array_equal(np.asarray(policy.prompt_probs), [0.25, 0.75])


def test_from_logits_large_values_do_not_overflow():
    policy = TabularPolicy.from_logits([[1000.0, 999.0]])
    np.testing.assert_allclose(np.asarray(policy.probs)[0], [1 / (1 + np.exp(-1)), 1 / (1 + np.exp(1))], rtol=1e-12)


def test_from_logits_errors():
    with pytest.raises(ValueError, match=r"logits row 0 is all -inf"):
        TabularPolicy.from_logits([[-np.inf, -np.inf]])
    with pytest.raises(ValueError, match=r"at least one prompt and one response, got shape \(2, 0\)"):
        TabularPolicy.from_logits(np.zeros((2, 0)))
    with pytest.raises(ValueError, match=r"logits must not be NaN or \+inf; entry \(0, 1\) is nan"):
        TabularPolicy.from_logits([[0.0, np.nan]])
    with pytest.raises(ValueError, match=r"entry \(0, 0\) is inf"):
        TabularPolicy.from_logits([[np.inf, 0.0]])


def test_frozen():
    policy = TabularPolicy(GOOD)
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.probs = jnp.zeros((2, 3))


def test_to_tabular_and_as_tabular():
    policy = TabularPolicy(GOOD)
    for converted in (policy.to_tabular(), as_tabular(policy)):
        assert isinstance(converted, TabularPolicy)
        np.testing.assert_array_equal(np.asarray(converted.probs), np.asarray(policy.probs))
    with pytest.raises(TypeError, match="to_tabular"):
        as_tabular(np.array([[1.0]]))


def test_replace_changes_fields_and_validates():
    policy = TabularPolicy(GOOD)
    changed = policy.replace(prompt_probs=[0.25, 0.75])
    np.testing.assert_array_equal(np.asarray(changed.prompt_probs), [0.25, 0.75])
    np.testing.assert_array_equal(np.asarray(changed.probs), np.asarray(policy.probs))
    with pytest.raises(ValueError, match="prompt_probs must sum to 1"):
        policy.replace(prompt_probs=[0.5, 0.6])
    with pytest.raises(ValueError, match="probs must be non-negative"):
        policy.replace(probs=[[1.5, -0.5, 0.0], [0.1, 0.1, 0.8]])


@pytest.mark.slow
def test_log_prob_and_samplers_shapes():
    probs = np.array(GOOD)
    policy = TabularPolicy(probs)
    prompts = jnp.array([[0, 1, 1], [1, 0, 0]])
    responses = jnp.array([[2, 2, 0], [1, 0, 1]])
    np.testing.assert_array_equal(
        np.asarray(policy.log_prob(prompts, responses)), np.log(probs[np.asarray(prompts), np.asarray(responses)])
    )
    # Broadcasting: one prompt against a vector of responses.
    np.testing.assert_array_equal(np.asarray(policy.log_prob(jnp.array(1), jnp.arange(3))), np.log(probs[1]))
    drawn = policy.sample_prompts(jax.random.key(0), 7)
    assert drawn.shape == (7,) and drawn.dtype == jnp.int64
    ys = policy.sample_responses(jax.random.key(1), prompts, 4)
    assert ys.shape == (2, 3, 4) and ys.dtype == jnp.int64
    assert np.all((np.asarray(ys) >= 0) & (np.asarray(ys) < 3))


# ---- validation errors (message names what is wrong and where) ------------------------------------------


@pytest.mark.parametrize(
    "probs, message",
    [
        ([[1.2, -0.2], [0.5, 0.5]], r"probs must be non-negative; entry \(0, 1\) is -0\.2"),
        ([[0.5, 0.5], [np.nan, 0.5]], r"probs must be finite; entry \(1, 0\) is nan"),
        ([[0.5, 0.5], [np.inf, 0.5]], r"probs must be finite; entry \(1, 0\) is inf"),
        ([[0.5, 0.5], [0.5, -np.inf]], r"entry \(1, 1\) is -inf"),
        ([[0.5, 0.5], [0.5, 0.4]], r"probs row 1 must sum to 1 \(within 1e-09\); it sums to 0\.9"),
        ([[0.5, 0.5], [0.5, 0.5], [0.5, 0.5 + 2e-9]], r"probs row 2 must sum to 1 \(within 1e-09\)"),
        ([[0.5, 0.5 - 2e-9]], r"probs row 0 must sum to 1"),
        ([[0.0, 0.0]], r"probs row 0 must sum to 1"),
        ([0.5, 0.5], r"probs must be a 2-d array \[X, Y\].*got shape \(2,\)"),
        (np.full((1, 1, 1), 1.0), r"got shape \(1, 1, 1\)"),
        (np.zeros((0, 3)), r"at least one prompt and one response, got shape \(0, 3\)"),
        (np.zeros((2, 0)), r"at least one prompt and one response, got shape \(2, 0\)"),
    ],
)
def test_bad_probs(probs, message):
    with pytest.raises(ValueError, match=message):
        TabularPolicy(probs)


@pytest.mark.parametrize(
    "prompt_probs, message",
    [
        ([1.3, -0.3], r"prompt_probs must be non-negative; entry \(1,\) is -0\.3"),
        ([np.nan, 0.3], r"prompt_probs must be finite; entry \(0,\) is nan"),
        ([np.inf, 0.3], r"prompt_probs must be finite; entry \(0,\) is inf"),
        ([0.3, 0.3], r"prompt_probs must sum to 1 \(within 1e-09\); it sums to 0\.6"),
        ([0.5, 0.5 + 2e-9], r"prompt_probs must sum to 1 \(within 1e-09\)"),
        ([0.2, 0.3, 0.5], r"prompt_probs has shape \(3,\) but probs has shape \(2, 2\)"),
        ([[0.5, 0.5]], r"prompt_probs has shape \(1, 2\) but probs has shape \(2, 2\)"),
    ],
)
def test_bad_prompt_probs(prompt_probs, message):
    with pytest.raises(ValueError, match=message):
        TabularPolicy([[0.5, 0.5], [0.5, 0.5]], prompt_probs)


@pytest.mark.parametrize(
    "probs, prompt_probs, name",
    [
        ("abc", None, "probs"),
        ([["a", "b"]], None, "probs"),
        (None, None, "probs"),
        ([[object()]], None, "probs"),
        ([[1.0 + 0j]], None, "probs"),
        ([[1.0]], ["a"], "prompt_probs"),
    ],
)
def test_non_numeric_is_type_error(probs, prompt_probs, name):
    with pytest.raises(TypeError, match=rf"^{name} must hold real numbers"):
        TabularPolicy(probs, prompt_probs)


@settings(max_examples=40, deadline=None)
@given(prob_tables(num_prompts=(2, 4), num_responses=(2, 5)), st.data())
def test_any_perturbed_row_is_named(table, data):
    """Scaling one row away from the simplex by more than 1e-9 is refused, and the error names that row."""
    probs, mu = table
    row = data.draw(st.integers(0, probs.shape[0] - 1))
    factor = data.draw(st.sampled_from([1 + 1e-6, 1 - 1e-6, 1 + 1e-8, 2.0, 0.5]))
    bad = probs.copy()
    bad[row] *= factor
    with pytest.raises(ValueError, match=rf"probs row {row} must sum to 1"):
        TabularPolicy(bad, mu)


# ---- pytree, jit, vmap ----------------------------------------------------------------------------------


def test_pytree_round_trip():
    policy = TabularPolicy(GOOD, [0.25, 0.75])
    leaves, treedef = jax.tree_util.tree_flatten(policy)
    assert len(leaves) == 2
    rebuilt = jax.tree_util.tree_unflatten(treedef, leaves)
    assert isinstance(rebuilt, TabularPolicy)
    np.testing.assert_array_equal(np.asarray(rebuilt.probs), np.asarray(policy.probs))
    np.testing.assert_array_equal(np.asarray(rebuilt.prompt_probs), np.asarray(policy.prompt_probs))
    doubled = jax.tree_util.tree_map(lambda a: a * 1.0, policy)
    assert isinstance(doubled, TabularPolicy)


def test_through_jit_and_tree_unflatten_inside_jit():
    policy = TabularPolicy(GOOD, [0.25, 0.75])

    @jax.jit
    def identity_and_log(p):
        return p, p.log_probs

    out, logp = identity_and_log(policy)
    assert isinstance(out, TabularPolicy)
    np.testing.assert_array_equal(np.asarray(out.probs), np.asarray(policy.probs))
    np.testing.assert_allclose(np.asarray(logp), np.log(np.array(GOOD)), rtol=1e-15)

    @jax.jit
    def build(probs, mu):
        # Tracers: no validation, even though these inputs would be refused eagerly.
        return TabularPolicy.tree_unflatten(None, (probs, mu)).probs.sum(), TabularPolicy(probs, mu).probs.sum()

    a, b = build(jnp.array([[2.0, 0.0]]), jnp.array([5.0]))
    assert float(a) == 2.0 and float(b) == 2.0


def test_vmap_over_stacked_policies():
    rng = np.random.default_rng(0)
    raw = rng.random((5, 3, 4))
    probs = raw / raw.sum(axis=-1, keepdims=True)
    mus = np.full((5, 3), 1 / 3)
    stacked = TabularPolicy.tree_unflatten(None, (jnp.asarray(probs), jnp.asarray(mus)))
    batched = jax.vmap(lambda p: coverage_coefficient(p))(stacked)
    expected = (1 / probs.max(axis=-1)).mean(axis=-1)
    np.testing.assert_allclose(np.asarray(batched), expected, rtol=1e-12)
    # and the same numbers one policy at a time
    singles = [float(coverage_coefficient(TabularPolicy(probs[i], mus[i]))) for i in range(5)]
    np.testing.assert_allclose(singles, expected, rtol=1e-12)


# ---- the shared strategies reach the hard cases -------------------------------------------------------------


@pytest.mark.parametrize(
    "description, condition",
    [
        ("exact tie on top", lambda row: np.sum(row == row.max()) >= 2),
        ("near-tie on top", lambda row: np.any((row < row.max()) & (row > row.max() * (1 - 1e-8)))),
        ("tiny entry", lambda row: np.any((row > 0) & (row < 1e-11))),
        ("zero entry", lambda row: np.any(row == 0)),
        ("dominant entry", lambda row: 1 - 1e-10 < row.max() < 1),
    ],
)
@pytest.mark.slow
def test_prob_rows_strategy_generates(description, condition):
    """``conftest.prob_rows`` produces each pathological case the property tests rely on."""
    from hypothesis import find

    from sharpsim.testing.strategies import prob_rows

    row = find(prob_rows(5), condition, settings=settings(max_examples=2000, database=None))
    assert np.isclose(row.sum(), 1.0, atol=1e-12), description
