"""The oracle as a sealed boundary (Definition 3.2): no uncharged route to π_base, an immutable ledger, the
budget and index checks in every mode (eager, and jit/vmap/lax.scan through ``checked``), ``sample_until``."""

import copy
import math
import pickle

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sharpsim import Oracle, QueryBudgetExceeded, QueryCount, TabularClass, TabularPolicy, sft_sharpen, xpo_sharpen
from sharpsim.core.checked import checked

PROBS = np.array([[0.5, 0.3, 0.2, 0.0], [0.1, 0.1, 0.8, 0.0], [0.25, 0.25, 0.25, 0.25]])
POLICY = TabularPolicy(PROBS)
SECRET = {round(float(v), 12) for v in PROBS.ravel()} | {round(float(v), 12) for v in np.log(PROBS[PROBS > 0])}


def reveals_table(value, depth=0) -> bool:
    """True if ``value`` (or anything reachable by attributes/containers, a few levels deep) holds π_base's table."""
    if depth > 3:
        return False
    if isinstance(value, TabularPolicy):
        return True
    if isinstance(value, (jax.Array, np.ndarray)):
        array = np.asarray(value)
        return array.dtype.kind == "f" and array.size >= 4 and {round(float(v), 12) for v in array.ravel()} >= SECRET
    if isinstance(value, (list, tuple)):
        return any(reveals_table(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return any(reveals_table(v, depth + 1) for v in value.values())
    return any(reveals_table(v, depth + 1) for v in getattr(value, "__dict__", {}).values())


# ---- sealed ---------------------------------------------------------------------------------------------------


def test_no_attribute_leaf_vars_dir_repr_or_pickle_gives_the_table():
    oracle = Oracle(POLICY, budget=0)
    assert not hasattr(oracle, "base")
    with pytest.raises(TypeError):
        vars(oracle)
    for name in dir(oracle):
        value = getattr(oracle, name)
        if not callable(value):
            assert not reveals_table(value), name
    assert not reveals_table(jax.tree_util.tree_leaves(oracle))
    assert all(np.asarray(leaf).dtype == np.int64 for leaf in jax.tree_util.tree_leaves(oracle))
    assert "0.8" not in repr(oracle) and "probs" not in repr(oracle)
    assert "0.8" not in repr(jax.tree_util.tree_structure(oracle))
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(oracle)
    assert copy.deepcopy(oracle) is oracle
    # the spaces are exposed, and nothing was charged by looking
    assert (oracle.num_prompts, oracle.num_responses, oracle.vocab_size, oracle.horizon) == (3, 4, None, None)
    assert int(oracle.queries.total) == 0


def test_ledger_and_budget_cannot_be_assigned_or_forged():
    oracle = Oracle(POLICY, budget=10)
    for name in ("queries", "budget", "base", "_queries", "_budget"):
        with pytest.raises(AttributeError):
            setattr(oracle, name, None)
    with pytest.raises(TypeError):
        Oracle(POLICY, budget=10, queries=QueryCount.zero())
    with pytest.raises(ValueError, match="non-negative"):
        QueryCount(0, -5, 0)
    with pytest.raises(TypeError, match="integers"):
        QueryCount(0, 1.5, 0)
    with pytest.raises(Exception):
        QueryCount.zero().samples = 3
    assert QueryCount(1, 2, 3).samples.dtype == jnp.int64


# ---- budget in every mode --------------------------------------------------------------------------------------


def sft_run(budget, n=100, big_n=100):
    return lambda key: sft_sharpen(key, Oracle(POLICY, budget=budget), TabularClass.like(POLICY), n, big_n)


@pytest.mark.slow
def test_budget_raises_under_jit_vmap_and_scan_through_checked():
    key = jax.random.key(0)
    with pytest.raises(QueryBudgetExceeded, match="needs 10000 .* budget is 10"):
        checked(jax.jit(sft_run(10)))(key)
    with pytest.raises(QueryBudgetExceeded, match="budget is 10"):
        checked(jax.vmap(sft_run(10)))(jax.random.split(key, 3))

    def scan(key):
        def step(oracle, k):
            batch, oracle = oracle.sample(k, jnp.array([0, 1]), 3)
            return oracle, batch.responses

        return jax.lax.scan(step, Oracle(POLICY, budget=20), jax.random.split(key, 4))

    with pytest.raises(QueryBudgetExceeded, match="needs 24 .* budget is 20"):
        checked(jax.jit(scan))(key)
    # within budget the checked run returns what the plain run returns
    result, oracle = checked(jax.jit(sft_run(10**4, 10, 10)))(key)
    plain, _ = jax.jit(sft_run(None, 10, 10))(key)
    np.testing.assert_array_equal(np.asarray(result.responses), np.asarray(plain.responses))
    assert int(oracle.queries.samples) == 100 and int(result.queries.samples) == 100


@pytest.mark.slow
def test_budgeted_oracle_in_plain_jit_without_checked_raises_naming_the_fix():
    with pytest.raises(RuntimeError, match=r"sharpsim\.checked"):
        jax.jit(sft_run(10))(jax.random.key(0))
    with pytest.raises(RuntimeError, match=r"sharpsim\.checked"):
        jax.vmap(sft_run(10**6, 2, 2))(jax.random.split(jax.random.key(0), 2))
    # no budget: plain jit needs no wrapper
    result, _ = jax.jit(sft_run(None, 4, 4))(jax.random.key(0))
    assert int(result.queries.samples) == 16


FULL_SUPPORT = TabularPolicy(np.full((3, 4), 0.25))  # XPO's reward log π_base must be finite (Theorem J.2)


def xpo_run(budget, rounds):
    return lambda key: xpo_sharpen(key, Oracle(FULL_SUPPORT, budget=budget), TabularClass.like(FULL_SUPPORT), rounds,
                                   0.5, 0.1, num_steps=2, num_validation=2, reward_range=1.0, value_range=1.0)


@pytest.mark.slow
def test_xpo_never_overspends():
    key = jax.random.key(1)
    with pytest.raises(QueryBudgetExceeded, match="budget is 10"):
        xpo_run(10, 20)(key)  # eager: refused before anything is drawn
    with pytest.raises(QueryBudgetExceeded, match="budget is 10"):
        checked(jax.jit(xpo_run(10, 20)))(key)
    with pytest.raises(RuntimeError, match=r"sharpsim\.checked"):
        jax.jit(xpo_run(10, 20))(key)
    needed = 2 * 20 + 21 * 2
    result, oracle = xpo_run(needed, 20)(key)  # eager, exactly the budget
    assert int(oracle.queries.total) == needed == int(result.queries.total)
    assert int(result.training_queries.total) == 40


# ---- indices -------------------------------------------------------------------------------------------------


def test_out_of_range_indices_raise_eagerly_and_under_checked_and_are_never_clamped():
    oracle = Oracle(POLICY)
    key = jax.random.key(2)
    with pytest.raises(ValueError, match=r"prompts must lie in \[0, 3\).*got 99"):
        oracle.sample(key, jnp.array([99]), 3)
    with pytest.raises(ValueError, match=r"responses must lie in \[0, 4\).*got -1"):
        oracle.evaluate(jnp.array([0]), jnp.array([-1]))
    with pytest.raises(ValueError, match=r"prompts must lie in \[0, 3\).*got 7"):
        checked(jax.jit(lambda p: oracle.sample(key, p, 3)))(jnp.array([0, 7]))
    with pytest.raises(ValueError, match=r"responses must lie in \[0, 4\).*got 4"):
        checked(jax.jit(lambda y: oracle.evaluate(jnp.array([0, 1]), y)))(jnp.array([1, 4]))
    # plain jit: NaN and −1, never another prompt's answers, and not charged
    batch, charged = jax.jit(lambda p: oracle.sample(key, p, 3))(jnp.array([99, 1]))
    assert np.all(np.asarray(batch.responses[0]) == -1) and np.all(np.isnan(np.asarray(batch.log_probs[0])))
    assert np.all(np.isfinite(np.asarray(batch.log_probs[1])))
    assert int(charged.queries.samples) == 3
    log_probs, _ = jax.jit(oracle.evaluate)(jnp.array([0, 0]), jnp.array([4, 1]))
    assert np.isnan(float(log_probs[0])) and float(log_probs[1]) == pytest.approx(math.log(0.3))


# ---- results -------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_every_result_reports_what_its_run_was_charged():
    from sharpsim import adaptive_sft_sharpen, best_of_n, rlhf_sharpen

    # an oracle with history, on a full-support base (XPO's reward log π_base must be finite)
    _, used = Oracle(FULL_SUPPORT).sample(jax.random.key(9), jnp.array([0, 1]), 5)
    model_class = TabularClass.like(FULL_SUPPORT)
    runs = [
        lambda o: best_of_n(jax.random.key(0), o, jnp.array([0, 1, 1]), 4),
        lambda o: sft_sharpen(jax.random.key(0), o, model_class, 6, 3),
        lambda o: adaptive_sft_sharpen(jax.random.key(0), o, model_class, 6, 2.0, 30),
        lambda o: rlhf_sharpen(jax.random.key(0), o, model_class, 6, 0.5),
        lambda o: xpo_sharpen(jax.random.key(0), o, model_class, 3, 0.5, 0.1, num_steps=2, num_validation=2,
                              reward_range=1.0, value_range=1.0),
    ]
    for run in runs:
        result, after = run(used)
        difference = jax.tree_util.tree_map(lambda a, b: int(a - b), after.queries, used.queries)
        assert (int(result.queries.prompts), int(result.queries.samples), int(result.queries.evaluations)) == (
            difference.prompts, difference.samples, difference.evaluations)


# ---- the adaptive oracle ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_sample_until_matches_a_sequential_reference():
    """Against a numpy loop over the same tape: draw one at a time, stop at the first k with
    k·max_{j≤k} π(y_j|x) ≥ μ, charge exactly the samples drawn."""
    mu, cap = 2.5, 12
    prompts = jnp.array([0, 1, 2, 2, 0])
    active = jnp.array([True, True, True, False, True])
    key = jax.random.key(5)
    stopped, oracle = Oracle(POLICY).sample_until(key, prompts, cap, lambda k, m: k * jnp.exp(m) >= mu,
                                                  active=active)
    tape = np.asarray(POLICY.sample_responses(key, prompts, cap))  # the same draws as the oracle's tape
    total = 0
    for i, x in enumerate(np.asarray(prompts)):
        if not bool(active[i]):
            expected, hit = 0, False
        else:
            best, expected, hit = 0.0, cap, True
            for k in range(1, cap + 1):
                best = max(best, PROBS[x, tape[i, k - 1]])
                if k * best >= mu:
                    expected, hit = k, False
                    break
        total += expected
        assert int(stopped.num_samples[i]) == expected and bool(stopped.hit_cap[i]) == hit
        np.testing.assert_array_equal(np.asarray(stopped.responses[i, :expected]), tape[i, :expected])
        assert np.all(np.asarray(stopped.responses[i, expected:]) == -1)
        assert np.all(np.isneginf(np.asarray(stopped.log_probs[i, expected:])))
        np.testing.assert_allclose(np.asarray(stopped.log_probs[i, :expected]), np.log(PROBS[x, tape[i, :expected]]))
    assert int(oracle.queries.samples) == total


def test_sample_until_rule_cannot_look_ahead():
    """The rule sees one k at a time: a rule that inspects future samples cannot (its argument is per-k)."""
    shapes = []

    def rule(k, running_max):
        shapes.append(running_max.shape)
        return k >= 2

    stopped, oracle = Oracle(POLICY).sample_until(jax.random.key(0), jnp.array([0, 1, 2]), 5, rule)
    assert shapes == [(3,)]
    np.testing.assert_array_equal(np.asarray(stopped.num_samples), [2, 2, 2])
    assert int(oracle.queries.samples) == 6


def test_sample_until_refuses_before_running_the_rule_when_even_one_sample_each_is_over_budget():
    calls = []

    def rule(k, running_max):
        calls.append(1)
        return k >= 1

    with pytest.raises(QueryBudgetExceeded, match="budget is 2"):
        Oracle(POLICY, budget=2).sample_until(jax.random.key(0), jnp.array([0, 1, 2]), 5, rule)
    assert calls == []  # refused before the tape was drawn: the rule never ran
    stopped, oracle = Oracle(POLICY, budget=3).sample_until(jax.random.key(0), jnp.array([0, 1, 2]), 5, rule)
    assert calls and int(oracle.queries.samples) == 3 and np.all(np.asarray(stopped.num_samples) == 1)


def test_sample_until_respects_the_budget():
    with pytest.raises(QueryBudgetExceeded, match="budget is 5"):
        Oracle(POLICY, budget=5).sample_until(jax.random.key(0), jnp.array([0, 1, 2]), 5, lambda k, m: k >= 2)
    with pytest.raises(QueryBudgetExceeded, match="budget is 5"):
        checked(jax.jit(lambda key: Oracle(POLICY, budget=5).sample_until(
            key, jnp.array([0, 1, 2]), 5, lambda k, m: k >= 2)))(jax.random.key(0))
