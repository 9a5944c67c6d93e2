"""Issue 12, regressions of the fuzz findings in ``sharpsim.algorithms``: each bad input below used to be accepted
silently (a NaN loss, an out-of-range index clamped by a gather, a class of other spaces used anyway), to fail with
a message that did not name the argument, or to be attempted at a huge size. Each now raises ``ValueError`` or
``TypeError`` naming the argument; the checks stay free inside ``jit`` (answers compared with numpy here)."""

import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sharpsim as ss

KEY = jax.random.PRNGKey(0)
PROBS = np.array([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3]])
LOG_TAPE = np.log(np.array([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]]))


@pytest.fixture(scope="module")
def hard():
    instance = ss.make("hard", num_rare=2, num_candidates=4)
    return instance, instance.model_class


@pytest.fixture(scope="module")
def tab():
    return ss.TabularPolicy(PROBS)


# --- the Bayes learners of the hard family -------------------------------------------------------------------
@pytest.mark.parametrize("learner, extra", [(ss.bayes_hard_learner, {"num_samples": 2}),
                                            (ss.adaptive_bayes_hard_learner, {"max_samples": 8})])
def test_bayes_learners_refuse_a_class_of_other_spaces(hard, learner, extra):
    instance, _ = hard
    with pytest.raises(ValueError, match=r"model_class has num_prompts=4 but the oracle's base policy has num_prompts=3"):
        learner(KEY, ss.Oracle(instance), ss.HardClass(3, 4, 0.25), 4, **extra)


def test_bayes_learner_refuses_an_oracle_of_other_spaces(hard, tab):
    _, model_class = hard
    with pytest.raises(ValueError, match=r"the oracle's base policy has num_prompts=2"):
        ss.bayes_hard_learner(KEY, ss.Oracle(tab), model_class, 4, 2)


HARD_VALID = {"prompts": np.array([1, 2]), "responses": np.array([[1, 2], [3, 3]]),
              "log_probs": np.log(np.full((2, 2), 0.25)), "weights": None}


@pytest.mark.parametrize("arg, value, error, message", [
    ("prompts", [3, 3], ValueError, r"^prompts .*\[0, 3\).* 3$"),
    ("prompts", [-1, -1], ValueError, r"^prompts .*\[0, 3\).* -1$"),
    ("prompts", [0.5, 0.5], TypeError, r"^prompts .*integer.*float64"),
    ("prompts", None, TypeError, r"^prompts .*integer.*NoneType"),
    ("responses", [[5, 1], [1, 1]], ValueError, r"^responses .*\[0, 5\).* 5$"),
    ("responses", "ab", TypeError, r"^responses .*integer.*str"),
    ("log_probs", np.full((2, 2), np.nan), ValueError, r"^log_probs .*nan"),
    ("log_probs", "abc", TypeError, r"^log_probs .*real numbers"),
    ("weights", [np.nan, 1.0], ValueError, r"weights must be finite; entry \(0,\) is nan"),
    ("weights", [np.inf, 1.0], ValueError, r"weights must be finite"),
    ("weights", [-1.0, 1.0], ValueError, r"weights must be non-negative; entry \(0,\) is -1"),
    ("weights", [1.0, 1.0, 1.0], ValueError, r"weights must have the shape of prompts \(2,\)"),
    ("weights", ["a", "a"], TypeError, r"^weights .*real numbers"),
])
def test_hard_posterior_names_a_bad_argument(hard, arg, value, error, message):
    _, model_class = hard
    with pytest.raises(error, match=message):
        ss.hard_posterior(model_class, **{**HARD_VALID, arg: value})


@pytest.mark.slow  # compile-heavy (seconds): the slow suite runs it
def test_hard_posterior_still_answers_under_jit(hard):
    _, model_class = hard
    direct = ss.hard_posterior(model_class, **HARD_VALID)
    jitted = jax.jit(lambda p, r, l: ss.hard_posterior(model_class, p, r, l))(
        HARD_VALID["prompts"], HARD_VALID["responses"], HARD_VALID["log_probs"])
    np.testing.assert_array_equal(np.asarray(direct), np.asarray(jitted))


# --- running_best_index / adaptive_stopping_time -------------------------------------------------------------
BAD_TAPES = [
    (np.array(1.0), ValueError, r"log_probs must be an array \[\.\.\., K\] .* got shape \(\)"),
    (np.zeros((2, 0)), ValueError, r"log_probs must be an array \[\.\.\., K\] .* got shape \(2, 0\)"),
    (np.full((2, 3), np.nan), ValueError, r"^log_probs .*\(0, 0\).*nan"),
    ("abc", TypeError, r"^log_probs .*real numbers.*str"),
    (None, TypeError, r"^log_probs .*real numbers.*NoneType"),
    ([["a", "b", "c"]], TypeError, r"^log_probs .*real numbers"),
    (np.full((2, 3), 0.5), ValueError, r"log_probs must hold log-probabilities \(<= 0\); entry \(0, 0\) is 0\.5"),
]


@pytest.mark.parametrize("value, error, message", BAD_TAPES)
def test_running_best_index_names_a_bad_tape(value, error, message):
    with pytest.raises(error, match=message):
        ss.running_best_index(value)


@pytest.mark.parametrize("value, error, message", BAD_TAPES)
def test_adaptive_stopping_time_names_a_bad_tape(value, error, message):
    with pytest.raises(error, match=message):
        ss.adaptive_stopping_time(value, 1.0)


def _numpy_running_best(log_probs):
    picks = np.zeros(log_probs.shape, int)
    for row in range(log_probs.shape[0]):
        best = 0
        for k in range(log_probs.shape[1]):
            if log_probs[row, k] > log_probs[row, best]:
                best = k
            picks[row, k] = best
    return picks


def test_tape_checks_are_free_under_jit_and_keep_minus_inf():
    tape = np.array([[-np.inf, -np.inf, -1.0], [-1e-300, -1e-300, -np.inf]])
    expected = _numpy_running_best(tape)
    np.testing.assert_array_equal(np.asarray(ss.running_best_index(tape)), expected)
    np.testing.assert_array_equal(np.asarray(jax.jit(ss.running_best_index)(tape)), expected)
    # Eq. 10 with μ = 1: the first k with k · max_{j≤k} π_j ≥ 1
    probs = np.exp(LOG_TAPE)
    first = [next((k + 1 for k in range(3) if (k + 1) * probs[r, :k + 1].max() >= 1.0), 3) for r in range(2)]
    stop, capped = jax.jit(lambda t: ss.adaptive_stopping_time(t, 1.0))(LOG_TAPE)
    np.testing.assert_array_equal(np.asarray(stop), first)
    np.testing.assert_array_equal(np.asarray(capped), [f == 3 and 3 * probs[r].max() < 1.0 for r, f in enumerate(first)])


# --- RLHF -----------------------------------------------------------------------------------------------------
LOSS_VALID = {"policy_log_probs": np.log([[0.5, 0.3], [0.2, 0.6]]), "base_log_probs": np.log([[0.4, 0.4], [0.3, 0.5]]),
              "beta": 0.5, "rewards": None, "weights": None}


@pytest.mark.parametrize("arg, value, error, message", [
    ("policy_log_probs", np.full((2, 2), np.nan), ValueError, r"^policy_log_probs .*nan"),
    ("policy_log_probs", "abc", TypeError, r"^policy_log_probs .*real numbers"),
    ("base_log_probs", np.full((2, 2), np.nan), ValueError, r"^base_log_probs .*nan"),
    ("base_log_probs", None, TypeError, r"^base_log_probs .*real numbers"),
    ("rewards", np.full((2, 2), np.nan), ValueError, r"^rewards must be finite.*nan"),
    ("rewards", "abc", TypeError, r"^rewards .*real numbers"),
    ("beta", np.nan, ValueError, r"beta must lie in \(0, inf\), got nan"),
    ("beta", 0.0, ValueError, r"beta must lie in \(0, inf\), got 0\.0"),
    ("beta", True, TypeError, r"beta must be a real number"),
    ("beta", "0.5", TypeError, r"beta must be a real number"),
    ("weights", [np.nan, 1.0], ValueError, r"weights must be finite"),
    ("weights", [-1.0, 1.0], ValueError, r"weights must be non-negative"),
    ("weights", [[1.0, 1.0]], ValueError, r"weights must have shape \(2,\) \(one weight a pair\), got shape \(1, 2\)"),
    ("weights", [1.0, 1.0, 1.0], ValueError, r"weights must have shape \(2,\)"),
    ("weights", "abc", TypeError, r"^weights .*real numbers"),
])
def test_rlhf_regression_loss_names_a_bad_argument(arg, value, error, message):
    with pytest.raises(error, match=message):
        ss.rlhf_regression_loss(**{**LOSS_VALID, arg: value})


def test_rlhf_regression_loss_matches_numpy_eagerly_and_under_jit():
    p, b, beta = LOSS_VALID["policy_log_probs"], LOSS_VALID["base_log_probs"], 0.5
    weights = np.array([2.0, 0.5])
    residuals = beta * ((p[:, 0] - b[:, 0]) - (p[:, 1] - b[:, 1])) - (b[:, 0] - b[:, 1])
    expected = np.sum(weights * residuals**2)
    assert float(ss.rlhf_regression_loss(p, b, beta, weights=weights)) == pytest.approx(expected, rel=1e-13)
    jitted = jax.jit(lambda p, b, w: ss.rlhf_regression_loss(p, b, beta, weights=w))(p, b, weights)
    assert float(jitted) == pytest.approx(expected, rel=1e-13)


def test_rlhf_sharpen_names_model_class(tab):
    with pytest.raises(TypeError, match=r"^model_class: rlhf_sharpen fits TabularClass .* got str"):
        ss.rlhf_sharpen(KEY, ss.Oracle(tab), "abc", 4, 0.5)


# --- XPO ------------------------------------------------------------------------------------------------------
def _xpo(tab, **changes):
    kwargs = {"num_steps": 2, "num_validation": 2, "reward_range": 5.0, "value_range": 5.0, **changes}
    return ss.xpo_sharpen(KEY, ss.Oracle(tab), ss.TabularClass.like(tab), 2, 0.5, 0.1, **kwargs)


@pytest.mark.parametrize("arg, value, error, message", [
    ("initial_params", np.full((2, 3), np.nan), ValueError, r"initial_params must be finite; entry \(0, 0\) is nan"),
    ("initial_params", "abc", TypeError, r"^initial_params .*real numbers"),
    ("reward_range", True, TypeError, r"reward_range must be a real number"),
    ("reward_range", "0.5", TypeError, r"reward_range must be a real number"),
    ("reward_range", [0.5, 0.5], TypeError, r"reward_range must be a real number"),
    ("value_range", True, TypeError, r"value_range must be a real number"),
    ("value_range", "0.5", TypeError, r"value_range must be a real number"),
    ("num_steps", 10**9, ValueError, r"num_steps must be an integer in \[1, 1000000\] .* got 1000000000"),
    ("num_steps", 10**30, ValueError, r"num_steps must be an integer in \[1, 1000000\]"),
    ("num_validation", 10**30, ValueError, r"num_validation is too large"),
])
def test_xpo_sharpen_names_a_bad_argument(tab, arg, value, error, message):
    start = time.perf_counter()
    with pytest.raises(error, match=message):
        _xpo(tab, **{arg: value})
    assert time.perf_counter() - start < 5.0  # refused, not attempted


def test_xpo_sharpen_caps_the_total_optimizer_steps(tab):
    with pytest.raises(ValueError, match=r"num_rounds \* num_steps must be at most 100000000"):
        ss.xpo_sharpen(KEY, ss.Oracle(tab), ss.TabularClass.like(tab), 1000, 0.5, 0.1, num_steps=10**6,
                       num_validation=2, reward_range=5.0, value_range=5.0)


def test_xpo_sharpen_names_model_class(tab):
    finite = ss.FiniteClass.from_policies([tab, tab])
    with pytest.raises(TypeError, match=r"^model_class: xpo_sharpen supports .* got FiniteClass"):
        ss.xpo_sharpen(KEY, ss.Oracle(tab), finite, 2, 0.5, 0.1, num_steps=2, num_validation=2, reward_range=5.0,
                       value_range=5.0)


@pytest.mark.parametrize("tape, message", [(np.full((1, 3), np.nan), r"^log_probs .*nan"),
                                           (np.full((1, 3), 0.5), r"^log_probs must hold log-probabilities .* 0\.5")])
def test_a_bad_traced_tape_is_caught_in_checked_mode(tape, message):
    checked = ss.checked(jax.jit(ss.running_best_index))
    np.testing.assert_array_equal(np.asarray(checked(LOG_TAPE)), _numpy_running_best(LOG_TAPE))
    with pytest.raises(ValueError, match=message):
        checked(tape)
