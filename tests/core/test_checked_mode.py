"""Checked mode: the input checks of the public functions run eagerly, and inside jit/vmap through
``sharpsim.checked``, with the same error type naming the same argument; outside checked mode traced inputs are
trusted and compiled without checks; a jitted function keeps one trace per mode."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sharpsim as ss

BASE = ss.TabularPolicy(np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]]))
FLAT = BASE.probs  # a valid table: each case below makes one argument invalid

INITIAL = np.array([[0.6, 0.4], [0.5, 0.5]])  # a Markov policy over V = {0, 1}, H = 3, two prompts
TRANSITIONS = np.tile(np.array([[0.9, 0.1], [0.3, 0.7]]), (2, 2, 1, 1))
FIRST, SECOND = np.array([[[0.7, 0.3]]]), np.array([[[0.5, 0.5], [0.2, 0.8]]])  # a tree policy, one prompt, H = 2
KEY, PROMPTS = jax.random.PRNGKey(0), jnp.arange(2)

# (name, function of one array argument, a valid value, a bad value, what the message must contain): each function
# builds its call from that argument, so the same case runs eagerly (concrete) and traced (under jit or vmap).
_P = np.array
CASES = [
    ("negative probability", lambda p: ss.TabularPolicy(p).probs, np.asarray(FLAT),
     _P([[1.5, -0.5, 0.0], [0.2, 0.3, 0.5]]), "probs must be non-negative"),
    ("NaN probability", lambda p: ss.TabularPolicy(p).probs, np.asarray(FLAT),
     _P([[np.nan, 0.5, 0.5], [0.2, 0.3, 0.5]]), "probs must be finite"),
    ("row not on the simplex", lambda p: ss.TabularPolicy(p).probs, np.asarray(FLAT),
     _P([[0.5, 0.3, 0.1], [0.2, 0.3, 0.5]]), "probs row"),
    ("prompt_probs off the simplex", lambda mu: ss.TabularPolicy(FLAT, mu).prompt_probs, _P([0.3, 0.7]),
     _P([0.7, 0.7]), "prompt_probs must sum to 1"),
    ("best-of-N with N = 0", lambda n: ss.best_of_n_law(BASE, n).probs, np.int64(3), np.int64(0),
     "n must be an integer >= 1"),
    ("best-of-N with a fractional N", lambda n: ss.best_of_n_law(BASE, n).probs, np.float64(3.0), np.float64(2.5),
     "n must be an integer"),
    ("negative beta", lambda beta: ss.power_policy(BASE, beta).probs, np.float64(1.5), np.float64(-1.0),
     "beta must lie in (0, inf]"),
    ("coverage exponent below 1", lambda p: ss.coverage_coefficient(BASE, p=p), np.float64(2.0), np.float64(0.5),
     "p must lie in"),
    ("gamma of 1", lambda gamma: ss.argmax_mask(BASE, gamma), np.float64(0.1), np.float64(1.0),
     "gamma must lie in [0, 1)"),
    ("delta above 1", lambda delta: ss.sharpening_error(BASE, BASE, delta), np.float64(0.5), np.float64(1.5),
     "delta must lie in (0, 1)"),
    ("negative eps", lambda eps: ss.is_sharpened(BASE, BASE, eps, 0.1), np.float64(0.1), np.float64(-0.1),
     "eps must lie in [0, 1)"),
    ("Markov transitions off the simplex", lambda t: ss.MarkovPolicy(INITIAL, t).transitions, TRANSITIONS,
     TRANSITIONS * 1.5, "transitions.*must sum to 1"),
    ("negative tree conditional", lambda first: ss.TreePolicy([first, SECOND]).conditionals, FIRST,
     FIRST[..., ::-1] * _P([1.5, -0.5]), r"levels\[0\].*non-negative"),
    ("zero temperature", lambda t: ss.MarkovPolicy(INITIAL, TRANSITIONS).sample_responses(KEY, PROMPTS, 2, t),
     np.float64(0.5), np.float64(0.0), "temperature must lie in (0, inf)"),
    ("zero samples in the exact SFT law", lambda n: ss.exact_sft_expected_error(BASE, 4, n, 0.1), np.int64(3),
     np.int64(0), "num_samples must be an integer >= 1"),
]
IDS = [case[0] for case in CASES]


@pytest.mark.parametrize("name, function, good, bad, message", CASES, ids=IDS)
def test_a_bad_input_raises_the_same_error_eagerly_and_under_checked_jit(name, function, good, bad, message):
    with pytest.raises(ValueError, match=_escaped(message)):
        function(bad)
    with pytest.raises(ValueError, match=_escaped(message)):
        ss.checked(jax.jit(function))(bad)


@pytest.mark.parametrize("name, function, good, bad, message", CASES[::5], ids=IDS[::5])
def test_under_checked_vmap_one_bad_entry_of_a_batch_raises(name, function, good, bad, message):
    batch = jnp.stack([jnp.asarray(good), jnp.asarray(bad), jnp.asarray(good)])
    ss.checked(jax.jit(jax.vmap(function)))(jnp.stack([jnp.asarray(good)] * 3))  # a valid batch passes
    with pytest.raises(ValueError, match=_escaped(message)):
        ss.checked(jax.jit(jax.vmap(function)))(batch)


def test_outside_checked_mode_traced_inputs_are_trusted_and_one_jitted_function_serves_both_modes():
    traces = []

    def power(beta):
        traces.append(beta)
        return ss.power_policy(BASE, beta).probs

    compiled = jax.jit(power)
    unchecked = np.asarray(compiled(-1.0))  # no check compiled in: the formula's (meaningless) value
    assert np.all(np.isfinite(unchecked))
    with pytest.raises(ValueError, match="beta"):
        ss.checked(compiled)(-1.0)
    np.testing.assert_array_equal(np.asarray(compiled(-1.0)), unchecked)  # the unchecked trace is reused
    with pytest.raises(ValueError, match="beta"):
        ss.checked(compiled)(-1.0)  # and so is the checked one
    assert len(traces) == 2  # one trace per mode
    np.testing.assert_allclose(ss.checked(compiled)(2.0), ss.power_policy(BASE, 2.0).probs, rtol=1e-12)


def test_checked_inside_a_plain_transformation_is_refused_at_trace_time():
    with pytest.raises(RuntimeError, match="outermost"):
        jax.jit(ss.checked(lambda n: ss.best_of_n_law(BASE, n).probs))(3)


@pytest.mark.slow  # one compilation per case (about 25 s)
def test_valid_traced_inputs_give_the_eager_answers():
    for name, function, good, bad, message in CASES:
        np.testing.assert_allclose(np.asarray(ss.checked(jax.jit(function))(good)), np.asarray(function(good)),
                                   rtol=1e-12, err_msg=name)


def _escaped(pattern: str) -> str:
    """The case's message as a regex: literal text unless it already holds a pattern ('.*')."""
    import re

    return pattern if ".*" in pattern else re.escape(pattern)
