"""Issue 12 for the model classes: bad training data, constructor arguments and optimizer settings are a
``ValueError``/``TypeError`` naming the argument (checked eagerly; under ``jit`` the data are trusted as before),
sizes that cannot fit are refused before allocation, and valid extremes stay finite (against numpy written here)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sharpsim  # noqa: F401  (float64)
from sharpsim.classes import (
    AutoregressiveLinearClass,
    FiniteClass,
    HardClass,
    LinearSoftmaxClass,
    ProductClass,
    TabularClass,
    best_achievable_log_mass,
    minimize_on_balls,
    project_to_balls,
)
from sharpsim.core.validation import MEMORY_ENVIRONMENT_VARIABLE
from sharpsim.instances.registry import make

NAN = float("nan")
SMALL_LIMIT = str(2**20)  # 1 MiB
FEATURES = np.random.default_rng(0).normal(size=(3, 4, 2))  # X = 3 prompts, Y = 4 responses, d = 2


def _needle(coverage):
    return make("needle", num_prompts=3, num_responses=4, coverage=coverage)


# every class below has X = 3 prompts and Y = 4 responses
CLASSES = {
    "TabularClass": lambda: TabularClass(4, num_prompts=3),
    "FiniteClass": lambda: FiniteClass.from_policies([_needle(2.0), _needle(3.0)]),
    "ProductClass": lambda: ProductClass.shared(np.array([[0.5, 0.5, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25]]),
                                                num_prompts=3),
    "LinearSoftmaxClass": lambda: LinearSoftmaxClass(FEATURES, 2.0),
    "HardClass": lambda: HardClass(2, 3, 0.25),
}

BAD_DATA = [
    ("lengths", ([0, 1], [0], None), ValueError, r"prompts has shape \(2,\) but responses has shape \(1,\)"),
    ("response too large", ([0], [4], None), ValueError, r"responses must lie in \[0, 4\) .*got index 4"),
    ("negative response", ([0], [-1], None), ValueError, r"responses must lie in \[0, 4\) .*got index -1"),
    ("negative prompt", ([-1], [0], None), ValueError, r"prompts must lie in \[0, 3\) .*got index -1"),
    ("prompt too large", ([3], [0], None), ValueError, r"prompts must lie in \[0, 3\) .*got index 3"),
    ("float prompts", ([0.0], [1], None), TypeError, r"prompts must be an integer array of indices, got dtype float64"),
    ("float responses", ([0], [1.0], None), TypeError, r"responses must be an integer array of indices"),
    ("bool prompts", ([True], [1], None), TypeError, r"prompts must be an integer array of indices, got dtype bool"),
    ("nan weight", ([0, 1], [1, 1], [1.0, NAN]), ValueError, r"weights must be finite; entry \(1,\) is nan"),
    ("negative weight", ([0], [1], [-1.0]), ValueError, r"weights must be non-negative; entry \(0,\) is -1\.0"),
    ("weights shape", ([0, 1], [1, 1], [1.0]), ValueError, r"weights has shape \(1,\) but prompts has shape \(2,\)"),
    ("weights text", ([0], [1], ["a"]), TypeError, r"weights must hold real numbers"),
]


@pytest.mark.parametrize("kind, data, error, message", BAD_DATA, ids=[case[0] for case in BAD_DATA])
@pytest.mark.parametrize("class_name", sorted(CLASSES))
def test_fit_names_bad_training_data(class_name, kind, data, error, message):
    model_class = CLASSES[class_name]()
    prompts, responses, weights = (None if value is None else np.asarray(value) for value in data)
    with pytest.raises(error, match=message):
        model_class.fit(prompts, responses, weights)


@pytest.mark.parametrize("class_name", ["TabularClass", "LinearSoftmaxClass", "HardClass"])
@pytest.mark.slow  # one compilation per class
def test_fit_under_jit_trusts_its_data_and_agrees_with_the_eager_fit(class_name):
    """The checks run on concrete data only; traced data reach the fit unchecked, as before."""
    model_class = CLASSES[class_name]()
    prompts, responses, weights = jnp.array([0, 1, 1, 2]), jnp.array([1, 2, 2, 3]), jnp.array([1.0, 0.5, 2.0, 1.0])
    eager = model_class.fit(prompts, responses, weights).to_tabular()
    jitted = jax.jit(lambda p, r, w: model_class.fit(p, r, w).to_tabular())(prompts, responses, weights)
    np.testing.assert_allclose(np.asarray(jitted.probs), np.asarray(eager.probs), rtol=1e-9, atol=1e-12)


def _feature_map(prompt, tokens, position):
    return jnp.array([1.0 * (tokens[position] == 0), 1.0 * (tokens[position] == 1)])


AR_BAD_DATA = [
    ("one sequence flat", ([0], [1, 0], None), ValueError,
     r"responses must be token sequences of shape \(n, H\) = \(1, 2\), got \(2,\)"),
    ("scalar response", ([0], 1, None), ValueError, r"responses must be token sequences .* got \(\)"),
    ("token too large", ([0], [[4, 0]], None), ValueError, r"responses tokens must lie in \[0, 4\)"),
    ("negative token", ([0], [[0, -1]], None), ValueError, r"responses tokens must lie in \[0, 4\)"),
    ("prompt too large", ([1], [[0, 0]], None), ValueError, r"prompts must lie in \[0, 1\); got values in \[1, 1\]"),
    ("float tokens", ([0], [[0.0, 1.0]], None), TypeError, r"responses must be integer token sequences"),
    ("float prompts", ([0.0], [[0, 1]], None), TypeError, r"prompts must be integer prompt indices"),
    ("nan weight", ([0], [[0, 1]], [NAN]), ValueError, r"weights must be finite; entry \(0,\) is nan"),
    ("weights shape", ([0], [[0, 1]], [1.0, 1.0]), ValueError, r"weights has shape \(2,\) but prompts has shape"),
]


@pytest.mark.parametrize("kind, data, error, message", AR_BAD_DATA, ids=[case[0] for case in AR_BAD_DATA])
def test_autoregressive_fit_names_bad_training_data(kind, data, error, message):
    model_class = AutoregressiveLinearClass(_feature_map, 4, 2, 2, 1.0)
    prompts, responses, weights = (None if value is None else np.asarray(value) for value in data)
    with pytest.raises(error, match=message):
        model_class.fit(prompts, responses, weights)


# --- constructors, members and the optimizer --------------------------------------------------------------
BAD_CALLS = [
    ("TabularClass num_responses", lambda: TabularClass(2.5, num_prompts=2), TypeError,
     r"num_responses must be an integer >= 1, got 2\.5"),
    ("TabularClass num_prompts", lambda: TabularClass(3, num_prompts=0), ValueError, r"num_prompts must be an integer"),
    ("TabularClass neither", lambda: TabularClass(3), ValueError, r"needs prompt_probs .* or num_prompts"),
    ("TabularClass mismatch", lambda: TabularClass(3, [0.5, 0.5], num_prompts=3), ValueError,
     r"prompt_probs has 2 entries but the class has 3 prompts"),
    ("TabularClass prompt_probs", lambda: TabularClass(3, [0.5, 0.6]), ValueError, r"prompt_probs must sum to 1"),
    ("TabularClass.like", lambda: TabularClass.like("x"), TypeError, r"base must be a policy"),
    ("FiniteClass ndim", lambda: FiniteClass([[0.5, 0.5]]), ValueError, r"policies must be a non-empty 3-d array"),
    ("FiniteClass simplex", lambda: FiniteClass(np.full((1, 1, 2), 0.6)), ValueError, r"policies row \(0, 0\)"),
    ("from_policies empty", lambda: FiniteClass.from_policies([]), ValueError, r"policies is empty"),
    ("from_policies item", lambda: FiniteClass.from_policies([_needle(2.0), "a"]), TypeError, r"policies\[1\]"),
    ("from_policies type", lambda: FiniteClass.from_policies(3), TypeError, r"policies must be a list of policies"),
    ("shared candidates", lambda: ProductClass.shared([0.5, 0.5], num_prompts=2), ValueError,
     r"candidates must be a non-empty 2-d array"),
    ("shared num_prompts", lambda: ProductClass.shared([[0.5, 0.5]], num_prompts=-1), ValueError,
     r"num_prompts must be an integer >= 1, got -1"),
    ("shared prompt_probs", lambda: ProductClass.shared([[0.5, 0.5]], prompt_probs=1.0), ValueError,
     r"prompt_probs must be a 1-d array"),
    ("LinearSoftmaxClass features", lambda: LinearSoftmaxClass(np.full((1, 2, 1), NAN), 1.0), ValueError,
     r"features must be finite"),
    ("LinearSoftmaxClass ndim", lambda: LinearSoftmaxClass(np.ones((1, 2)), 1.0), ValueError,
     r"features must be a non-empty 3-d array"),
    ("LinearSoftmaxClass radius", lambda: LinearSoftmaxClass(FEATURES, NAN), ValueError, r"radius must lie in"),
    ("LinearSoftmaxClass max_steps", lambda: LinearSoftmaxClass(FEATURES, 1.0, max_steps=0), ValueError,
     r"max_steps must be an integer >= 1"),
    ("LinearSoftmaxClass momentum", lambda: LinearSoftmaxClass(FEATURES, 1.0, momentum=1.0), ValueError,
     r"momentum must lie in \[0, 1\)"),
    ("LinearSoftmaxClass tolerance", lambda: LinearSoftmaxClass(FEATURES, 1.0, tolerance=0.0), ValueError,
     r"tolerance must lie in \(0, inf\)"),
    ("policy theta shape", lambda: LinearSoftmaxClass(FEATURES, 1.0).policy(np.ones(3)), ValueError,
     r"theta must have shape \(d,\) = \(2,\), got \(3,\)"),
    ("policy theta nan", lambda: LinearSoftmaxClass(FEATURES, 1.0).policy([NAN, 0.0]), ValueError,
     r"theta must be finite"),
    ("negative_log_likelihood counts", lambda: LinearSoftmaxClass(FEATURES, 1.0).negative_log_likelihood(
        jnp.zeros(2), -jnp.ones((3, 4))), ValueError, r"counts must be non-negative"),
    ("negative_log_likelihood shape", lambda: LinearSoftmaxClass(FEATURES, 1.0).negative_log_likelihood(
        jnp.zeros(2), jnp.ones((2, 2))), ValueError, r"counts must have shape \[X, Y\] = \(3, 4\)"),
    ("AR horizon", lambda: AutoregressiveLinearClass(_feature_map, 2, 0, 2, 1.0), ValueError,
     r"horizon must be an integer >= 1, got 0"),
    ("AR dimension", lambda: AutoregressiveLinearClass(_feature_map, 2, 2, 3, 1.0), ValueError,
     r"dimension=3 does not match the feature map"),
    ("AR vocab_size", lambda: AutoregressiveLinearClass(_feature_map, 1, 2, 2, 1.0), ValueError,
     r"vocab_size must be an integer >= 2, got 1"),
    ("AR radius", lambda: AutoregressiveLinearClass(_feature_map, 2, 2, 2, -1.0), ValueError, r"radius must lie in"),
    ("AR feature_map", lambda: AutoregressiveLinearClass(3, 2, 2, 2, 1.0), TypeError, r"feature_map must be callable"),
    ("AR like", lambda: AutoregressiveLinearClass.like("x", 1.0), TypeError, r"base must be a LinearSoftmaxARPolicy"),
    ("AR policy", lambda: AutoregressiveLinearClass(_feature_map, 2, 2, 2, 1.0).policy(np.ones(2)), ValueError,
     r"theta must have shape \(H, d\) = \(2, 2\)"),
    ("HardClass num_candidates", lambda: HardClass(2, 1, 0.2), ValueError, r"num_candidates must be >= 2"),
    ("HardClass int64", lambda: HardClass(2, 10**30, 0.2), ValueError, r"num_candidates must be < 2\^62"),
    ("HardClass max_rare", lambda: HardClass(2, 4, 0.2, max_rare=1), ValueError, r"max_rare must be an integer >= 2"),
    ("HardClass top_mass", lambda: HardClass(2, 4, 0.2, top_mass=0.1), ValueError, r"top_mass must lie in"),
    ("HardClass coverage p", lambda: HardClass(2, 4, 0.2).coverage(0.5), ValueError, r"p must lie in \[1, inf\)"),
    ("bon_class zero", lambda: HardClass(2, 4, 0.2).bon_class(0), ValueError, r"num_samples must be an integer >= 1"),
    ("bon_class float", lambda: HardClass(2, 4, 0.2).bon_class(2.5), TypeError, r"num_samples must be an integer"),
    ("bon_top_mass grid", lambda: HardClass(2, 4, 0.2).bon_top_mass(np.array([2, 3])), ValueError,
     r"num_samples must be a single number"),
    ("adaptive_bon_class mu", lambda: HardClass(2, 4, 0.2).adaptive_bon_class(NAN), ValueError,
     r"mu must be a finite number > 0, got nan"),
    ("with_top_mass None", lambda: HardClass(2, 4, 0.2).with_top_mass(None), TypeError, r"top_mass must be a number"),
    ("member index", lambda: HardClass(2, 4, 0.2).member(np.array([0, 4])), ValueError,
     r"index entries must lie in \[0, 4\)"),
    ("member_table index", lambda: HardClass(2, 4, 0.2).member_table(np.array([0.5, 1.0])), ValueError,
     r"index must be an integer array of shape \(2,\)"),
    ("rows padded", lambda: HardClass(2, 4, 0.2, max_rare=3).rows(), ValueError, r"rows\(\) materializes the class"),
    ("best mass policy", lambda: best_achievable_log_mass("x", [1, 0], 1.0), TypeError,
     r"policy must be a LinearSoftmaxARPolicy"),
    ("best mass prompt", lambda: best_achievable_log_mass(make("not_closed"), [1, 0], 1.0, prompt=5), ValueError,
     r"prompt must be a prompt index in \[0, 1\), got 5"),
    ("best mass learning_rate", lambda: best_achievable_log_mass(make("not_closed"), [1, 0], 1.0,
                                                                 learning_rate=NAN), ValueError,
     r"learning_rate must lie in \(0, inf\), got nan"),
    ("best mass norm_bound", lambda: best_achievable_log_mass(make("not_closed"), [1, 0], 0.0), ValueError,
     r"norm_bound must lie in \(0, inf\)"),
    ("best mass num_steps", lambda: best_achievable_log_mass(make("not_closed"), [1, 0], 1.0, num_steps=0),
     ValueError, r"num_steps must be an integer >= 1"),
    ("best mass target dtype", lambda: best_achievable_log_mass(make("not_closed"), ["a", "b"], 1.0), TypeError,
     r"target must be integer token sequences"),
    ("best mass target length", lambda: best_achievable_log_mass(make("not_closed"), [1, 0, 0], 1.0), ValueError,
     r"target must have a trailing axis of length H=2"),
    ("minimize objective", lambda: minimize_on_balls(3, jnp.zeros(2), 1.0, 1.0, 10, 1e-6, 0.9), TypeError,
     r"objective must be callable"),
    ("minimize theta0", lambda: minimize_on_balls(jnp.sum, jnp.array([NAN, 0.0]), 1.0, 1.0, 10, 1e-6, 0.9),
     ValueError, r"theta0 must be finite"),
    ("minimize radius", lambda: minimize_on_balls(jnp.sum, jnp.zeros(2), -1.0, 1.0, 10, 1e-6, 0.9), ValueError,
     r"radius must lie in \(0, inf\), got -1\.0"),
    ("minimize smoothness", lambda: minimize_on_balls(jnp.sum, jnp.zeros(2), 1.0, NAN, 10, 1e-6, 0.9), ValueError,
     r"smoothness must lie in \[0, inf\), got nan"),
    ("minimize max_steps", lambda: minimize_on_balls(jnp.sum, jnp.zeros(2), 1.0, 1.0, 0, 1e-6, 0.9), ValueError,
     r"max_steps must be an integer >= 1, got 0"),
    ("minimize tolerance", lambda: minimize_on_balls(jnp.sum, jnp.zeros(2), 1.0, 1.0, 10, -1.0, 0.9), ValueError,
     r"tolerance must lie in \(0, inf\)"),
    ("minimize momentum", lambda: minimize_on_balls(jnp.sum, jnp.zeros(2), 1.0, 1.0, 10, 1e-6, 2.0), ValueError,
     r"momentum must lie in \[0, 1\), got 2\.0"),
    ("project radius", lambda: project_to_balls(jnp.ones(2), -1.0), ValueError, r"radius must lie in \[0, inf\)"),
]


@pytest.mark.parametrize("name, call, error, message", BAD_CALLS, ids=[case[0] for case in BAD_CALLS])
def test_class_constructors_members_and_optimizer_name_a_bad_argument(name, call, error, message):
    with pytest.raises(error, match=message):
        call()


# --- sizes that cannot fit ------------------------------------------------------------------------------
TOO_LARGE = [
    ("TabularClass", lambda: TabularClass(10**6, num_prompts=10), r"TabularClass with num_prompts=10, "
                                                                    r"num_responses=1000000 is too large"),
    ("TabularClass prompts", lambda: TabularClass(4, num_prompts=10**6), r"num_prompts=1000000, num_responses=4"),
    ("ProductClass.shared", lambda: ProductClass.shared([[0.5, 0.5]], num_prompts=10**6), r"num_prompts=1000000"),
    ("AutoregressiveLinearClass", lambda: AutoregressiveLinearClass(_feature_map, 2, 10**5, 2, 1.0),
     r"horizon=100000, dimension=2 is too large"),
    ("AutoregressiveLinearClass.fit", lambda: AutoregressiveLinearClass(_feature_map, 4, 2, 2, 1.0).fit(
        np.zeros(10**4, int), np.zeros((10**4, 2), int)), r"AutoregressiveLinearClass.fit on n=10000 sequences"),
    ("HardClass", lambda: HardClass(10**6, 4, 0.2), r"HardClass with num_rare=1000000, max_rare=1000000 is too large"),
    ("HardClass.rows", lambda: HardClass(2, 10**6, 0.2).rows(), r"num_candidates=1000000 is too large"),
    ("HardClass.fit", lambda: HardClass(2, 4, 0.2, max_candidates=10**6).fit(np.array([0]), np.array([0])),
     r"HardClass.fit with max_rare=2, max_candidates=1000000 is too large"),
    ("HardClass.member_table", lambda: HardClass(2, 10**6, 0.2).member_table(np.array([0, 1])),
     r"max_candidates=1000000 is too large"),
]


@pytest.mark.parametrize("name, call, message", TOO_LARGE, ids=[case[0] for case in TOO_LARGE])
def test_sizes_beyond_the_limit_are_refused_before_allocating(monkeypatch, name, call, message):
    monkeypatch.setenv(MEMORY_ENVIRONMENT_VARIABLE, SMALL_LIMIT)
    with pytest.raises(ValueError, match=message):
        call()


# --- valid extremes stay finite ----------------------------------------------------------------------------
@pytest.mark.parametrize("p", [1.0, 3.0, 400.0, 1e6])
def test_hard_coverage_for_large_p_is_finite_and_matches_log_space_numpy(p):
    """C_cov,γ,p = ((1 − Δ) + (M(1 − γ))^p Δ)^(1/p); (M(1 − γ))^p overflows a float beyond p ≈ 341 at
    M(1 − γ) = 8."""
    delta, base = 0.25, 16 * 0.5
    expected = np.exp(np.logaddexp(np.log1p(-delta), p * np.log(base) + np.log(delta)) / p)
    coverage = HardClass(4, 16, delta).coverage(p)
    assert math.isfinite(coverage)
    assert coverage == pytest.approx(expected, rel=1e-12)


def test_bon_masses_for_huge_arguments_are_one():
    model_class = HardClass(4, 16, 0.25)
    assert float(model_class.bon_top_mass(10**30)) == 1.0
    assert float(model_class.bon_top_mass(10**400)) == 1.0
    assert float(model_class.adaptive_bon_top_mass(1e300)) == 1.0
    assert float(model_class.bon_class(10**30).top_mass) == 1.0
