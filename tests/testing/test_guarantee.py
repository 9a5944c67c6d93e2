"""check_guarantee: its statistics against independent references, the built-in algorithms passing at their theorem's
allocation, a claim that misses its rate caught (with a shrunk, reproducible counterexample), the measured
false-alarm rate on an algorithm that meets its promise exactly (slow), and bad input."""

import itertools
import math
import zlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import sharpsim as ss
from sharpsim.testing import (
    GuaranteeReport,
    assert_guarantee,
    builtins,
    check_guarantee,
    draw_instances,
    instance_quantities,
    strategies,
)
from sharpsim.testing.multiple import binomial_p_value, one_sided_upper_bound, rejection_levels
from sharpsim.testing.reproduce import instance_source

EPS, DELTA, RHO = 0.1, 0.25, 0.1
SMALL = strategies.instances(num_prompts=2, num_responses=3)  # one shape: the exact SFT law compiles once


# --- statistics ------------------------------------------------------------------------------------------------------

def test_the_p_value_is_the_binomial_tail_and_matches_the_clopper_pearson_bound():
    trials, target = 40, 0.9
    for k in range(trials + 1):
        tail = sum(math.comb(trials, j) * target**j * (1 - target)**(trials - j) for j in range(k + 1))
        assert binomial_p_value(k, trials, target) == pytest.approx(tail, rel=1e-9, abs=1e-300)
        for a in (0.05, 0.0125):
            # the one-sided CP upper bound at level 1 − a: the p with P[Binomial(S, p) ≤ k] = a
            upper = 1.0 if k == trials else stats.beta.ppf(1 - a, k + 1, trials - k)
            assert one_sided_upper_bound(k, trials, 1 - a) == pytest.approx(upper, rel=1e-12)
            if abs(tail - a) > 1e-9:
                assert (upper < target) == (tail < a)


def holm_reference(p_values, alpha):
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    rejected = [False] * len(p_values)
    for step, i in enumerate(order):
        if p_values[i] >= alpha / (len(p_values) - step):
            break
        rejected[i] = True
    return rejected


def test_holm_and_bonferroni_reject_as_a_reference_implementation():
    rng = np.random.default_rng(0)
    for _ in range(200):
        p_values = rng.choice([rng.uniform(0, 0.1), 0.001, 0.02, 0.5], size=rng.integers(1, 6))
        rejected, levels = rejection_levels(p_values, 0.05, "holm")
        assert list(rejected) == holm_reference(list(p_values), 0.05)
        assert np.all(p_values[rejected] < levels[rejected])
        rejected, levels = rejection_levels(p_values, 0.05, "bonferroni")
        assert list(rejected) == [p < 0.05 / len(p_values) for p in p_values]
    with pytest.raises(ValueError, match="correction must be one of"):
        rejection_levels([0.1], 0.05, "sidak")


# --- exact laws, quantities, claims -----------------------------------------------------------------------------------

def test_the_best_of_n_law_matches_enumeration_over_which_prompts_miss():
    base = ss.TabularPolicy(np.array([[0.5, 0.3, 0.2], [0.25, 0.25, 0.5], [0.6, 0.4, 0.0]]),
                            np.array([0.5, 0.3, 0.2]))
    top = np.array([0.5, 0.5, 0.6])  # the argmax mass (ties included) of each row
    for num_samples, eps in itertools.product((1, 2, 5), (0.0, 0.2, 0.3, 0.5, 0.75)):
        miss = (1 - top) ** num_samples
        reference = 0.0
        for pattern in itertools.product((0, 1), repeat=3):
            weight = np.prod([m if p else 1 - m for m, p in zip(miss, pattern)])
            reference += weight * (np.dot(pattern, [0.5, 0.3, 0.2]) <= eps + 1e-12)
        assert builtins.exact_best_of_n_success_probability(base, num_samples, DELTA, eps) == \
            pytest.approx(reference, abs=1e-14)


def test_the_quantities_and_theorem_allocations_follow_the_formulas():
    base = ss.TabularPolicy(np.array([[0.5, 0.3, 0.2], [0.2, 0.2, 0.6]]), np.array([0.75, 0.25]))
    q = instance_quantities(base)
    coverage = 0.75 / 0.5 + 0.25 / 0.6
    assert q["coverage"] == pytest.approx(coverage) and q["margin"] == pytest.approx(0.5 / 0.3 - 1)
    assert (q["num_prompts"], q["num_responses"], q["support_size"]) == (2, 3, 2)
    assert q["log_class_size"] == pytest.approx(2 * math.log(3)) and q["min_argmax_mass"] == pytest.approx(0.5)
    allocation = builtins.thm_4_1_claim(EPS, DELTA, RHO, q)
    assert allocation == {"num_prompts": math.ceil((2 * math.log(3) + math.log(1 / RHO)) / (DELTA * EPS)),
                          "num_samples": math.ceil(coverage * math.log(2 / DELTA) / EPS)}
    assert builtins.prop_c1_claim(EPS, DELTA, RHO, q) == {"num_samples": math.ceil(math.log(2 / RHO) / 0.5)}
    adaptive = builtins.thm_d1_claim(EPS, DELTA, RHO, q)
    num_prompts = allocation["num_prompts"]  # Theorem D.1's n is Theorem 4.1's
    mu = math.log(2 / DELTA)
    cap = math.ceil(max(mu, math.log(num_prompts / builtins.CAP_MISS)) / 0.5)  # least mode: 0.5 (prompt 0)
    assert adaptive == pytest.approx({"num_prompts": num_prompts, "mu": mu, "max_samples": cap})


def test_the_adaptive_cap_is_outrun_no_more_often_than_claimed():
    """thm_d1_claim's cap against a direct simulation of Eq. 10 at one prompt (numpy, independent of the oracle):
    P[N_mu > cap] is bounded by the first-hit tail (1 − P*)^cap, which the cap makes ≤ CAP_MISS/n."""
    probs = np.array([0.4, 0.35, 0.25])
    q = instance_quantities(ss.TabularPolicy(probs[None, :]))
    allocation = builtins.thm_d1_claim(0.3, 0.5, 0.5, q)
    cap, mu = allocation["max_samples"], allocation["mu"]
    assert (1 - probs.max()) ** cap <= builtins.CAP_MISS / allocation["num_prompts"]
    rng = np.random.default_rng(0)
    draws = rng.choice(3, p=probs, size=(20000, 4 * cap))
    running = np.maximum.accumulate(probs[draws], axis=1)
    fired = np.arange(1, 4 * cap + 1) * running >= mu
    stopping = np.argmax(fired, axis=1) + 1
    # the rule fires by ⌈μ/P*⌉ after the first argmax draw; in 20000 runs none outruns the cap
    assert fired.any(axis=1).all() and stopping.max() <= cap


def test_instance_source_rebuilds_the_instance_bit_for_bit():
    namespace = {"np": np, "TabularPolicy": ss.TabularPolicy, "TreePolicy": ss.TreePolicy,
                 "MarkovPolicy": ss.MarkovPolicy}
    tabular = ss.TabularPolicy(np.array([[0.1, 0.2, 0.7], [1 / 3, 1 / 3, 1 / 3]]), np.array([0.3, 0.7]))
    tree = ss.TreePolicy.from_joint(np.array([[0.1, 0.2, 0.3, 0.4], [0.7, 0.1, 0.1, 0.1]]) / 1.0, 2,
                                    np.array([0.25, 0.75]))
    markov = ss.MarkovPolicy(np.array([[0.3, 0.7]]), np.array([[[[0.9, 0.1], [1 / 3, 2 / 3]]]]))
    for policy in (tabular, tree, markov):
        rebuilt = eval(instance_source(policy), namespace)
        assert type(rebuilt) is type(policy)
        for a, b in zip(jax.tree_util.tree_leaves(policy), jax.tree_util.tree_leaves(rebuilt)):
            assert np.array_equal(np.asarray(a), np.asarray(b))


# --- the built-in algorithms at their theorem's allocation -----------------------------------------------------------

def test_sft_passes_at_theorem_4_1s_allocation_by_its_exact_law():
    report = check_guarantee(builtins.make_sft, builtins.thm_4_1_claim, instances=SMALL, num_instances=2)
    assert isinstance(report, GuaranteeReport) and report.names == ("claim", "guarantee")
    assert report.passed, str(report)
    assert all(o.probability is not None and o.probability >= 1 - RHO for o in report.outcomes)
    assert "exact law" in report.settings and report.counterexample is None


def test_best_of_n_passes_at_proposition_c1s_allocation_by_its_exact_law():
    assert_guarantee(builtins.make_best_of_n, builtins.prop_c1_claim, instances=SMALL, num_instances=2)


@pytest.mark.slow
def test_the_built_ins_pass_on_the_default_instances_exact_and_by_monte_carlo():
    for make, claim in ((builtins.make_sft, builtins.thm_4_1_claim),
                        (builtins.make_best_of_n, builtins.prop_c1_claim)):
        for exact in (None, False):
            report = check_guarantee(make, claim, exact=exact, num_instances=6)
            assert report.passed, str(report)


@pytest.mark.slow
def test_adaptive_sft_passes_at_theorem_d1s_allocation():
    report = check_guarantee(builtins.make_adaptive_sft, builtins.thm_d1_claim, num_instances=4, seeds=200)
    assert report.passed, str(report)
    assert all(o.probability is None for o in report.outcomes)  # Monte Carlo: no exact law for adaptive SFT


def test_xpos_theorem_j2_allocation_is_beyond_monte_carlo():
    """Why XPO's guarantee is not checked at its theorem's allocation (README): Theorem J.2's round condition
    T ≥ R²·SEC·log(2N·T/ρ)/(εδβ)², solved with SEC = d·log(T + 1) (Lemma J.5) and log N = d·log(6B/ε_disc),
    ε_disc = εδ/√(SEC·T) (Lemma J.4, Theorem J.2), by plain fixed-point iteration, on the easiest instance: one
    prompt, π_base = (0.6, 0.4) as a one-hot linear softmax class (d = 2), ε = δ = ρ = 0.5, all constants 1."""
    probs, eps, delta, rho, d = np.array([0.6, 0.4]), 0.5, 0.5, 0.5, 2
    gamma = probs[0] / probs[1] - 1.0
    beta = gamma / (2 * np.log(2 * 2 / delta))  # Theorem 4.3's β
    reward_range = 1 + np.log(1 / probs.min())
    radius = max(1.0, np.linalg.norm(np.log(probs)))
    rounds = 1.0
    for _ in range(200):
        sec = d * np.log(rounds + 1)
        log_net = d * np.log(6 * radius / (eps * delta / np.sqrt(sec * rounds)))
        rounds = reward_range ** 2 * sec * (np.log(2) + log_net + np.log(rounds) - np.log(rho)) / (eps * delta * beta) ** 2
    assert rounds > 10 ** 6  # and each round is an optimization: S seeds of this are out of reach
    sec = ss.theory.lemma_j5_sec_bound(d, rounds)
    log_net = ss.theory.lemma_j4_log_net_size(radius, ss.theory.thm_j2_eps_disc(eps, delta, sec, rounds), d)
    library = ss.theory.thm_j2_min_rounds(reward_range, sec, log_net, eps, delta, beta, rho)
    assert library == pytest.approx(rounds, rel=1e-3)


@pytest.mark.slow
def test_rlhf_passes_at_theorem_4_2s_allocation():
    margins = strategies.instances(num_prompts=(1, 2), num_responses=(2, 4), margin=1.0)
    report = check_guarantee(builtins.make_rlhf, builtins.thm_4_2_claim, instances=margins, num_instances=3,
                             eps=0.5, delta=0.5, rho=0.2, seeds=100)
    assert report.passed, str(report)


# --- a claim that misses its rate is caught ------------------------------------------------------------------------

def too_few_samples(eps, delta, rho, quantities):
    """Theorem 4.1's prompts, but N = C_cov/10 samples per prompt."""
    return dict(builtins.thm_4_1_claim(eps, delta, rho, quantities),
                num_samples=max(1, math.ceil(quantities["coverage"] / 10)))


@pytest.mark.slow  # shrinking reruns the exact law on many instances
def test_a_claim_that_misses_its_rate_fails_guarantee_with_a_shrunk_reproducible_counterexample():
    report = check_guarantee(builtins.make_sft, too_few_samples, instances=SMALL, num_instances=2, max_shrink_runs=2)
    assert report.failed == ("guarantee",), str(report)
    assert "REJECTED" in report["guarantee"].detail and "shrunk by hypothesis" in report.counterexample
    source = report.counterexample.split("instance = ", 1)[1].split("\n", 1)[0]
    instance = eval(source, {"np": np, "TabularPolicy": ss.TabularPolicy})
    assert instance.probs.shape == (2, 3)
    # independently of the law the check used (numpy Monte Carlo): with N = 1 the pick is a draw from π_base(·|x),
    # so SFT's tabular fit is sharp at x iff the share K_x/c_x of draws in y*(x) is ≥ 1 − δ (uniform if unseen)
    n = builtins.thm_4_1_claim(EPS, DELTA, RHO, instance_quantities(instance))["num_prompts"]
    probs, mu = np.asarray(instance.probs), np.asarray(instance.prompt_probs)
    in_argmax = probs >= probs.max(axis=1, keepdims=True)
    top, unseen_share = np.where(in_argmax, probs, 0).sum(1), in_argmax.sum(1) / probs.shape[1]
    rng = np.random.default_rng(0)
    counts = rng.multinomial(n, mu, size=4000)
    hits = rng.binomial(counts, top)
    share = np.where(counts > 0, hits / np.maximum(counts, 1), unseen_share)
    error = np.sum(np.where(share < 1 - DELTA, mu, 0.0), axis=1)
    assert np.mean(error <= EPS) < 1 - RHO
    with pytest.raises(AssertionError, match="failed 1 check\\(s\\): guarantee"):
        report.raise_if_failed()


# --- Monte Carlo: a coin-flip algorithm that is sharp with a chosen probability ------------------------------------

def make_coin(instance, success):
    """π̂ = π_base's argmax with probability ``success``, else the point mass on its least likely response. The
    coin is the key's last 32 bits (split keys are uniform bits; no random op, so it compiles fast), xor-ed with a
    hash of the instance so that different instances flip independently: P[sharp] = ⌈success·2³²⌉/2³²."""
    probs = np.asarray(ss.as_tabular(instance).probs)
    good = jax.nn.one_hot(np.argmax(probs, -1), probs.shape[1], dtype=jnp.float64)
    bad = jax.nn.one_hot(np.argmin(probs, -1), probs.shape[1], dtype=jnp.float64)
    salt, mu = np.uint32(zlib.crc32(probs.tobytes())), ss.as_tabular(instance).prompt_probs

    def coin(key, oracle):
        hit = (jax.random.key_data(key)[-1] ^ salt).astype(jnp.float64) < success * 2.0**32
        return ss.Result(ss.TabularPolicy.tree_unflatten(None, (jnp.where(hit, good, bad), mu)),
                         ss.QueryCount.zero()), oracle
    return coin


COIN_INSTANCES = strategies.instances(num_prompts=1, num_responses=(2, 4), margin=1.0)


def coin_claim(success):
    return lambda eps, delta, rho, quantities: {"success": success}


def test_monte_carlo_rejects_a_coin_below_its_promise_and_the_rejection_reproduces():
    report = check_guarantee(make_coin, coin_claim(0.6), instances=COIN_INSTANCES, num_instances=2, seeds=100,
                             max_shrink_runs=1)
    assert report.failed == ("guarantee",), str(report)
    for outcome in report.outcomes:
        k = outcome.successes
        assert outcome.trials == 100 and 40 <= k <= 80
        assert outcome.p_value == pytest.approx(stats.binom.cdf(k, 100, 0.9))
    call = report.counterexample.split("reproduce: ", 1)[1]
    instance = eval(report.counterexample.split("instance = ", 1)[1].split("\n", 1)[0],
                    {"np": np, "TabularPolicy": ss.TabularPolicy})
    again = eval(call, {"check_guarantee": check_guarantee, "make_algorithm": make_coin,
                        "claim": coin_claim(0.6), "instance": instance})
    assert again.failed == ("guarantee",)
    assert f"sharp in {again.outcomes[0].successes}/100 seeds" in report.counterexample


def test_monte_carlo_passes_a_coin_that_is_always_sharp():
    report = check_guarantee(make_coin, coin_claim(1.0), instances=COIN_INSTANCES, num_instances=2, seeds=50)
    assert report.passed and [o.successes for o in report.outcomes] == [50, 50], str(report)


def test_a_sample_complexity_claim_bounds_every_runs_queries():
    base = ss.TabularPolicy(np.array([[0.9, 0.1]]))

    def make_spender(instance, num_queries, factor):
        argmax = ss.TabularPolicy(np.array([[1.0, 0.0]]))

        def spend(key, oracle):
            start = oracle
            prompts, oracle = oracle.draw_prompts(key, 1)
            _, oracle = oracle.sample(key, prompts, factor * num_queries)
            return ss.Result(argmax, jax.tree_util.tree_map(jnp.subtract, oracle.queries, start.queries)), oracle
        return spend
    for factor, passed in ((1, True), (2, False)):
        report = check_guarantee(lambda instance, num_queries: make_spender(instance, num_queries, factor),
                                 lambda eps, delta, rho, q: 3.5, instances=[base], seeds=5)
        assert report["queries_within_claim"].passed is passed, str(report)
        assert report["claim"].detail == "instance 0: num_queries=4"
        assert report["guarantee"].passed, str(report)


@pytest.mark.slow
def test_the_false_alarm_rate_on_an_algorithm_that_meets_its_promise_exactly_is_at_most_alpha():
    """The worst case: P[sharp] = 1 − ρ exactly on 4 independent instances. Measured over 3000 checks, with a 95%
    Clopper–Pearson interval; the exact rate of Holm's test here is 1 − (1 − P[p-value < α/4])^4."""
    repetitions, alpha, seeds = 3000, 0.05, 200
    instances = draw_instances(COIN_INSTANCES, 4)
    assert len(instances) == 4
    alarms = sum(not check_guarantee(make_coin, coin_claim(1 - RHO), instances=instances, seeds=seeds, key=r,
                                     alpha=alpha).passed for r in range(repetitions))
    low, high = ss.statistics.clopper_pearson_interval(alarms, repetitions, 0.95)
    k = np.arange(seeds + 1)
    single = stats.binom.pmf(k, seeds, 1 - RHO)[stats.binom.cdf(k, seeds, 1 - RHO) < alpha / 4].sum()
    exact = 1 - (1 - single) ** 4
    print(f"false alarms {alarms}/{repetitions} = {alarms / repetitions:.4f}, 95% CP [{low:.4f}, {high:.4f}]; "
          f"exact {exact:.4f}; alpha {alpha}")
    assert low <= exact <= high
    assert high <= alpha


# --- bad input -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("options, error, text", [
    ({"eps": 1.5}, ValueError, "eps"), ({"delta": 0.0}, ValueError, "delta"), ({"rho": float("nan")}, ValueError, "rho"),
    ({"alpha": 1.0}, ValueError, "alpha"), ({"seeds": 0}, ValueError, "seeds"),
    ({"correction": "sidak"}, ValueError, "correction"), ({"exact": "yes"}, TypeError, "exact"),
    ({"instances": []}, ValueError, "instances"),
])
def test_bad_options_are_refused_naming_the_argument(options, error, text):
    with pytest.raises(error, match=text):
        check_guarantee(builtins.make_sft, builtins.thm_4_1_claim, **options)


def test_a_builder_or_claim_that_is_not_callable_is_refused():
    with pytest.raises(TypeError, match="make_algorithm must be callable"):
        check_guarantee(3, builtins.thm_4_1_claim)
    with pytest.raises(TypeError, match="claim must be callable"):
        check_guarantee(builtins.make_sft, "n=4")


def test_a_claim_that_returns_nonsense_fails_the_claim_check():
    base = [ss.TabularPolicy(np.array([[0.9, 0.1]]))]
    report = check_guarantee(builtins.make_sft, lambda *args: "lots", instances=base)
    assert report.failed == ("claim",) and "allocation dict or a number" in report["claim"].detail
    assert report["guarantee"].passed is None
