"""float64 throughout: importing sharpsim turns on JAX x64, and every array sharpsim returns is float64/int64."""

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sharpsim
from sharpsim import (
    Oracle,
    TabularPolicy,
    argmax_mass,
    best_of_n,
    best_of_n_law,
    coverage_coefficient,
    hellinger_squared,
    kl_divergence,
    make,
    margin,
    mode_coverage_coefficient,
    prompt_margins,
    sharpening_error,
    sharpness,
)


@pytest.mark.slow
def test_import_alone_enables_x64_in_a_fresh_process():
    code = (
        "import jax, jax.numpy as jnp\n"
        "import sharpsim\n"
        "assert jax.config.read('jax_enable_x64')\n"
        "assert jnp.zeros(1).dtype == jnp.float64 and jnp.arange(2).dtype == jnp.int64\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_x64_is_on_here():
    assert jax.config.read("jax_enable_x64")
    assert jnp.asarray(1.0).dtype == jnp.float64


@pytest.mark.parametrize(
    "probs", [np.array([[0.25, 0.75]], dtype=np.float32), [[0.25, 0.75]], [[1, 0]], np.array([[True, False]])]
)
def test_policy_arrays_are_float64_whatever_the_input(probs):
    policy = TabularPolicy(probs, np.array([1.0], dtype=np.float32))
    assert policy.probs.dtype == jnp.float64
    assert policy.prompt_probs.dtype == jnp.float64
    assert policy.log_probs.dtype == jnp.float64
    assert TabularPolicy.from_logits(np.zeros((1, 2), dtype=np.float32)).probs.dtype == jnp.float64


@pytest.mark.slow
def test_every_quantity_is_float64():
    base = TabularPolicy([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]])
    learned = TabularPolicy([[0.9, 0.05, 0.05], [0.2, 0.7, 0.1]])
    outputs = [
        argmax_mass(base),
        coverage_coefficient(base, 0.1, 2),
        mode_coverage_coefficient(base),
        prompt_margins(base),
        margin(base),
        sharpness(learned, base),
        sharpening_error(learned, base, 0.2),
        hellinger_squared(learned, base),
        kl_divergence(learned, base),
        best_of_n_law(base, 4).probs,
    ]
    for out in outputs:
        assert jnp.asarray(out).dtype == jnp.float64


def test_oracle_and_sampler_dtypes():
    policy = TabularPolicy([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]])
    prompts, oracle = Oracle(policy).draw_prompts(jax.random.key(0), 4)
    assert prompts.dtype == jnp.int64
    batch, oracle = oracle.sample(jax.random.key(1), prompts, 3)
    assert batch.responses.dtype == jnp.int64 and batch.log_probs.dtype == jnp.float64
    for count in (oracle.queries.prompts, oracle.queries.samples, oracle.queries.evaluations):
        assert count.dtype == jnp.int64
    result, _ = best_of_n(jax.random.key(2), Oracle(policy), prompts, 3)
    assert result.responses.dtype == jnp.int64 and result.log_probs.dtype == jnp.float64


@pytest.mark.parametrize(
    "name, params",
    [
        ("needle", {}),
        ("near_tie", {}),
        ("two_type", {}),
        ("ties", {}),
        ("zipf", {}),
        ("dirichlet", {"key": jax.random.key(0)}),
    ],
)
@pytest.mark.slow
def test_families_are_float64(name, params):
    policy = make(name, **params)
    assert policy.probs.dtype == jnp.float64 and policy.prompt_probs.dtype == jnp.float64


@pytest.mark.slow
def test_float64_precision_is_actually_used():
    """Numbers float32 cannot hold: log 1e-200, a law mass of 1e-24, a KL of 2e-18, a μ weight of 1e-12."""
    policy = TabularPolicy([[1e-200, 1 - 1e-200]])
    assert float(policy.log_probs[0, 0]) == pytest.approx(-200 * np.log(10), rel=1e-14)
    rare = TabularPolicy([[0.5, 0.5], [1.0, 0.0]], [1e-12, 1 - 1e-12])
    assert float(coverage_coefficient(rare)) - 1.0 == 0.0  # both prompts put all mass on y*
    needle = TabularPolicy([[1e-12, 1 - 1e-12]])
    law = best_of_n_law(needle, 2)
    # P[pick the rare response] = (1e-12)^2 = 1e-24, representable in float64 only
    assert float(law.probs[0, 0]) == pytest.approx(1e-24, rel=1e-9)
    shifted = TabularPolicy([[0.5 + 1e-9, 0.5 - 1e-9]])
    # KL ≈ 2·(1e-9)² = 2e-18 (float32 would round the shift away)
    assert float(kl_divergence(shifted, TabularPolicy([[0.5, 0.5]]))) == pytest.approx(2e-18, rel=1e-5)
    assert sharpsim.__doc__ and "float64" in sharpsim.__doc__
