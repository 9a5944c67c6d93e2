"""check_algorithm: an honest algorithm passes every check, each planted defect is caught by the check named for it
(and only by the checks it really breaks), and every built-in algorithm passes (slow)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sharpsim as ss
from sharpsim.instances.hard import hard
from sharpsim.testing import (
    CHECKS,
    CheckReport,
    algorithm_checks,
    assert_conforms,
    check_algorithm,
    decoy_instance,
    default_instance,
    strategies,
)

EAGER_CHECKS = ("runs", "oracle_only", "queries_reported", "deterministic", "valid_policy")


def tree_base():
    """A TreePolicy over V^H = {0, 1}^2 with four prompts (the default instance's first four responses)."""
    probs = np.asarray(default_instance().probs)[:, :4]
    return ss.TreePolicy.from_joint(probs / probs.sum(axis=1, keepdims=True), 2, default_instance().prompt_probs)


def make_empirical(base, num_prompts=4, num_samples=3):
    """An honest little learner (best-of-N picks, then their empirical table), reading only μ from its instance."""
    mu = base.prompt_probs

    def empirical(key, oracle):
        start = oracle
        key_x, key_y = jax.random.split(key)
        prompts, oracle = oracle.draw_prompts(key_x, num_prompts)
        batch, oracle = oracle.sample(key_y, prompts, num_samples)
        best = jnp.take_along_axis(batch.responses, jnp.argmax(batch.log_probs, -1)[:, None], -1)[:, 0]
        counts = jnp.zeros((oracle.num_prompts, oracle.num_responses)).at[prompts, best].add(1.0)
        totals = counts.sum(-1, keepdims=True)
        table = jnp.where(totals > 0, counts / jnp.maximum(totals, 1.0), 1.0 / oracle.num_responses)
        used = jax.tree_util.tree_map(jnp.subtract, oracle.queries, start.queries)
        return ss.Result(ss.TabularPolicy.tree_unflatten(None, (table, mu)), used), oracle

    return empirical


# --- planted defects ------------------------------------------------------------------------------------
def make_reads_base(base):
    """Closes over π_base and returns its argmax without querying."""
    def reads_base(key, oracle):
        table = jax.nn.one_hot(jnp.argmax(base.probs, axis=-1), base.num_responses)
        policy = ss.TabularPolicy.tree_unflatten(None, (table, base.prompt_probs))
        return ss.Result(policy, ss.QueryCount.zero()), oracle
    return reads_base


def make_peeks_after_querying(base):
    """Queries honestly, then overwrites its output with π_base's argmax read around the oracle."""
    honest = make_empirical(base)

    def peeks(key, oracle):
        result, oracle = honest(key, oracle)
        table = jax.nn.one_hot(jnp.argmax(base.probs, axis=-1), base.num_responses)
        return ss.Result(ss.TabularPolicy.tree_unflatten(None, (table, base.prompt_probs)), result.queries), oracle
    return peeks


def make_under_reports(base):
    honest = make_empirical(base)

    def under_reports(key, oracle):
        result, oracle = honest(key, oracle)
        queries = ss.QueryCount(result.queries.prompts, result.queries.samples - 1, result.queries.evaluations)
        return ss.Result(result.policy, queries), oracle
    return under_reports


def make_nondeterministic(base):
    honest = make_empirical(base)
    return lambda key, oracle: honest(jax.random.fold_in(key, np.random.randint(2**30)), oracle)


def make_ignores_budget(base):
    """Runs on a fresh unbudgeted oracle of its own and hands back the input oracle uncharged."""
    honest = make_empirical(base)

    def ignores_budget(key, oracle):
        result, _ = honest(key, ss.Oracle(base))
        return result, oracle
    return ignores_budget


def make_not_jittable(base):
    honest = make_empirical(base)

    def not_jittable(key, oracle):
        result, oracle = honest(key, oracle)
        if float(result.policy.probs[0, 0]) > 2.0:  # Python control flow on an array value
            raise AssertionError("unreachable")
        return result, oracle
    return not_jittable


def make_bad_policy(kind):
    def make(base):
        honest = make_empirical(base)

        def bad_policy(key, oracle):
            result, oracle = honest(key, oracle)
            probs = result.policy.probs
            probs = {"unnormalized": probs * 1.5, "negative": probs.at[0, 0].set(-0.25).at[0, 1].add(0.25),
                     "nan": probs.at[1, 2].set(jnp.nan),
                     "wrong_spaces": jnp.full((probs.shape[0], probs.shape[1] - 1), 1.0 / (probs.shape[1] - 1))}[kind]
            return ss.Result(ss.TabularPolicy.tree_unflatten(None, (probs, result.policy.prompt_probs)),
                             result.queries), oracle
        return bad_policy
    return make


# --- the honest algorithm -------------------------------------------------------------------------------
@pytest.mark.slow  # jit, vmap and checked compilations (about 20 s)
def test_an_honest_algorithm_passes_the_eager_jit_and_budget_checks():
    report = check_algorithm(make_empirical, checks=EAGER_CHECKS + ("jit", "budget"), keys=1)
    assert report.passed and all(result.passed for result in report.results), str(report)
    assert report["budget"].detail == \
        "used 12: budget 12 suffices; 11 is refused eagerly and refused under checked(jit)"


@pytest.mark.slow
def test_an_honest_algorithm_passes_every_check():
    report = check_algorithm(make_empirical)
    assert report.names == CHECKS
    assert report.passed, str(report)
    assert all(result.passed for result in report.results), str(report)
    assert report.algorithm_name == "empirical"
    assert report["budget"].detail == \
        "used 12: budget 12 suffices; 11 is refused eagerly and refused under checked(jit)"


# --- each planted defect, caught by its check ------------------------------------------------------------
DEFECTS = {
    # name: (make_algorithm, checks run, the checks that must fail, {check: evidence in its detail})
    "reads_base": (make_reads_base, CHECKS, ("oracle_only",), {
        "oracle_only": "reads its instance around the oracle: result.policy.probs[0, 0]: 1.0 vs 0.0"}),
    "peeks_after_querying": (make_peeks_after_querying, EAGER_CHECKS, ("oracle_only",), {
        "oracle_only": "result.policy.probs[0, 0]: 1.0 vs 0.0"}),
    "under_reports": (make_under_reports, EAGER_CHECKS, ("queries_reported",), {
        "queries_reported": "reports (prompts, samples, evaluations) = (4, 11, 0) but the oracle was charged "
                            "(4, 12, 0)"}),
    "nondeterministic": (make_nondeterministic, EAGER_CHECKS + ("jit", "budget"), ("deterministic",), {
        "deterministic": "the same key gave different outputs", "jit": "not deterministic",
        "oracle_only": "not deterministic"}),
    "ignores_budget": (make_ignores_budget, EAGER_CHECKS + ("budget",), ("oracle_only", "queries_reported", "budget"), {
        "budget": "with a budget of 11 it completed eagerly having used 12 queries",
        "queries_reported": "= (4, 12, 0) but the oracle was charged (0, 0, 0)"}),
    "not_jittable": (make_not_jittable, ("runs", "deterministic", "jit", "vmap"), ("jit", "vmap"), {
        "jit": "ConcretizationTypeError"}),
    "unnormalized": (make_bad_policy("unnormalized"), ("runs", "valid_policy"), ("valid_policy",), {
        "valid_policy": "policy probs row 0 sums to 1.5, not 1"}),
    "negative": (make_bad_policy("negative"), ("runs", "valid_policy"), ("valid_policy",), {
        "valid_policy": "policy probs[0, 0] = -0.25 (must be finite, >= 0)"}),
    "nan": (make_bad_policy("nan"), ("runs", "valid_policy"), ("valid_policy",), {
        "valid_policy": "policy probs[1, 2] = nan"}),
    "wrong_spaces": (make_bad_policy("wrong_spaces"), ("runs", "valid_policy"), ("valid_policy",), {
        "valid_policy": "the policy is (4, 5) with μ (4,); the base's spaces are (4, 6)"}),
}


@pytest.mark.parametrize("defect", [pytest.param(name, marks=pytest.mark.slow) if name in ("negative", "nan") else name
                                    for name in DEFECTS])
def test_a_planted_defect_is_caught_by_the_check_named_for_it(defect):
    make, checks, failed, evidence = DEFECTS[defect]
    report = check_algorithm(make, checks=checks, keys=1)
    assert report.failed == failed, str(report)
    for name, text in evidence.items():
        assert text in report[name].detail, str(report)
    skipped = [result.name for result in report.results if result.passed is None]
    assert skipped == (["oracle_only", "jit", "budget"] if defect == "nondeterministic" else []), str(report)
    with pytest.raises(AssertionError) as raised:
        report.raise_if_failed()
    assert raised.value.args[0].splitlines()[0].endswith(", ".join(failed))


def test_a_run_that_fails_is_reported_by_runs_and_skips_the_rest():
    def make(base):
        return lambda key, oracle: "not a tuple"
    report = check_algorithm(make, checks=("runs", "deterministic", "budget"))
    assert report.failed == ("runs",)
    assert [result.passed for result in report.results] == [False, None, None]
    assert "must return (result, oracle)" in report["runs"].detail


def test_a_result_without_a_query_count_or_oracle_fails_runs():
    report = check_algorithm(lambda base: lambda key, oracle: ((1, 2), oracle), checks=("runs", "valid_policy"))
    assert report.failed == ("runs",) and ".queries (a QueryCount)" in report["runs"].detail
    assert report["valid_policy"].passed is None
    honest = make_empirical(default_instance())
    report = check_algorithm(lambda base: lambda key, oracle: (honest(key, oracle)[0], None), checks=("runs",))
    assert "the second output must be the charged Oracle, got NoneType" in report["runs"].detail


@pytest.mark.slow
def test_typed_keys_are_accepted():
    keys = jax.random.split(jax.random.key(3), 2)
    assert check_algorithm(make_empirical, keys=keys, checks=("runs", "deterministic")).passed


@pytest.mark.slow
def test_inference_time_algorithms_skip_valid_policy():
    report = check_algorithm(lambda base: lambda key, oracle: ss.best_of_n(key, oracle, jnp.arange(2), 3),
                             checks=("runs", "valid_policy"), keys=1)
    assert report.passed and report["valid_policy"].passed is None


@pytest.mark.slow
def test_an_instance_the_builder_cannot_take_as_a_decoy_fails_oracle_only_with_a_hint():
    base = hard(num_rare=2, num_candidates=3, delta=0.5)
    make = lambda instance: functools.partial(ss.bayes_hard_learner, model_class=instance.model_class,  # noqa: E731
                                              num_prompts=4)
    report = check_algorithm(make, base, checks=("oracle_only",))
    assert report.failed == ("oracle_only",) and "pass decoy=" in report["oracle_only"].detail
    other = hard(num_rare=2, num_candidates=3, delta=0.5, index=(np.asarray(base.index) + 1) % 3)
    assert check_algorithm(make, base, checks=("oracle_only",), decoy=other).passed


# --- the pytest forms -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, run", algorithm_checks(make_empirical, checks=EAGER_CHECKS))
def test_algorithm_checks_gives_one_test_per_check(name, run):
    run()


def test_algorithm_checks_raise_with_the_check_named():
    runs = dict(algorithm_checks(make_under_reports, checks=("runs", "queries_reported"), keys=1))
    runs["runs"]()
    with pytest.raises(AssertionError, match="under_reports: queries_reported failed"):
        runs["queries_reported"]()


def test_assert_conforms_is_one_line():
    assert isinstance(assert_conforms(make_empirical, checks=("runs",), keys=1), CheckReport)
    with pytest.raises(AssertionError, match="reads_base failed 1 check.s.: oracle_only"):
        assert_conforms(make_reads_base, checks=("runs", "oracle_only"), keys=1)


# --- arguments --------------------------------------------------------------------------------------------
def test_bad_arguments_are_refused_with_the_fix():
    algorithm = make_empirical(default_instance())
    with pytest.raises(TypeError, match="make_algorithm must take an instance"):
        check_algorithm(algorithm)
    with pytest.raises(TypeError, match="make_algorithm must be callable"):
        check_algorithm("sft")
    with pytest.raises(TypeError, match="must return the algorithm"):
        check_algorithm(lambda base: 3)
    with pytest.raises(ValueError, match="keys must be a number of seeds >= 1"):
        check_algorithm(make_empirical, keys=0)
    with pytest.raises(ValueError, match=r"keys must be .* got shape \(3,\)"):
        check_algorithm(make_empirical, keys=jnp.zeros(3, jnp.uint32))
    with pytest.raises(ValueError, match="checks must name some of"):
        check_algorithm(make_empirical, checks=("runs", "speed"))
    with pytest.raises(TypeError, match="unexpected options"):
        algorithm_checks(make_empirical, budget=3)


def test_decoy_instance_keeps_spaces_and_mu_and_moves_every_argmax():
    for base in (default_instance(), tree_base()):
        decoy = decoy_instance(base)
        table, other = ss.as_tabular(base), ss.as_tabular(decoy)
        assert type(decoy) is type(base)
        np.testing.assert_array_equal(np.asarray(other.prompt_probs), np.asarray(table.prompt_probs))
        probs, decoy_probs = np.asarray(table.probs), np.asarray(other.probs)
        assert decoy_probs.shape == probs.shape
        top = decoy_probs.argmax(axis=1)
        assert np.all(probs[np.arange(len(top)), top] < probs.max(axis=1))


# --- the built-in algorithms --------------------------------------------------------------------------------
_HARD = hard(num_rare=2, num_candidates=4, delta=0.5)
_HARD_DECOY = hard(num_rare=2, num_candidates=4, delta=0.5, index=(np.asarray(_HARD.index) + 1) % 4)
_P = functools.partial
BUILT_INS = {
    "best_of_n": (lambda base: _P(ss.best_of_n, prompts=jnp.arange(4), num_samples=4), None, None),
    "sft_sharpen": (lambda base: _P(ss.sft_sharpen, model_class=ss.TabularClass.like(base), num_prompts=8,
                                    num_samples=4), None, None),
    "adaptive_sft_sharpen": (lambda base: _P(ss.adaptive_sft_sharpen, model_class=ss.TabularClass.like(base),
                                             num_prompts=8, mu=1.0, max_samples=8), None, None),
    "rlhf_sharpen": (lambda base: _P(ss.rlhf_sharpen, model_class=ss.TabularClass.like(base), num_prompts=8,
                                     beta=0.5), None, None),
    "xpo_sharpen": (lambda base: _P(ss.xpo_sharpen, model_class=ss.TabularClass.like(base), num_rounds=3, beta=0.5,
                                    alpha=0.1, num_steps=4, num_validation=2, reward_range=3.0, value_range=2.0),
                    None, None),
    "bayes_hard_learner": (lambda base: _P(ss.bayes_hard_learner, model_class=base.model_class, num_prompts=8),
                           _HARD, _HARD_DECOY),
    "adaptive_bayes_hard_learner": (lambda base: _P(ss.adaptive_bayes_hard_learner, model_class=base.model_class,
                                                    num_prompts=8, max_samples=16), _HARD, _HARD_DECOY),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BUILT_INS))
def test_every_built_in_algorithm_passes(name):
    make, instance, decoy = BUILT_INS[name]
    report = check_algorithm(make, instance, decoy=decoy).raise_if_failed()
    assert report.algorithm_name == name
    skipped = [result.name for result in report.results if result.passed is None]
    assert skipped == (["valid_policy"] if name == "best_of_n" else []), str(report)


@pytest.mark.slow
def test_sft_passes_on_an_autoregressive_base():
    base = tree_base()
    check_algorithm(lambda b: _P(ss.sft_sharpen, model_class=ss.TabularClass(4, b.prompt_probs), num_prompts=6,
                                 num_samples=3), base).raise_if_failed()


@pytest.mark.slow
def test_built_ins_pass_on_random_instances():
    from hypothesis import given, settings

    @settings(max_examples=3, deadline=None)
    @given(strategies.instances(num_prompts=3, num_responses=5, argmax_ties=2))
    def run(base):
        make = lambda b: _P(ss.sft_sharpen, model_class=ss.TabularClass.like(b), num_prompts=6,  # noqa: E731
                            num_samples=3)
        check_algorithm(make, base, checks=EAGER_CHECKS).raise_if_failed()

    run()
