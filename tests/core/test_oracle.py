"""The sample-and-evaluate oracle (Def. 3.2, Def. D.1, footnote 7): answers, ledger, budget, jit/vmap/scan."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests.numpy_reference import chi_square_pvalue
from sharpsim import Oracle, QueryBudgetExceeded, QueryCount, SampleBatch, TabularPolicy, best_of_n

PROBS = np.array([[0.5, 0.3, 0.2, 0.0], [0.1, 0.1, 0.8, 0.0], [0.25, 0.25, 0.25, 0.25]])
MU = np.array([0.2, 0.8, 0.0])
POLICY = TabularPolicy(PROBS, MU)


def ledger(oracle):
    q = oracle.queries
    return int(q.prompts), int(q.samples), int(q.evaluations)


# ---- answers ------------------------------------------------------------------------------------------------


def test_fresh_ledger_is_zero():
    oracle = Oracle(POLICY)
    assert ledger(oracle) == (0, 0, 0)
    assert int(oracle.queries.total) == 0
    zero = QueryCount.zero()
    assert (int(zero.prompts), int(zero.samples), int(zero.evaluations)) == (0, 0, 0)
    assert oracle.queries.samples.dtype == jnp.int64


def test_draw_prompts_follows_mu_and_is_recorded():
    oracle = Oracle(POLICY)
    prompts, charged = oracle.draw_prompts(jax.random.key(0), 20000)
    assert prompts.shape == (20000,)
    counts = np.bincount(np.asarray(prompts), minlength=3)
    assert counts[2] == 0  # μ = 0 prompt never drawn
    assert chi_square_pvalue(counts, MU) > 1e-4
    assert ledger(charged) == (20000, 0, 0)
    assert ledger(oracle) == (0, 0, 0)  # functional: the original oracle is unchanged
    assert int(charged.queries.total) == 0  # prompts are free in the paper's accounting


@pytest.mark.slow
def test_sample_answers_and_charges_n_times_N():
    oracle = Oracle(POLICY)
    prompts = jnp.repeat(jnp.arange(3), 3000)
    batch, charged = oracle.sample(jax.random.key(1), prompts, 4)
    assert isinstance(batch, SampleBatch)
    assert batch.responses.shape == (9000, 4) and batch.log_probs.shape == (9000, 4)
    assert batch.log_probs.dtype == jnp.float64
    responses = np.asarray(batch.responses)
    with np.errstate(divide="ignore"):
        expected = np.log(PROBS)[np.asarray(prompts)[:, None], responses]
    np.testing.assert_array_equal(np.asarray(batch.log_probs), expected)
    assert np.all(np.isfinite(expected))  # zero-probability responses are never sampled
    per_prompt = responses.reshape(3, -1)
    for x in range(3):
        assert chi_square_pvalue(np.bincount(per_prompt[x], minlength=4), PROBS[x]) > 1e-4
    assert ledger(charged) == (0, 9000 * 4, 0)
    assert int(charged.queries.total) == 9000 * 4


@pytest.mark.slow
def test_sample_with_prompt_array_of_any_shape():
    prompts = jnp.array([[0, 1, 1], [1, 0, 2]])
    batch, charged = Oracle(POLICY).sample(jax.random.key(2), prompts, 5)
    assert batch.responses.shape == (2, 3, 5)
    assert ledger(charged) == (0, 6 * 5, 0)


def test_evaluate_answers_and_counts_pairs_apart():
    oracle = Oracle(POLICY)
    prompts = jnp.array([0, 1, 2, 0, 1])
    responses = jnp.array([0, 2, 3, 3, 1])
    logp, charged = oracle.evaluate(prompts, responses)
    with np.errstate(divide="ignore"):
        expected = np.log(PROBS[np.asarray(prompts), np.asarray(responses)])
    np.testing.assert_array_equal(np.asarray(logp), expected)
    assert ledger(charged) == (0, 0, 5)
    # broadcasting prompts against responses: one evaluation per broadcast pair
    logp, charged2 = charged.evaluate(jnp.array([[0], [1]]), jnp.arange(4)[None, :])
    assert logp.shape == (2, 4)
    assert ledger(charged2) == (0, 0, 5 + 8)
    assert int(charged2.queries.total) == 13


def test_ledger_accumulates_across_kinds():
    oracle = Oracle(POLICY)
    prompts, oracle = oracle.draw_prompts(jax.random.key(0), 6)
    batch, oracle = oracle.sample(jax.random.key(1), prompts, 3)
    _, oracle = oracle.evaluate(prompts, batch.responses[:, 0])
    assert ledger(oracle) == (6, 18, 6)
    assert int(oracle.queries.total) == 18 + 6


def test_best_of_n_result_carries_its_queries():
    result, oracle = best_of_n(jax.random.key(0), Oracle(POLICY), jnp.array([0, 1, 1]), 7)
    assert (int(result.queries.samples), int(result.queries.evaluations)) == (21, 0)
    assert ledger(oracle)[1:] == (21, 0)


# ---- budget -----------------------------------------------------------------------------------------------

BUDGET_MESSAGE = r"needs 12 sample-and-evaluate queries in total \(samples 12, evaluations 0\) but the oracle's budget is 10"


def test_budget_allows_exactly_the_budget():
    oracle = Oracle(POLICY, budget=12)
    _, oracle = oracle.sample(jax.random.key(0), jnp.array([0, 1]), 6)
    assert ledger(oracle) == (0, 12, 0)


def test_budget_refuses_a_query_that_would_exceed_it():
    oracle = Oracle(POLICY, budget=10)
    with pytest.raises(QueryBudgetExceeded, match=BUDGET_MESSAGE):
        oracle.sample(jax.random.key(0), jnp.array([0, 1]), 6)
    with pytest.raises(QueryBudgetExceeded, match=BUDGET_MESSAGE):
        best_of_n(jax.random.key(0), oracle, jnp.array([0, 1]), 6)
    with pytest.raises(QueryBudgetExceeded, match=r"\(samples 0, evaluations 11\).*budget is 10"):
        oracle.evaluate(jnp.zeros(11, dtype=jnp.int64), jnp.zeros(11, dtype=jnp.int64))
    with pytest.raises(QueryBudgetExceeded, match=r"budget is 10"):
        oracle.check_affordable(samples=5, evaluations=6)
    assert issubclass(QueryBudgetExceeded, Exception)


def test_budget_counts_both_kinds_cumulatively():
    oracle = Oracle(POLICY, budget=10)
    _, oracle = oracle.sample(jax.random.key(0), jnp.array([0, 1]), 3)  # 6
    _, oracle = oracle.evaluate(jnp.array([0, 1]), jnp.array([0, 0]))  # 8
    with pytest.raises(QueryBudgetExceeded, match=r"needs 11 .*\(samples 9, evaluations 2\).*budget is 10"):
        oracle.sample(jax.random.key(1), jnp.array([2]), 3)
    assert ledger(oracle) == (0, 6, 2)  # the refused query charged nothing


def test_zero_budget_and_no_budget():
    with pytest.raises(QueryBudgetExceeded, match="budget is 0"):
        Oracle(POLICY, budget=0).sample(jax.random.key(0), jnp.array([0]), 1)
    _, oracle = Oracle(POLICY).sample(jax.random.key(0), jnp.arange(3), 10**4)
    assert ledger(oracle) == (0, 3 * 10**4, 0)


@pytest.mark.parametrize(
    "budget, error, message",
    [
        (-1, ValueError, r"budget must be an integer >= 0, got -1"),
        (1.5, TypeError, r"budget must be an integer >= 0, got 1\.5"),
        (True, TypeError, r"budget must be an integer >= 0, got True"),
    ],
)
def test_bad_budget(budget, error, message):
    with pytest.raises(error, match=message):
        Oracle(POLICY, budget=budget)


def test_bad_counts():
    oracle = Oracle(POLICY)
    with pytest.raises(ValueError, match="num_prompts must be an integer >= 1, got 0"):
        oracle.draw_prompts(jax.random.key(0), 0)
    with pytest.raises(ValueError, match="num_samples must be an integer >= 1, got 0"):
        oracle.sample(jax.random.key(0), jnp.array([0]), 0)


def test_negative_affordability_query_is_refused():
    with pytest.raises(ValueError, match="samples"):
        Oracle(POLICY, budget=10).check_affordable(samples=-5)


# ---- jit / vmap / scan ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_counts_under_jit_and_vmap_over_seeds():
    def run(key, oracle):
        kx, ky = jax.random.split(key)
        prompts, oracle = oracle.draw_prompts(kx, 8)
        batch, oracle = oracle.sample(ky, prompts, 5)
        _, oracle = oracle.evaluate(prompts, batch.responses[:, 0])
        return batch.responses, oracle

    keys = jax.random.split(jax.random.key(3), 6)
    responses, oracles = jax.jit(jax.vmap(run, in_axes=(0, None)))(keys, Oracle(POLICY))
    assert responses.shape == (6, 8, 5)
    np.testing.assert_array_equal(np.asarray(oracles.queries.prompts), [8] * 6)
    np.testing.assert_array_equal(np.asarray(oracles.queries.samples), [40] * 6)
    np.testing.assert_array_equal(np.asarray(oracles.queries.evaluations), [8] * 6)
    np.testing.assert_array_equal(np.asarray(oracles.queries.total), [48] * 6)
    # and the same answers as the un-jitted run for one key
    eager_responses, eager_oracle = run(keys[2], Oracle(POLICY))
    np.testing.assert_array_equal(np.asarray(eager_responses), np.asarray(responses[2]))
    assert ledger(eager_oracle) == (8, 40, 8)


def test_counts_through_lax_scan_with_data_dependent_prompts():
    def step(oracle, key):
        batch, oracle = oracle.sample(key, jnp.array([0, 1, 1]), 4)
        _, oracle = oracle.evaluate(batch.responses[:1, 0], batch.responses[:1, 0])  # learner-chosen pair
        return oracle, batch.responses

    oracle, responses = jax.lax.scan(step, Oracle(POLICY), jax.random.split(jax.random.key(4), 5))
    assert ledger(oracle) == (0, 5 * 12, 5)
    assert responses.shape == (5, 3, 4)


def test_oracle_accepts_any_policy_with_the_sampler_interface():
    class Deterministic:
        """A base that is not a TabularPolicy: always answers response x + 1 with likelihood 1."""

        num_prompts, num_responses = 4, 5

        def sample_prompts(self, key, num_prompts):
            return jnp.zeros(num_prompts, dtype=jnp.int64)

        def sample_responses(self, key, prompts, num_samples):
            return jnp.broadcast_to((prompts + 1)[..., None], (*prompts.shape, num_samples))

        def log_prob(self, prompts, responses):
            return jnp.where(responses == prompts + 1, 0.0, -jnp.inf)

    oracle = Oracle(Deterministic(), budget=100)
    prompts, oracle = oracle.draw_prompts(jax.random.key(0), 3)
    batch, oracle = oracle.sample(jax.random.key(1), prompts + jnp.arange(3), 4)
    np.testing.assert_array_equal(np.asarray(batch.responses), np.repeat(np.arange(1, 4)[:, None], 4, axis=1))
    np.testing.assert_array_equal(np.asarray(batch.log_probs), np.zeros((3, 4)))
    logp, oracle = oracle.evaluate(jnp.array([0, 0]), jnp.array([1, 2]))
    np.testing.assert_array_equal(np.asarray(logp), [0.0, -np.inf])
    assert ledger(oracle) == (3, 12, 2)


def test_oracle_is_a_pytree_whose_leaves_are_the_ledger():
    _, oracle = Oracle(POLICY, budget=50).sample(jax.random.key(0), jnp.array([0]), 3)
    leaves, treedef = jax.tree_util.tree_flatten(oracle)
    # the three counts and the ledger's tamper-evident tag, all scalar int64; no probability anywhere
    assert len(leaves) == 4 and all(leaf.dtype == jnp.int64 and leaf.shape == () for leaf in leaves)
    assert [int(leaf) for leaf in leaves[:3]] == [0, 3, 0]  # sample() charges samples; prompts count draw_prompts
    rebuilt = jax.tree_util.tree_unflatten(treedef, leaves)
    assert rebuilt.budget == 50
    assert ledger(rebuilt) == (0, 3, 0)
    # the rebuilt oracle still answers from the same base
    log_probs, _ = rebuilt.evaluate(jnp.array([1]), jnp.array([2]))
    np.testing.assert_allclose(np.asarray(log_probs), np.log([0.8]))


def test_a_ledger_rewritten_from_outside_the_queries_is_refused():
    oracle = Oracle(TabularPolicy([[0.5, 0.5], [0.9, 0.1]]), budget=4)
    _, spent = oracle.sample(jax.random.key(0), jnp.array([0, 1]), 2)
    for forge in (lambda x: x - 10**6, jnp.zeros_like, lambda x: x * 0.5):
        forged = jax.tree_util.tree_map(forge, spent)
        with pytest.raises(ValueError, match="ledger was altered"):
            forged.sample(jax.random.key(1), jnp.array([0]), 1)
    with pytest.raises(ValueError, match="must lie in"):
        spent.check_affordable(samples=2**63 - 1)
    with pytest.raises(TypeError, match="integer count"):
        spent.check_affordable(samples=0.5)
    assert hash(jax.tree_util.tree_structure(spent)) is not None  # the sealed handle still hashes (jit caches)
