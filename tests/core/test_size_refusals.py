"""Issue examples: sizes that cannot fit are refused before anything is allocated (with the size named), a policy
passed where an oracle is expected is a TypeError saying how to wrap it, and the sequence referee validates μ."""

import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sharpsim as ss
from sharpsim.core.validation import MEMORY_ENVIRONMENT_VARIABLE, check_allocation, max_array_bytes

BASE = ss.TabularPolicy(np.array([[0.5, 0.3, 0.2], [0.2, 0.2, 0.6]]))
KEY = jax.random.PRNGKey(0)


@pytest.fixture(autouse=True)
def _real_limit(monkeypatch):
    monkeypatch.delenv(MEMORY_ENVIRONMENT_VARIABLE, raising=False)  # the sizes against the real limit


REFUSED = [
    ("draw_prompts", lambda: ss.Oracle(BASE).draw_prompts(KEY, 10**10), "draw_prompts(num_prompts)"),
    ("sample", lambda: ss.Oracle(BASE).sample(KEY, jnp.arange(2), 10**9), "sample(num_samples)"),
    ("sample_until", lambda: ss.Oracle(BASE).sample_until(KEY, jnp.arange(2), 10**9, lambda k, m: m > 0),
     "sample_until(max_samples)"),
    ("exact_sft_error_distribution", lambda: ss.exact_sft_error_distribution(BASE, 10**5, 4, 0.1),
     "exact_sft_error_distribution(num_prompts)"),
    ("exact_sft_expected_error", lambda: ss.exact_sft_expected_error(BASE, 10**10, 4, 0.1),
     "exact_sft_expected_error(num_prompts)"),
]


@pytest.mark.parametrize("name, call, argument", REFUSED, ids=[case[0] for case in REFUSED])
def test_a_size_that_cannot_fit_is_refused_at_once_naming_it(name, call, argument):
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"too large: arrays of shape .* GiB") as error:
        call()
    assert argument in str(error.value)
    assert time.perf_counter() - start < 30  # refused before the work (a run would take hours or be killed)


def test_xpo_with_a_billion_rounds_is_refused_at_once_naming_them():
    # the optimizer's step budget (num_rounds × num_steps ≤ MAX_TOTAL_STEPS) refuses it before the round buffers
    with pytest.raises(ValueError, match=r"num_rounds \* num_steps must be at most 100000000 .*num_rounds=1000000000"):
        ss.xpo_sharpen(KEY, ss.Oracle(BASE), ss.TabularClass.like(BASE), 10**9, 1.0, 0.1, num_steps=1,
                       reward_range=1.0, value_range=1.0)


def test_check_allocation_counts_in_python_integers_and_honours_the_override(monkeypatch):
    limit = max_array_bytes()
    check_allocation((limit // 8,), "fits")  # exactly the limit is allowed
    with pytest.raises(ValueError, match="'huge' is too large|huge is too large"):
        check_allocation((10**10, 10**10, 10**10), "huge")  # 10^30 entries: no int64 overflow to a small number
    with pytest.raises(ValueError, match=r"about 2\^1331 bytes"):
        check_allocation((10**400,), "beyond float range")  # the message itself must not overflow
    with pytest.raises(ValueError, match="num_responses"):
        ss.make("needle", num_responses=10**400)
    monkeypatch.setenv(MEMORY_ENVIRONMENT_VARIABLE, "1024")
    assert max_array_bytes() == 1024
    check_allocation((128,), "fits")
    with pytest.raises(ValueError, match="small is too large"):
        check_allocation((129,), "small")
    monkeypatch.setenv(MEMORY_ENVIRONMENT_VARIABLE, "lots")
    with pytest.raises(ValueError, match=MEMORY_ENVIRONMENT_VARIABLE):
        max_array_bytes()


@pytest.mark.parametrize("algorithm", [
    lambda policy: ss.best_of_n(KEY, policy, jnp.arange(2), 4),
    lambda policy: ss.sft_sharpen(KEY, policy, ss.TabularClass.like(BASE), 4, 4),
    lambda policy: ss.rlhf_sharpen(KEY, policy, ss.TabularClass.like(BASE), 4, 1.0),
])
def test_a_policy_where_an_oracle_is_expected_is_a_type_error_saying_how_to_wrap_it(algorithm):
    with pytest.raises(TypeError, match=r"oracle must be a sharpsim Oracle, got TabularPolicy; wrap .*Oracle\(base\)"):
        algorithm(BASE)


@pytest.mark.parametrize("prompt_probs, message", [
    ([-1.0, 2.0], "prompt_probs must be non-negative"),
    ([np.nan, 1.0], "prompt_probs must be finite"),
    ([0.5, 0.6], "prompt_probs must sum to 1"),
    ([1.0], r"prompt_probs has shape \(1,\)"),
])
def test_sequence_sharpening_error_validates_the_prompt_distribution(prompt_probs, message):
    policy = ss.make("bitstring", num_prompts=2, horizon=3)
    targets = jnp.zeros((2, 3), jnp.int64)
    with pytest.raises(ValueError, match=message):
        ss.sequence_sharpening_error(policy, targets, 0.1, prompt_probs=prompt_probs)
    # a valid μ weighs the failing prompts: the numpy sum over prompts whose target mass is below 1 − δ, with δ
    # between the two prompts' masses so that exactly one fails
    targets = jnp.array([[0, 0, 0], [1, 1, 1]])
    mass = np.asarray(ss.target_mass(policy, targets))
    assert mass[0] != mass[1]
    delta = 1.0 - mass.mean()
    weights = np.array([0.25, 0.75])
    expected = weights[mass < 1.0 - delta].sum()
    assert 0 < expected < 1
    assert float(ss.sequence_sharpening_error(policy, targets, delta, prompt_probs=weights)) == pytest.approx(expected)
