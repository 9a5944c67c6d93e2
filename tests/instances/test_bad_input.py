"""Issue 12 for the instance families: every bad parameter of ``make(name, ...)`` and of the instance helpers is a
``ValueError``/``TypeError`` naming it, sizes that cannot fit are refused before anything is allocated, and valid
extreme parameters give finite, correct instances (checked against numpy written here)."""

import math
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sharpsim  # noqa: F401  (float64)
from sharpsim.classes.hard import HardClass
from sharpsim.core.validation import MEMORY_ENVIRONMENT_VARIABLE, max_array_bytes
from sharpsim.instances.autoregressive import (
    cut_value,
    max_cut_brute_force,
    not_closed_best_mass,
    random_graph,
    sequences_of,
)
from sharpsim.instances.hard import hard_parameters
from sharpsim.instances.rare_prompt import rare_prompt_coverage, rare_prompt_instance
from sharpsim.instances.registry import family_names, make, register_family
from sharpsim.instances.sphere import lexicode

KEY = jax.random.PRNGKey(0)
SMALL_LIMIT = str(2**20)  # 1 MiB: every default instance fits, none of the sizes below does
ADJACENCY = np.array([[0, 1, 1, 0], [1, 0, 1, 0], [1, 1, 0, 1], [0, 0, 1, 0]], float)


# --- sizes that cannot fit ------------------------------------------------------------------------------
def test_the_issues_needle_is_refused_at_once_against_the_real_limit(monkeypatch):
    """make("needle", num_responses=10**9) used to allocate until the machine died."""
    monkeypatch.delenv(MEMORY_ENVIRONMENT_VARIABLE, raising=False)
    family_names()  # import the family modules outside the timing
    if max_array_bytes() >= 4 * 10**9 * 8:
        pytest.skip("this machine could hold the issue's 30 GiB table; the next test covers a size none can hold")
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"needle with num_prompts=4, num_responses=1000000000 is too large"):
        make("needle", num_responses=10**9)
    assert time.perf_counter() - start < 1.0


def test_a_table_no_machine_holds_is_refused_at_once_against_the_real_limit(monkeypatch):
    monkeypatch.delenv(MEMORY_ENVIRONMENT_VARIABLE, raising=False)
    family_names()
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"num_prompts=1000000000, num_responses=1000000000 is too large"):
        make("needle", num_prompts=10**9, num_responses=10**9)  # 8 EB
    assert time.perf_counter() - start < 1.0


TOO_LARGE = [
    ("needle", dict(num_responses=10**6), "num_responses=1000000"),
    ("near_tie", dict(num_prompts=10**6), "num_prompts=1000000"),
    ("two_type", dict(num_prompts=10**6), "num_prompts=1000000"),
    ("ties", dict(num_responses=10**6), "num_responses=1000000"),
    ("dirichlet", dict(key=KEY, num_prompts=10**3, num_responses=10**3), "num_responses=1000"),
    ("zipf", dict(num_responses=10**6), "num_responses=1000000"),
    ("bitstring", dict(horizon=10**6), "horizon=1000000"),
    ("pivotal", dict(horizon=20), "horizon=20"),
    ("greedy_threshold", dict(eta=0.4999), "eta=0.4999"),  # the default |V| grows like 1/(1 − 2η)
    ("not_closed", dict(vocab_size=10**6), "vocab_size=1000000"),
    ("maxcut", dict(key=KEY, num_vertices=30), "num_vertices=30"),
    ("random_tree", dict(key=KEY, horizon=20), "horizon=20"),
    ("random_markov", dict(key=KEY, horizon=10**5), "horizon=100000"),
    ("hard", dict(num_rare=10**6), "num_rare=1000000"),
    ("sphere", dict(dimension=20), "dimension=20"),
    ("hidden_sphere", dict(dimension=20), "dimension=20"),
    ("linear_margin", dict(nuisance_dimension=10**5), "nuisance_dimension=100000"),
]


@pytest.mark.parametrize("name, params, named", TOO_LARGE, ids=[case[0] for case in TOO_LARGE])
def test_every_family_refuses_a_size_beyond_the_limit_before_allocating(monkeypatch, name, params, named):
    monkeypatch.setenv(MEMORY_ENVIRONMENT_VARIABLE, SMALL_LIMIT)
    start = time.perf_counter()
    with pytest.raises(ValueError, match=rf"{named}.* is too large: arrays of shape"):
        make(name, **params)
    assert time.perf_counter() - start < 5.0


def test_the_limit_refuses_only_what_exceeds_it(monkeypatch):
    monkeypatch.setenv(MEMORY_ENVIRONMENT_VARIABLE, SMALL_LIMIT)
    assert make("needle", num_prompts=2, num_responses=2**16 - 1, coverage=4.0).num_responses == 2**16 - 1  # 1 MiB
    with pytest.raises(ValueError, match="num_responses=65537 is too large"):
        make("needle", num_prompts=2, num_responses=2**16 + 1, coverage=4.0)


HELPERS_TOO_LARGE = [
    ("rare_prompt_instance", lambda: rare_prompt_instance(10**6, 3, 0.5), "num_rare=1000000"),
    ("max_cut_brute_force", lambda: max_cut_brute_force(np.eye(20, k=1) + np.eye(20, k=-1)), "n=20 vertices"),
    ("sequences_of", lambda: sequences_of(make("bitstring", horizon=20)), "horizon=20"),
    ("random_graph", lambda: random_graph(KEY, 10**4, 0.5), "num_vertices=10000"),
    ("lexicode", lambda: lexicode(20, 5), "dimension=20"),
    ("HardPolicy.sample_responses", lambda: make("hard").sample_responses(KEY, jnp.zeros(4, int), 10**5),
     "num_samples=100000"),
    ("HardPolicy.to_tabular", lambda: make("hard", num_candidates=10**6).to_tabular(), "max_candidates=1000000"),
]


@pytest.mark.parametrize("name, call, named", HELPERS_TOO_LARGE, ids=[case[0] for case in HELPERS_TOO_LARGE])
def test_instance_helpers_refuse_a_size_beyond_the_limit(monkeypatch, name, call, named):
    monkeypatch.setenv(MEMORY_ENVIRONMENT_VARIABLE, SMALL_LIMIT)
    with pytest.raises(ValueError, match=rf"{named}.* is too large"):
        call()


@pytest.mark.parametrize("name", ["pivotal", "random_tree"])
def test_tree_families_refuse_sequence_spaces_beyond_int64_without_computing_them(name):
    params = dict(key=KEY) if name == "random_tree" else {}
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"horizon=1000000000000 has \|V\|\^H = 2\^1000000000000 sequences, beyond"):
        make(name, horizon=10**12, **params)  # 2^(10^12) would take minutes and a terabit to compute
    assert time.perf_counter() - start < 1.0


# --- bad parameters of every family ----------------------------------------------------------------------
NAN, INF = float("nan"), float("inf")
BAD = [
    ("needle", dict(num_responses=2.5), TypeError, r"num_responses must be an integer >= 2, got 2\.5"),
    ("needle", dict(num_responses=True), TypeError, r"num_responses must be an integer >= 2, got True"),
    ("needle", dict(num_prompts=0), ValueError, r"num_prompts must be an integer >= 1, got 0"),
    ("needle", dict(coverage=NAN), ValueError, r"coverage must lie in \[1, 64\), got nan"),
    ("needle", dict(coverage="8"), TypeError, r"coverage must be a real number, got '8'"),
    ("needle", dict(coverage=1e12), ValueError, r"coverage must lie in \[1, 64\), got 1000000000000\.0"),
    ("needle", dict(margin=INF), ValueError, r"margin must lie in \(0, inf\), got inf"),
    ("needle", dict(prompt_probs=[0.5, 0.5]), ValueError, r"prompt_probs has shape \(2,\)"),
    ("near_tie", dict(margin=None), TypeError, r"margin must be a real number, got None"),
    ("near_tie", dict(margin=0.0), ValueError, r"margin must lie in \(0, inf\), got 0\.0"),
    ("two_type", dict(p_lo=NAN), ValueError, r"p_lo must lie in .* got nan"),
    ("two_type", dict(weight_lo=1.0), ValueError, r"weight_lo must lie in \(0, 1\), got 1\.0"),
    ("ties", dict(num_tied=0), ValueError, r"num_tied must be an integer >= 1, got 0"),
    ("ties", dict(num_tied=17), ValueError, r"num_tied must be ≤ num_responses=16, got 17"),
    ("ties", dict(p_top=-0.1), ValueError, r"p_top must lie in \(0, 0\.5\], got -0\.1"),
    ("dirichlet", dict(), TypeError, r"family 'dirichlet' needs parameter\(s\) \['key'\]"),
    ("dirichlet", dict(key=None), TypeError, r"key must be a PRNG key .* got None"),
    ("dirichlet", dict(key=0), TypeError, r"key must be a PRNG key .* got 0"),
    ("dirichlet", dict(key=np.zeros(3)), TypeError, r"key must be a PRNG key .* got float64 of shape \(3,\)"),
    ("dirichlet", dict(key=KEY, concentration=NAN), ValueError, r"concentration must lie in \(0, inf\), got nan"),
    ("dirichlet", dict(key=KEY, temperature=1e-310), ValueError, r"temperature must be at least 2\.225e-308"),
    ("zipf", dict(exponent=-1.0), ValueError, r"exponent must lie in \(0, inf\), got -1\.0"),
    ("zipf", dict(temperature=INF), ValueError, r"temperature must lie in \(0, inf\), got inf"),
    ("zipf", dict(key=3), TypeError, r"key must be a PRNG key .* got 3"),
    ("bitstring", dict(coverage=0.5), ValueError, r"coverage must lie in \[1, 65536\), got 0\.5"),
    ("bitstring", dict(horizon=3, target=[0, 2, 1]), ValueError, r"target must be 0/1 with shape"),
    ("bitstring", dict(horizon=4, target=[0, 1]), ValueError, r"target must be 0/1 with shape .* got \(2,\)"),
    ("bitstring", dict(key=1.5), TypeError, r"key must be a PRNG key .* got 1\.5"),
    ("pivotal", dict(p_first=0.5), ValueError, r"p_first must lie in \(0\.5, 0\.666667\), got 0\.5"),
    ("pivotal", dict(vocab_size=1), ValueError, r"vocab_size must be an integer >= 2, got 1"),
    ("greedy_threshold", dict(eta=0.5), ValueError, r"eta must lie in \(0, 0\.5\), got 0\.5"),
    ("greedy_threshold", dict(eta=0.3, vocab_size=3), ValueError, r"needs vocab_size > .* got 3"),
    ("not_closed", dict(bound=-1.0), ValueError, r"bound must lie in \[0, inf\), got -1\.0"),
    ("not_closed", dict(vocab_size=2), ValueError, r"vocab_size must be an integer >= 3, got 2"),
    ("maxcut", dict(), ValueError, r"maxcut needs an adjacency matrix or a key"),
    ("maxcut", dict(adjacency=np.zeros((3, 3))), ValueError, r"adjacency has no edge"),
    ("maxcut", dict(adjacency=np.triu(ADJACENCY)), ValueError, r"adjacency must be a symmetric 0/1 matrix"),
    ("maxcut", dict(adjacency=ADJACENCY, scale=0.5), ValueError, r"scale must lie in \[1, inf\), got 0\.5"),
    ("maxcut", dict(key="x"), TypeError, r"key must be a PRNG key .* got 'x'"),
    ("maxcut", dict(key=KEY, edge_prob=0.0), ValueError, r"edge_prob must lie in \(0, 1\], got 0\.0"),
    ("random_tree", dict(key=KEY, temperature=0.0), ValueError, r"temperature must lie in \(0, inf\), got 0\.0"),
    ("random_tree", dict(key=KEY, concentration=1e-320), ValueError, r"concentration must be at least 2\.225e-308"),
    ("random_tree", dict(key=KEY, vocab_size=2.0), TypeError, r"vocab_size must be an integer >= 2, got 2\.0"),
    ("random_markov", dict(key=KEY, horizon=0), ValueError, r"horizon must be an integer >= 1, got 0"),
    ("random_markov", dict(key=None), TypeError, r"key must be a PRNG key .* got None"),
    ("hard", dict(num_candidates=10**30), ValueError, r"num_candidates must be < 2\^62 .* got 10{30}"),
    ("hard", dict(delta=1.0), ValueError, r"delta must lie in \(0, 1\), got 1\.0"),
    ("hard", dict(gamma=NAN), ValueError, r"gamma must lie in \(0, 1\), got nan"),
    ("hard", dict(key=5), TypeError, r"key must be a PRNG key .* got 5"),
    ("hard", dict(index=[0.0, 1.0, 2.0, 3.0]), ValueError, r"index must be an integer array of shape \(4,\)"),
    ("sphere", dict(scale=1e300), ValueError, r"scale=1e\+300 is too large: γ_margin = exp"),
    ("sphere", dict(scale=1e-320), ValueError, r"scale=1e-320 is too small: .* give radius explicitly"),
    ("sphere", dict(min_distance=2.5), TypeError, r"min_distance must be an integer >= 1, got 2\.5"),
    ("sphere", dict(dimension=30), ValueError, r"dimension must be ≤ 24 .* got 30"),
    ("sphere", dict(optimum=-1), ValueError, r"optimum must be an integer >= 0, got -1"),
    ("sphere", dict(delta=0.0), ValueError, r"delta must lie in \(0, 1\), got 0\.0"),
    ("hidden_sphere", dict(scale=1e308), ValueError, r"scale=1e\+308 is too large"),
    ("hidden_sphere", dict(margin=1e-320), ValueError, r"margin=1e-320 is too small: the default radius"),
    ("hidden_sphere", dict(decoy=10**6), ValueError, r"decoy must be a codeword index in \[0, 256\), got 1000000"),
    ("linear_margin", dict(margin=None), TypeError, r"margin must be a real number, got None"),
    ("linear_margin", dict(seed=-1), ValueError, r"seed must be an integer >= 0, got -1"),
    ("linear_margin", dict(num_responses=2), ValueError, r"num_responses must be an integer >= 3, got 2"),
]


@pytest.mark.parametrize("name, params, error, message", BAD,
                         ids=[f"{case[0]}-{'-'.join(case[1]) or 'none'}-{i}" for i, case in enumerate(BAD)])
def test_every_family_names_a_bad_parameter(name, params, error, message):
    with pytest.raises(error, match=message):
        make(name, **params)


def test_make_names_the_family_and_what_it_accepts():
    with pytest.raises(TypeError, match=r"family 'zipf' got unknown parameter\(s\) \['coverage'\]; it accepts "
                                        r"\['exponent', 'key', 'num_prompts', 'num_responses', 'temperature'\]"):
        make("zipf", coverage=2.0)
    with pytest.raises(TypeError, match=r"instance family name must be a string, got \['needle'\]"):
        make(["needle"])
    with pytest.raises(ValueError, match=r"unknown instance family 'needl' \(name must be a registered family\)"):
        make("needl")
    with pytest.raises(TypeError, match=r"name must be a non-empty string, got ''"):
        register_family("")
    with pytest.raises(TypeError, match=r"name must be a non-empty string, got 3"):
        register_family(3)


# --- bad input of the instance helpers -------------------------------------------------------------------
HELPERS_BAD = [
    ("hard_parameters eps", lambda: hard_parameters(10.0, 1e-320, 4), ValueError, r"eps=1e-320.* needs a number of candidates M beyond"),
    ("hard_parameters coverage", lambda: hard_parameters(NAN, 0.01, 4), ValueError, r"coverage must lie in \[1, inf\)"),
    ("hard_parameters num_rare", lambda: hard_parameters(4.0, 0.01, 0), ValueError, r"num_rare must be an integer"),
    ("sample_prompts", lambda: make("hard").sample_prompts(KEY, 0), ValueError, r"num_prompts must be an integer >= 1"),
    ("sample_responses num_samples", lambda: make("hard").sample_responses(KEY, jnp.zeros(2, int), -1), ValueError,
     r"num_samples must be an integer >= 1, got -1"),
    ("sample_responses prompts", lambda: make("hard").sample_responses(KEY, jnp.array([0, 5]), 3), ValueError,
     r"prompts must lie in \[0, 5\); got values in \[0, 5\]"),
    ("sample_responses prompts str", lambda: make("hard").sample_responses(KEY, ["a"], 3), TypeError,
     r"prompts must be integer prompt indices"),
    ("log_prob responses", lambda: make("hard").log_prob(jnp.array([1]), jnp.array([17])), ValueError,
     r"responses must lie in \[0, 17\)"),
    ("log_prob float responses", lambda: make("hard").log_prob(jnp.array([1]), jnp.array([1.0])), TypeError,
     r"responses must be integer response indices"),
    ("HardPolicy model_class", lambda: type(make("hard"))("abc", jnp.zeros(4, int)), TypeError,
     r"model_class must be a HardClass, got str"),
    ("HardPolicy index", lambda: type(make("hard"))(HardClass(2, 4, 0.2), jnp.array([0, 4])), ValueError,
     r"index entries must lie in \[0, 4\)"),
    ("max_cut_brute_force n", lambda: max_cut_brute_force(np.eye(63, k=1) + np.eye(63, k=-1)), ValueError,
     r"n=63 vertices is beyond 2\^62"),
    ("max_cut_brute_force str", lambda: max_cut_brute_force("x"), TypeError, r"adjacency must hold real numbers"),
    ("cut_value sides length", lambda: cut_value(ADJACENCY, [0, 1]), ValueError, r"sides must have a trailing axis"),
    ("cut_value sides labels", lambda: cut_value(ADJACENCY, [0, 0.5, 1, 1]), ValueError, r"sides must hold 0/1"),
    ("random_graph key", lambda: random_graph(None, 4, 0.5), TypeError, r"key must be a PRNG key"),
    ("not_closed_best_mass type", lambda: not_closed_best_mass("x", 1.0), TypeError, r"policy must be the"),
    ("not_closed_best_mass other", lambda: not_closed_best_mass(make("maxcut", adjacency=ADJACENCY), 1.0), ValueError,
     r"policy must be built by make\('not_closed'\)"),
    ("not_closed_best_mass norm_bound", lambda: not_closed_best_mass(make("not_closed"), NAN), ValueError,
     r"norm_bound must lie in \(0, inf\), got nan"),
    ("sequences_of type", lambda: sequences_of("x"), TypeError, r"policy must be an autoregressive policy"),
    ("sequences_of horizon", lambda: sequences_of(make("bitstring", horizon=100)), ValueError,
     r"2\^100 sequences, beyond int64"),
    ("lexicode dimension", lambda: lexicode(2.0, 1), TypeError, r"dimension must be an integer >= 1, got 2\.0"),
    ("lexicode min_distance", lambda: lexicode(8, 9), ValueError, r"min_distance must lie in \[1, dimension=8\]"),
    ("rare_prompt_instance", lambda: rare_prompt_instance(2.0, 3, 0.5), TypeError, r"num_rare must be an integer"),
    ("rare_prompt_coverage str", lambda: rare_prompt_coverage("a", 0.5), TypeError, r"num_candidates must hold real"),
    ("rare_prompt_coverage inf", lambda: rare_prompt_coverage(INF, 0.5), ValueError,
     r"num_candidates must be > 0 and finite, got inf"),
    ("realizes", lambda: make("sphere", dimension=4).realizes(NAN), ValueError, r"beta must lie in \(0, inf\)"),
]


@pytest.mark.parametrize("name, call, error, message", HELPERS_BAD, ids=[case[0] for case in HELPERS_BAD])
def test_instance_helpers_name_a_bad_argument(name, call, error, message):
    with pytest.raises(error, match=message):
        call()


# --- valid extremes stay finite and correct --------------------------------------------------------------
def test_bitstring_with_a_long_horizon_and_a_huge_coverage_is_exact():
    """H = 2000 (2^H overflows a float) and C_cov = 1e300: π(y*) = q^H = 1/C_cov with q = C^(−1/H)."""
    policy = make("bitstring", horizon=2000, coverage=1e300)
    q = 10.0 ** (-300.0 / 2000)
    np.testing.assert_allclose(np.asarray(policy.initial), [[1 - q, q]], rtol=1e-13)
    log_mass = float(policy.log_prob(jnp.array([0]), jnp.ones((1, 2000), int))[0])
    assert log_mass == pytest.approx(-300 * math.log(10), rel=1e-11)


def test_zipf_with_exponent_over_temperature_beyond_the_float_range_is_the_point_mass_on_rank_one():
    probs = np.asarray(make("zipf", exponent=1e300, temperature=1e-300).probs)
    np.testing.assert_array_equal(probs, np.eye(64)[np.zeros(4, int)])


@pytest.mark.parametrize("name", [pytest.param("dirichlet", marks=pytest.mark.slow), "random_tree", "random_markov"])
def test_a_temperature_whose_logits_overflow_gives_the_argmax_of_the_same_draw(name):
    """log q / T overflows float64 at T = 1e-300; the limit T → 0 is the argmax of each row of the T = 1 draw."""
    params = dict(key=jax.random.PRNGKey(3), num_prompts=3)
    if name != "dirichlet":
        params.update(vocab_size=3, horizon=3)
    cold, warm = make(name, temperature=1e-300, **params), make(name, temperature=1.0, **params)
    for cold_rows, warm_rows in zip(_conditionals(cold), _conditionals(warm)):
        assert np.all(np.isfinite(cold_rows))
        expected = np.eye(warm_rows.shape[-1])[np.argmax(warm_rows, axis=-1)]
        np.testing.assert_array_equal(cold_rows, expected)


@pytest.mark.slow  # compiling jax.random.gamma's rejection loop for α ≠ 1 takes seconds
@pytest.mark.parametrize("name", ["dirichlet", "random_tree"])
def test_a_tiny_concentration_gives_vertices_of_the_simplex(name):
    """Dirichlet(α·1) concentrates on the vertices as α → 0; at α = 1e-300 every Gamma draw underflows, and the
    rows must still be (numerically) one-hot, not the uniform rows of clamped draws."""
    params = dict(key=jax.random.PRNGKey(1), concentration=1e-300)
    if name == "random_tree":
        params.update(vocab_size=3, horizon=2)
    for rows in _conditionals(make(name, **params)):
        np.testing.assert_allclose(rows.max(axis=-1), 1.0, rtol=1e-12)


def _conditionals(policy):
    return [np.asarray(policy.probs)] if hasattr(policy, "probs") else (
        [np.asarray(level) for level in policy.levels] if hasattr(policy, "levels")
        else [np.asarray(policy.initial), np.asarray(policy.transitions)])


def test_needle_with_a_tiny_margin_and_a_large_coverage_is_finite_and_exact():
    coverage, margin = 1000.0 - 1e-9, 1e-300
    probs = np.asarray(make("needle", num_prompts=2, num_responses=1000, coverage=coverage, margin=margin).probs)
    p_star = 1 / coverage
    row = np.concatenate([[p_star, p_star / (1 + margin)], np.full(998, (1 - 2 * p_star) / 998)])
    np.testing.assert_allclose(probs, np.tile(row, (2, 1)), rtol=1e-12)


def test_hard_parameters_in_log_space_match_high_precision_arithmetic():
    """C^p = 1e750 overflows a float: M = ((C^p − (1 − Δ))/Δ)^(1/p)/(1 − γ) computed with 60-digit decimals."""
    from decimal import Decimal, getcontext

    getcontext().prec = 60
    coverage, eps, p, gamma = 1e15, 0.01, 50.0, 0.5
    delta = Decimal(16) * Decimal(eps)
    exact = ((Decimal(coverage) ** int(p) - (1 - delta)) / delta) ** (Decimal(1) / Decimal(p)) / Decimal(1 - gamma)
    got = hard_parameters(coverage, eps, 3, gamma=gamma, p=p)["num_candidates"]
    assert got == pytest.approx(float(exact), rel=1e-12)
    # an ε so small that M has 300 digits is still an answer (a Python int); HardClass then refuses to build it
    huge = hard_parameters(4.0, 1e-300, 2)["num_candidates"]
    assert huge == pytest.approx((4.0 - 1 + 16e-300) / 16e-300 / 0.5, rel=1e-12)
    with pytest.raises(ValueError, match=r"num_candidates must be < 2\^62"):
        make("hard", num_rare=2, num_candidates=huge)


def test_sphere_with_a_large_scale_keeps_a_finite_margin_and_radius():
    """scale = 700 at d = 8, h = 2: γ_margin = e^{2·700·2/8} − 1 = e^350 − 1, finite."""
    instance = make("sphere", dimension=8, scale=700.0)
    assert instance.margin == pytest.approx(math.exp(350.0), rel=1e-12)
    assert np.isfinite(instance.radius) and instance.radius >= 700.0
    assert np.all(np.isfinite(np.asarray(instance.policy.probs)))
