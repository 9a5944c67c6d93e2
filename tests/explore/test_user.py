"""User methods: the static-budget protocol, the ledger check, and a user method against a numpy reference."""

from __future__ import annotations

import math
from pathlib import Path

import jax
import numpy as np
import pytest

import sharpsim as ss
from sharpsim.explore.axes import quantities
from sharpsim.explore.example_method import pooled_argmax
from sharpsim.explore.methods import Cell
from sharpsim.explore.user import load_user_function, run_user

HERE = Path(__file__).with_name("user_methods.py")


def _cell(policy, eps=0.5, seeds=12, user_queries=16, query_scale=8.0):
    point = {"eps": eps, "delta": 0.25, "rho": 0.1}
    return Cell("needle", point, policy, jax.random.split(jax.random.PRNGKey(5), seeds),
                {"user_queries": user_queries, "query_scale": query_scale}, quantities("needle", policy))


@pytest.mark.slow  # one compilation per budget evaluated
def test_a_static_budget_method_is_measured_budget_by_budget():
    policy = ss.make("needle", num_prompts=2, num_responses=8, coverage=1.25)
    rows = run_user(f"{HERE}:split_sft", _cell(policy))
    budgets = rows["budget"]
    assert set(rows["measure"]) == {"search"} and np.all(rows["samples"] == budgets)
    # N·⌊m/N⌋ ≤ m samples at every budget (N = 2, or 1 at m = 1), and success is judged by the referee
    samples = np.minimum(2, budgets)
    assert np.all(rows["spent"] == samples * (budgets // samples))
    assert rows["successes"].max() > 0


def test_a_method_that_overspends_is_refused():
    policy = ss.make("needle", num_prompts=2, num_responses=8, coverage=2.0)
    with pytest.raises(ValueError, match="overspender.*spent"):
        run_user(f"{HERE}:overspender", _cell(policy))


def test_load_user_function_by_module_and_by_path():
    assert load_user_function("sharpsim.explore.example_method:pooled_argmax") is pooled_argmax
    assert load_user_function(f"{HERE}:first_seen").__name__ == "first_seen"


def test_pooled_argmax_against_numpy():
    """The example method's π̂ from its own draws, rebuilt in numpy: per prompt the most likely response seen."""
    policy = ss.make("needle", num_prompts=3, num_responses=6, coverage=3.0)

    @jax.jit
    def run_and_draw(key):
        learned, oracle = pooled_argmax(key, ss.Oracle(policy), 5, max_queries=12)
        key_prompts, key_samples = jax.random.split(key)
        prompts, probe = ss.Oracle(policy).draw_prompts(key_prompts, 12)  # the same draws, for the reference
        batch, _ = probe.sample(key_samples, prompts, 1)
        return learned.probs, oracle.queries.samples, prompts, batch.responses

    learned, spent, prompts, responses = run_and_draw(jax.random.PRNGKey(11))
    assert int(spent) == 5
    prompts, responses = np.asarray(prompts)[:5], np.asarray(responses)[:5, 0]
    probs = np.asarray(policy.probs)
    for x in range(3):
        seen = responses[prompts == x]
        if seen.size == 0:
            np.testing.assert_allclose(learned[x], 1 / 6)
            continue
        best = seen[probs[x, seen] == probs[x, seen].max()]
        want = np.zeros(6)
        want[np.unique(best)] = 1 / np.unique(best).size
        np.testing.assert_allclose(learned[x], want)
    assert math.isclose(float(np.sum(learned)), 3.0)
