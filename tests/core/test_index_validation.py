"""``check_index_array`` and ``check_real_array`` against plain numpy expectations written here: which inputs they
accept (and return unchanged), which entry they report first, the error type for non-numeric data, and the traced
behavior: no check (and no extra operation) outside checked mode, the eager error under ``sharpsim.checked``."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import sharpsim as ss
from sharpsim.core.validation import check_index_array, check_real_array

SIZE = 5
int_arrays = hnp.arrays(np.int64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
                        elements=st.integers(-3, SIZE + 2))
float_arrays = hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
                          elements=st.one_of(st.floats(-1e6, 1e6), st.sampled_from([np.nan, np.inf, -np.inf])))


def _first_bad(bad: np.ndarray) -> tuple:
    """numpy's own answer: the first offending entry in C order."""
    return tuple(int(i) for i in np.argwhere(bad)[0])


# --- check_index_array ---------------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(int_arrays)
def test_index_array_accepts_exactly_the_in_range_arrays_and_names_the_first_bad_entry(array):
    bad = (array < 0) | (array >= SIZE)
    if not bad.any():
        out = check_index_array(array, "prompts", SIZE, "prompt")
        assert jnp.issubdtype(out.dtype, jnp.integer)
        np.testing.assert_array_equal(np.asarray(out), array)
        return
    with pytest.raises(ValueError) as error:
        check_index_array(array, "prompts", SIZE, "prompt")
    message = str(error.value)
    assert message.startswith(f"prompts must lie in [0, {SIZE})")
    index = _first_bad(bad)
    assert message.endswith(f"{array[index]}")
    if index:
        assert f"entry {index}" in message


@pytest.mark.parametrize("value", [[0.0, 1.0], np.float32(1.0), [True, False], True, "01", "", None, {}, {"a": 1},
                                   [[0], [1, 2]], [1 + 0j], ["a", "b"], [None, 1]],
                         ids=lambda v: repr(v)[:20])
def test_index_array_refuses_non_integer_data_with_a_type_error_naming_the_argument(value):
    with pytest.raises(TypeError, match=r"^responses must be"):
        check_index_array(value, "responses", SIZE, "response")


def test_index_array_messages_say_what_the_indices_index():
    with pytest.raises(ValueError, match=re.escape("targets tokens must lie in [0, 3); entry (1, 0) is 3")):
        check_index_array([[0, 1], [3, 0]], "targets", 3, "token")
    with pytest.raises(ValueError, match=re.escape("prompts must lie in [0, 2); got -1")):
        check_index_array(-1, "prompts", 2, "prompt")
    with pytest.raises(TypeError, match=re.escape("integer token indices in [0, 3), got dtype float64")):
        check_index_array([0.5], "tokens", 3, "token")


def test_a_traced_index_array_is_trusted_outside_checked_mode_at_no_cost():
    function = jax.jit(lambda a: check_index_array(a, "prompts", SIZE, "prompt") * 1)
    bad = np.array([0, 7, -1])
    np.testing.assert_array_equal(np.asarray(function(bad)), bad)  # trusted: the values pass through
    jaxpr = jax.make_jaxpr(lambda a: check_index_array(a, "prompts", SIZE, "prompt"))(bad)
    assert len(jaxpr.eqns) == 0  # no operation emitted outside checked mode
    with pytest.raises(TypeError, match="prompts must be integer prompt indices"):  # the dtype is static
        jax.jit(lambda a: check_index_array(a, "prompts", SIZE, "prompt"))(np.array([0.0, 1.0]))


@pytest.mark.slow  # compile-heavy (seconds): the slow suite runs it
@settings(max_examples=15, deadline=None)
@given(hnp.arrays(np.int64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=4), elements=st.integers(-2, SIZE + 1)))
def test_checked_mode_raises_the_eager_error_for_a_traced_index_array(array):
    function = ss.checked(jax.jit(lambda a: check_index_array(a, "prompts", SIZE, "prompt")))
    bad = (array < 0) | (array >= SIZE)
    if not bad.any():
        np.testing.assert_array_equal(np.asarray(function(array)), array)
        return
    index = _first_bad(bad)
    expected = f"prompts must lie in [0, {SIZE}); entry [{' '.join(str(i) for i in index)}] is {array[index]}"
    with pytest.raises(ValueError) as error:
        function(array)
    assert str(error.value) == expected


def test_checked_vmap_reports_a_bad_row_of_a_batch():
    batch = np.array([[0, 1], [1, SIZE], [2, 3]])
    function = ss.checked(jax.jit(jax.vmap(lambda a: check_index_array(a, "prompts", SIZE, "prompt"))))
    np.testing.assert_array_equal(np.asarray(function(batch[[0, 2]])), batch[[0, 2]])
    with pytest.raises(ValueError, match=re.escape(f"prompts must lie in [0, {SIZE})")):
        function(batch)


# --- check_real_array ----------------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(float_arrays, st.booleans())
def test_real_array_accepts_exactly_what_numpy_calls_allowed(array, finite):
    bad = ~np.isfinite(array) if finite else np.isnan(array) | np.isposinf(array)
    if not bad.any():
        out = check_real_array(array, "theta", finite=finite)
        assert out.dtype == jnp.float64
        np.testing.assert_array_equal(np.asarray(out), array)
        return
    with pytest.raises(ValueError) as error:
        check_real_array(array, "theta", finite=finite)
    message = str(error.value)
    assert message.startswith("theta must be " + ("finite" if finite else "a number below +inf (not NaN)"))
    index = _first_bad(bad)
    assert message.endswith(f"{array[index]}")


def test_real_array_converts_integers_and_refuses_non_numeric_data():
    np.testing.assert_array_equal(np.asarray(check_real_array([1, 2], "rewards")), np.array([1.0, 2.0]))
    for value in ["abc", None, {}, [["a", "b"]], [[1.0], [1.0, 2.0]], [1 + 2j], [None, 1.0]]:
        with pytest.raises(TypeError, match=r"^rewards must"):
            check_real_array(value, "rewards")


def test_checked_mode_raises_the_eager_error_for_a_traced_real_array():
    function = jax.jit(lambda a: check_real_array(a, "theta") + 0.0)
    bad = np.array([[0.0, 1.0], [np.nan, 2.0]])
    assert np.isnan(np.asarray(function(bad))[1, 0])  # trusted outside checked mode
    with pytest.raises(ValueError, match=re.escape("theta must be finite; entry [1 0] is nan")):
        ss.checked(function)(bad)
    allowed = ss.checked(jax.jit(lambda a: check_real_array(a, "log_probs", finite=False)))
    np.testing.assert_array_equal(np.asarray(allowed(np.array([-np.inf, 0.0]))), np.array([-np.inf, 0.0]))
    with pytest.raises(ValueError, match="log_probs must be a number below"):
        allowed(np.array([np.inf, 0.0]))
    with pytest.raises(TypeError, match="theta must hold real numbers"):
        jax.jit(lambda a: check_real_array(a, "theta"))(np.array([1 + 1j]))
