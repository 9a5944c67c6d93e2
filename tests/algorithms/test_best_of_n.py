"""Best-of-N (Prop. C.1, Assumption 4.1's π^BoN_N): exact law, Monte Carlo through the oracle, running picks.

The exact law is checked against (a) brute-force enumeration of all N-tuples of samples for tiny |Y| and N,
which runs the paper's procedure literally (draw y_1..y_N, return the first sample of largest likelihood), and
(b) the level-set formula written here in numpy; then against reference-values.md.
"""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.numpy_reference import chi_square_pvalue, np_argmax_mask, np_set_mass
from sharpsim.testing.strategies import gammas, prob_tables
from sharpsim import (
    BestOfNResult,
    Oracle,
    TabularPolicy,
    best_of_n,
    best_of_n_law,
    kl_divergence,
    running_best_index,
)

# ---- numpy references ----------------------------------------------------------------------------------


def brute_force_law(probs: np.ndarray, n: int) -> np.ndarray:
    """Enumerate every N-tuple; the pick is the first sample of largest π(y|x)."""
    x_size, y_size = probs.shape
    law = np.zeros_like(probs)
    for x in range(x_size):
        for tup in itertools.product(range(y_size), repeat=n):
            weight = math.prod(probs[x, y] for y in tup)
            if weight == 0.0:
                continue
            best = tup[0]
            for y in tup[1:]:
                if probs[x, y] > probs[x, best]:
                    best = y
            law[x, best] += weight
    return law


def level_set_law(probs: np.ndarray, n: int) -> np.ndarray:
    """F(t)^n − F(t⁻)^n on each level set {y : π(y|x) = t}, split equally; zero mass on zero probability."""
    law = np.zeros_like(probs)
    for x, row in enumerate(probs):
        for t in set(row.tolist()):
            if t == 0.0:
                continue
            members = row == t
            below_or_at = math.fsum(row[row <= t])
            below = math.fsum(row[row < t])
            law[x, members] = (below_or_at**n - below**n) / members.sum()
    return law


def miss_probability(mass: float, n: int) -> float:
    """(1 − mass)^n, computed without cancellation."""
    return math.exp(n * math.log1p(-mass)) if mass < 1 else 0.0


PAD_SHAPE = (4, 12)


def padded_policy(probs: np.ndarray, mu: np.ndarray) -> TabularPolicy:
    """Embed a small table in a fixed [4, 12] one (zero columns, deterministic rows of weight 0).

    Zero-probability responses and zero-weight prompts change no best-of-N probability, and one shape means
    jitted code compiles once for all hypothesis examples instead of once per random shape.
    """
    x, y = probs.shape
    big = np.zeros(PAD_SHAPE)
    big[:, 0] = 1.0
    big[:x] = 0.0
    big[:x, :y] = probs
    big_mu = np.zeros(PAD_SHAPE[0])
    big_mu[:x] = mu
    return TabularPolicy(big, big_mu)


def law_block(policy: TabularPolicy, n: int, shape) -> np.ndarray:
    law = np.asarray(best_of_n_law(policy, n).probs)
    x, y = shape
    assert np.all(law[:x, y:] == 0)  # padded (zero-probability) responses are never picked
    return law[:x, :y]


# ---- reference values (reference-values.md) -----------------------------------------------------------

NEEDLE_01 = TabularPolicy([[0.1] + [0.09] * 10])  # unique argmax with p* = 0.1


def law_of(row, n) -> np.ndarray:
    """The exact BoN law of one row, computed inside the fixed padded shape (one compilation)."""
    row = np.asarray(row, dtype=np.float64)
    return law_block(padded_policy(row[None, :], np.ones(1)), n, (1, len(row)))[0]


@pytest.mark.parametrize(
    "n, success", [(1, 0.1), (4, 0.3439), (16, 0.8146979811148158), (64, 0.9988209815422261)]
)
def test_reference_success_table(n, success):
    law = law_of(NEEDLE_01.probs[0], n)
    assert law[0] == pytest.approx(success, abs=1e-9)
    assert law[0] == pytest.approx(1 - 0.9**n, rel=1e-12)


def test_reference_smallest_n_for_five_percent_failure():
    failures = {n: 1 - law_of(NEEDLE_01.probs[0], n)[0] for n in (28, 29)}
    assert failures[28] > 0.05 >= failures[29]
    assert math.ceil(math.log(0.05) / math.log(0.9)) == 29  # the same number from the closed form


@pytest.mark.parametrize(
    "n, law, kl, bound",
    [
        (2, (0.04, 0.21, 0.75), 0.16481957635662547, 0.1931471805599453),
        (4, (0.0016, 0.0609, 0.9375), 0.4844872638624247, 0.6362943611198906),
        (16, (6.5536e-12, 1.52587825e-05, 0.999984741), 0.6929704909818842, 1.8350887222397811),
    ],
)
def test_reference_exact_laws_and_kl(n, law, kl, bound):
    base = TabularPolicy([[0.2, 0.3, 0.5]])
    result = best_of_n_law(base, n)
    np.testing.assert_allclose(np.asarray(result.probs)[0], law, atol=1e-9, rtol=0)
    assert float(kl_divergence(result, base)) == pytest.approx(kl, abs=1e-9)
    assert float(kl_divergence(result, base)) <= bound
    assert math.log(n) - (n - 1) / n == pytest.approx(bound, abs=1e-12)


def test_reference_ties():
    law = law_of([0.4, 0.4, 0.2], 3)
    np.testing.assert_allclose(law, [0.496, 0.496, 0.008], atol=1e-12)


# ---- exact law: properties -----------------------------------------------------------------------------


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(prob_tables(num_prompts=(1, 3), num_responses=(1, 4)), st.integers(1, 4))
def test_exact_law_equals_brute_force_enumeration(table, n):
    probs, mu = table
    policy = padded_policy(probs, mu)
    law = best_of_n_law(policy, n)
    assert isinstance(law, TabularPolicy)
    np.testing.assert_allclose(law_block(policy, n, probs.shape), brute_force_law(probs, n), rtol=1e-9, atol=1e-15)
    np.testing.assert_array_equal(np.asarray(law.prompt_probs), np.asarray(policy.prompt_probs))


@pytest.mark.slow
@settings(max_examples=80, deadline=None)
@given(prob_tables(num_responses=(1, 8)), st.sampled_from([1, 2, 3, 7, 50, 1000, 10**6]))
def test_exact_law_equals_level_set_formula(table, n):
    probs, mu = table
    law = law_block(padded_policy(probs, mu), n, probs.shape)
    np.testing.assert_allclose(law, level_set_law(probs, n), rtol=1e-8, atol=1e-13)
    np.testing.assert_allclose(law.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(law[probs == 0] == 0)
    assert np.all(law >= 0)


@pytest.mark.slow
@settings(max_examples=80, deadline=None)
@given(prob_tables(), gammas, st.sampled_from([1, 2, 5, 29, 300, 10**5]))
def test_success_probability_is_one_minus_miss_power(table, gamma, n):
    """P[BoN_N ∈ y*_γ(x)] = 1 − (1 − π(y*_γ(x)|x))^N: any sample in y*_γ makes the pick land there."""
    probs, mu = table
    law = law_block(padded_policy(probs, mu), n, probs.shape)
    mask = np_argmax_mask(probs, gamma)
    mass = np_set_mass(probs, mask)
    success = np_set_mass(law, mask)
    expected = np.array([1 - miss_probability(m, n) for m in mass])
    np.testing.assert_allclose(success, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.slow
@settings(max_examples=80, deadline=None)
@given(prob_tables(), gammas, st.floats(1e-6, 0.9))
def test_proposition_c1_sample_size_guarantees_success(table, gamma, rho):
    """Prop. C.1: N ≥ log(1/ρ)/π(y*_γ(x)|x) ⇒ P[BoN_N ∈ y*_γ(x)] ≥ 1 − ρ, for every prompt."""
    probs, mu = table
    policy = padded_policy(probs, mu)
    mask = np_argmax_mask(probs, gamma)
    mass = np_set_mass(probs, mask)
    for x in range(len(probs)):
        n = max(1, math.ceil(math.log(1 / rho) / mass[x]))
        law = law_block(policy, n, probs.shape)
        assert np_set_mass(law, mask)[x] >= 1 - rho - 1e-12


@settings(max_examples=40, deadline=None)
@given(prob_tables(), st.sampled_from([2, 3, 8, 64]))
def test_law_kl_bounded_by_log_n(table, n):
    """KL(π^BoN_N ‖ π) ≤ log N − (N − 1)/N (≤ log N since π^BoN_N ≤ N·π)."""
    base = padded_policy(*table)
    law = best_of_n_law(base, n)
    assert np.all(np.asarray(law.probs) <= n * np.asarray(base.probs) * (1 + 1e-12) + 1e-300)
    assert float(kl_divergence(law, base)) <= math.log(n) - (n - 1) / n + 1e-9


@pytest.mark.slow
def test_law_n_one_is_the_base_and_n_traced_under_jit():
    probs = np.array([[0.2, 0.3, 0.5], [0.4, 0.4, 0.2]])
    base = TabularPolicy(probs)
    np.testing.assert_allclose(law_block(padded_policy(probs, np.full(2, 0.5)), 1, probs.shape), probs, rtol=1e-14)
    jitted = jax.jit(lambda p, n: best_of_n_law(p, n).probs)
    for n in (1, 3, 16):
        np.testing.assert_allclose(np.asarray(jitted(base, n)), level_set_law(probs, n), rtol=1e-10, atol=1e-15)
    batched = jax.vmap(lambda n: best_of_n_law(base, n).probs)(jnp.array([2, 5]))
    np.testing.assert_allclose(np.asarray(batched[1]), level_set_law(probs, 5), rtol=1e-10, atol=1e-15)


def exact_level_set_law(row: np.ndarray, n: int) -> list:
    """The level-set law in 60-digit decimal arithmetic (the float row's binary values taken exactly)."""
    from decimal import Decimal, localcontext

    with localcontext() as ctx:
        ctx.prec = 60
        values = [Decimal(float(v)) for v in row]
        total = sum(values)
        out = []
        for v in values:
            at_or_below = sum(u for u in values if u <= v) / total
            below = sum(u for u in values if u < v) / total
            ties = sum(1 for u in values if u == v)
            out.append(float((at_or_below**n - below**n) / ties))
    return out


@pytest.mark.parametrize("n", [1000, 100_000])
def test_law_large_n_against_exact_rationals(n):
    """Large N: F^N − F⁻^N must not be lost to rounding where it is representable."""
    row = np.array([0.3, 0.3, 0.2, 0.1995, 5e-4])
    law = law_of(row, n)
    exact = exact_level_set_law(row, n)
    for got, want in zip(law, exact):
        if want > 1e-290:
            assert got == pytest.approx(want, rel=1e-7)
        else:
            assert got < 1e-280
    # the two tied top responses share the whole mass except the (1 − 0.6)^N chance of missing both
    assert law[0] == law[1] == pytest.approx(0.5 * -math.expm1(n * math.log1p(-0.6)), rel=1e-12)


@pytest.mark.parametrize("row, n", [([1 - 1e-17, 1e-17], 4), ([1 - 2e-20, 1e-20, 1e-20], 3),
                                    ([0.5, 0.5 - 1e-18, 1e-18, 0.0], 7)])
def test_law_masses_below_float_epsilon_are_exact_not_nan(row, n):
    """Masses under 1e-16 make the mass above round to 1; F must then come from the bottom, not 1 − 1 = 0."""
    law = law_of(np.array(row), n)
    exact = exact_level_set_law(row, n)
    assert np.all(np.isfinite(law))
    for got, want in zip(law, exact):
        assert got == pytest.approx(want, rel=1e-9, abs=0.0)


@pytest.mark.parametrize("n, err, message", [(0, ValueError, "n must be an integer >= 1, got 0"),
                                             (-1, ValueError, "n must be an integer >= 1, got -1"),
                                             (1.5, ValueError, r"n must be an integer >= 1, got 1\.5"),
                                             (np.inf, ValueError, "n must be an integer >= 1, got inf"),
                                             ("3", TypeError, "n must be an integer >= 1, got '3'")])
def test_law_bad_n(n, err, message):
    # a fractional count is a ValueError, as it is for a traced n in checked mode (sharpsim.checked)
    with pytest.raises(err, match=message):
        best_of_n_law(NEEDLE_01, n)


def test_law_beyond_float_range_is_the_argmax_law():
    law = np.asarray(best_of_n_law(NEEDLE_01, 10**400).probs)
    np.testing.assert_array_equal(law, np.asarray(best_of_n_law(NEEDLE_01, 10**300).probs))
    assert np.all(np.isfinite(law))


def test_law_takes_a_whole_float_count_like_the_integer():
    np.testing.assert_array_equal(best_of_n_law(NEEDLE_01, 7.0).probs, best_of_n_law(NEEDLE_01, 7).probs)


# ---- Monte Carlo through the oracle ---------------------------------------------------------------------

MC_PROBS = np.array(
    [
        [0.4, 0.4, 0.2, 0.0],  # exact tie on top, one impossible response
        [0.1, 0.5, 0.2, 0.2],  # tie below the top
        [0.25, 0.25, 0.25, 0.25],  # all tied
    ]
)


def empirical(responses: np.ndarray, num_responses: int) -> np.ndarray:
    return np.bincount(responses, minlength=num_responses)


# Every Monte-Carlo test below uses the same shapes (policy [3, 4], 12000 prompts, N = 3) so best_of_n compiles
# once for all of them; other N are covered by the prefixes of running_best_index at the end of the file.
MC_REPS = 4000
MC_N = 3


@pytest.mark.slow
@pytest.mark.parametrize("n", [MC_N])
def test_monte_carlo_matches_exact_law(n):
    policy = TabularPolicy(MC_PROBS)
    reps = MC_REPS
    prompts = jnp.repeat(jnp.arange(3), reps)
    result, oracle = best_of_n(jax.random.key(n), Oracle(policy), prompts, n)
    assert isinstance(result, BestOfNResult)
    law = np.asarray(best_of_n_law(policy, n).probs)
    picks = np.asarray(result.responses).reshape(3, reps)
    for x in range(3):
        counts = empirical(picks[x], 4)
        assert counts[MC_PROBS[x] == 0].sum() == 0
        assert chi_square_pvalue(counts, law[x]) > 1e-4
    np.testing.assert_array_equal(
        np.asarray(result.log_probs), np.log(MC_PROBS[np.asarray(prompts), np.asarray(result.responses)])
    )
    assert int(result.queries.samples) == 3 * reps * n == int(oracle.queries.samples)
    assert int(result.queries.evaluations) == 0


@pytest.mark.slow
@settings(max_examples=6, deadline=None, derandomize=True)
@given(prob_tables(num_prompts=3, num_responses=4), st.integers(0, 2**31 - 1))
def test_monte_carlo_matches_exact_law_random_policies(table, seed):
    """Chi-square of 4000 BoN picks per prompt against the exact law (fixed seeds: deterministic)."""
    probs, mu = table
    policy = TabularPolicy(probs, mu)
    prompts = jnp.repeat(jnp.arange(3), MC_REPS)
    result, _ = best_of_n(jax.random.key(seed), Oracle(policy), prompts, MC_N)
    law = np.asarray(best_of_n_law(policy, MC_N).probs)
    picks = np.asarray(result.responses).reshape(3, MC_REPS)
    for x in range(3):
        assert chi_square_pvalue(empirical(picks[x], 4), law[x]) > 1e-5


def test_monte_carlo_success_rate_within_wilson_interval():
    """Success frequency of BoN (p* = 0.28 needle, N = 3) inside the 99.99% Wilson interval, which holds 1 − 0.72^N."""
    from sharpsim.measure.statistics import wilson_interval

    policy = TabularPolicy(np.tile([0.28, 0.24, 0.24, 0.24], (3, 1)))
    prompts = jnp.repeat(jnp.arange(3), MC_REPS)
    result, _ = best_of_n(jax.random.key(104), Oracle(policy), prompts, MC_N)
    hits = int((np.asarray(result.responses) == 0).sum())
    low, high = wilson_interval(hits, 3 * MC_REPS, confidence=0.9999)
    assert low <= 1 - 0.72**MC_N <= high


@pytest.mark.slow  # compiles several jitted programs; the slow suite (CI) runs it
def test_best_of_n_vmapped_over_seeds_and_jitted():
    policy = TabularPolicy(MC_PROBS)
    prompts = jnp.repeat(jnp.arange(3), 500)
    run = jax.jit(jax.vmap(lambda k: best_of_n(k, Oracle(policy), prompts, 3)))
    result, oracle = run(jax.random.split(jax.random.key(7), 4))
    assert result.responses.shape == (4, 1500)
    np.testing.assert_array_equal(np.asarray(oracle.queries.samples), [1500 * 3] * 4)
    np.testing.assert_array_equal(np.asarray(result.queries.samples), [1500 * 3] * 4)
    # different seeds give different picks
    assert not np.array_equal(np.asarray(result.responses[0]), np.asarray(result.responses[1]))
    law = np.asarray(best_of_n_law(policy, 3).probs)
    picks = np.asarray(result.responses).reshape(4, 3, 500).transpose(1, 0, 2).reshape(3, -1)
    for x in range(3):
        assert chi_square_pvalue(empirical(picks[x], 4), law[x]) > 1e-4


def test_best_of_n_same_key_same_result():
    policy = TabularPolicy(MC_PROBS)
    prompts = jnp.repeat(jnp.arange(3), MC_REPS)
    a, _ = best_of_n(jax.random.key(3), Oracle(policy), prompts, MC_N)
    b, _ = best_of_n(jax.random.key(3), Oracle(policy), prompts, MC_N)
    np.testing.assert_array_equal(np.asarray(a.responses), np.asarray(b.responses))


def test_best_of_n_bad_num_samples():
    with pytest.raises(ValueError, match="num_samples must be an integer >= 1, got 0"):
        best_of_n(jax.random.key(0), Oracle(TabularPolicy(MC_PROBS)), jnp.arange(3), 0)


# ---- running_best_index -----------------------------------------------------------------------------------


def ref_running_best(log_probs: np.ndarray) -> np.ndarray:
    flat = log_probs.reshape(-1, log_probs.shape[-1])
    out = np.zeros(flat.shape, dtype=np.int64)
    for r, row in enumerate(flat):
        best = 0
        for k, v in enumerate(row):
            if v > row[best]:
                best = k
            out[r, k] = best
    return out.reshape(log_probs.shape)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from([-3.0, -2.0, -1.0, -0.5, 0.0, -np.inf, -1e-12, -2.0 + 1e-15]), min_size=6, max_size=6),
        min_size=4,
        max_size=4,
    )
)
def test_running_best_index_equals_numpy_loop(rows):
    log_probs = np.array(rows, dtype=np.float64)
    got = np.asarray(running_best_index(jnp.asarray(log_probs)))
    np.testing.assert_array_equal(got, ref_running_best(log_probs))
    # leading batch axes are kept
    stacked = np.stack([log_probs, log_probs[::-1]])
    np.testing.assert_array_equal(np.asarray(running_best_index(jnp.asarray(stacked))), ref_running_best(stacked))


@pytest.mark.slow
def test_running_best_prefixes_follow_exact_laws():
    """One batch of N_max samples answers best-of-N for every N ≤ N_max: each prefix matches its law."""
    policy = TabularPolicy(MC_PROBS)
    reps = 4000
    prompts = jnp.repeat(jnp.arange(3), reps)
    batch, _ = Oracle(policy).sample(jax.random.key(11), prompts, 10)
    idx = np.asarray(running_best_index(batch.log_probs))
    responses = np.asarray(batch.responses)
    for n in (1, 2, 5, 10):
        picks = np.take_along_axis(responses, idx[:, n - 1 : n], axis=1)[:, 0].reshape(3, reps)
        law = np.asarray(best_of_n_law(policy, n).probs)
        for x in range(3):
            assert chi_square_pvalue(empirical(picks[x], 4), law[x]) > 1e-4


def test_best_of_n_law_accepts_n_beyond_int64():
    policy = TabularPolicy(np.array([[0.4, 0.3, 0.3]]), np.array([1.0]))
    np.testing.assert_allclose(np.asarray(best_of_n_law(policy, 10**30).probs), [[1.0, 0.0, 0.0]])
    # at small n the float path equals the closed form 1 − (1 − p)^n for the unique argmax
    assert float(best_of_n_law(policy, 3).probs[0, 0]) == pytest.approx(1 - 0.6**3, rel=1e-12)
