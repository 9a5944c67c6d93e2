"""output_difference: the comparison behind the deterministic, oracle_only, jit and vmap checks."""

import jax.numpy as jnp
import numpy as np

import sharpsim as ss
from sharpsim.testing.compare import output_difference


def result(probs, samples=3):
    return {"result": ss.Result(ss.TabularPolicy(np.asarray(probs)), ss.QueryCount(1, samples, 0))}


def test_identical_outputs_agree_and_nan_matches_nan():
    a = {"x": jnp.array([1.0, jnp.nan, -jnp.inf]), "n": jnp.array([1, 2])}
    assert output_difference(a, dict(a), exact=True) is None


def test_the_first_difference_is_named_by_its_path():
    assert output_difference(result([[0.5, 0.5]]), result([[0.25, 0.75]]), exact=True) == \
        "result.policy.probs[0, 0]: 0.5 vs 0.25"
    assert output_difference(result([[1.0]]), result([[1.0]], samples=4), exact=True) == \
        "result.queries.samples: 3 vs 4"


def test_close_floats_agree_only_when_not_exact():
    a, b = {"x": jnp.array([1.0, 2.0])}, {"x": jnp.array([1.0, 2.0 * (1 + 1e-12)])}
    assert output_difference(a, b, exact=False) is None
    assert output_difference(a, b, exact=True).startswith("x[1]: 2.0 vs 2.0000000000")
    assert output_difference(a, {"x": jnp.array([1.0, 2.0 * (1 + 1e-6)])}, exact=False) is not None
    # non-finite entries must match exactly even when not exact; integers always exactly
    assert output_difference({"x": jnp.array([jnp.inf])}, {"x": jnp.array([1e308])}, exact=False) is not None
    assert output_difference({"n": jnp.array([3])}, {"n": jnp.array([4])}, exact=False) == "n[0]: 3 vs 4"


def test_structure_shape_and_dtype_differences_are_reported():
    assert "structure differs" in output_difference({"x": 1.0}, {"y": 1.0}, exact=True)
    assert "shape/dtype (2,)" in output_difference({"x": jnp.zeros(2)}, {"x": jnp.zeros(3)}, exact=True)
    assert "shape/dtype" in output_difference({"x": jnp.zeros(2)}, {"x": jnp.zeros(2, jnp.int64)}, exact=True)
