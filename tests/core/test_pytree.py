"""The pytree registration helper: unflattening bypasses validation; unchecked_replace refuses unknown fields."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sharpsim import TabularPolicy
from sharpsim.core.pytree import unchecked_replace, validated_pytree


@validated_pytree(("values",), ("label",))
class _Validated:
    def __init__(self, values, label):
        if np.any(np.asarray(values) < 0):
            raise ValueError("values must be >= 0")
        self.values, self.label = values, label


def test_unflatten_skips_the_constructor_so_tree_map_may_produce_invalid_leaves():
    negated = jax.tree_util.tree_map(lambda leaf: -leaf, _Validated(jnp.ones(3), "a"))
    np.testing.assert_array_equal(negated.values, -np.ones(3))
    assert negated.label == "a"


def test_meta_fields_are_static_under_jit():
    @jax.jit
    def double(instance):
        assert isinstance(instance.label, str)  # static, not traced
        return jax.tree_util.tree_map(lambda leaf: 2 * leaf, instance)

    np.testing.assert_array_equal(double(_Validated(jnp.arange(3.0), "b")).values, [0.0, 2.0, 4.0])


def test_unchecked_replace_changes_one_field_and_keeps_the_rest():
    policy = TabularPolicy(np.array([[0.5, 0.5]]))
    changed = unchecked_replace(policy, probs=jnp.array([[2.0, -1.0]]))  # deliberately off the simplex
    np.testing.assert_array_equal(changed.probs, [[2.0, -1.0]])
    assert changed.prompt_probs is policy.prompt_probs
    np.testing.assert_array_equal(policy.probs, [[0.5, 0.5]])


def test_unchecked_replace_names_an_unknown_field():
    with pytest.raises(TypeError, match=r"no field\(s\) \['prob'\]"):
        unchecked_replace(TabularPolicy(np.array([[1.0]])), prob=1.0)
