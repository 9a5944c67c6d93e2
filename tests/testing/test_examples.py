"""examples/user_algorithm: the user's answer-majority SFT passes check_algorithm and check_guarantee at its claim,
and each planted defect is caught by the check named for it; ``method`` follows explore's protocol."""

import importlib.util
import math
import pathlib
import sys

import jax
import numpy as np
import pytest

import sharpsim as ss
from sharpsim.testing import check_algorithm, check_guarantee, instance_quantities

FOLDER = pathlib.Path(__file__).resolve().parents[2] / "examples" / "user_algorithm"


def load(name):
    module_name = f"user_algorithm_{name}"  # the name defects.py loads its siblings under
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, FOLDER / f"{name}.py")
        sys.modules[module_name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[module_name])
    return sys.modules[module_name]


algorithm, claim, defects = load("algorithm"), load("claim"), load("defects")
INSTANCE = algorithm.example_instance()


def test_the_majority_pick_agrees_with_a_loop_over_samples():
    @jax.jit
    def draw(key):
        oracle = ss.Oracle(INSTANCE)
        prompts, oracle = oracle.draw_prompts(key, 64)
        batch, oracle = oracle.sample(key, prompts, 8)
        return batch, algorithm.majority_picks(batch.responses, batch.log_probs, oracle)

    batch, picks = draw(jax.random.PRNGKey(0))
    picks = np.asarray(picks)
    responses, log_probs = np.asarray(batch.responses), np.asarray(batch.log_probs)
    for i in range(64):
        answers = responses[i, :, -1]
        votes = [np.sum(answers == a) for a in range(2)]
        majority = int(np.argmax(votes))  # the smallest answer among tied counts
        candidates = [j for j in range(8) if answers[j] == majority]
        best = max(candidates, key=lambda j: (log_probs[i, j], -j))
        assert np.array_equal(picks[i], responses[i, best])


def test_the_answer_margin_and_the_claim_follow_their_formulas():
    joint = np.asarray(INSTANCE.to_tabular().probs)
    # answers are last tokens: responses 01 and 11 answer 1, 00 and 10 answer 0
    margins = [abs((row[1] + row[3]) - (row[0] + row[2])) for row in joint]
    assert claim.answer_margin(INSTANCE) == pytest.approx(min(margins))
    q = instance_quantities(INSTANCE)
    eps, delta, rho = 0.1, 0.25, 0.1
    expected_samples = q["coverage"] * math.log(2 / delta) / eps + 2 * math.log(4 / delta) / min(margins) ** 2
    assert claim.claim(eps, delta, rho, q) == {
        "num_prompts": math.ceil((3 * math.log(4) + math.log(1 / rho)) / (delta * eps)),
        "num_samples": math.ceil(expected_samples)}
    assert defects.too_few_samples_claim(eps, delta, rho, q)["num_samples"] == math.ceil(q["coverage"] / 10)


@pytest.mark.slow  # compiles the example's algorithm for several checks
def test_the_algorithm_passes_and_reading_pi_base_is_caught_by_oracle_only():
    assert check_algorithm(algorithm.make_algorithm, INSTANCE, checks=("runs", "oracle_only"), keys=1).passed
    report = check_algorithm(defects.make_reads_base, INSTANCE, checks=("runs", "oracle_only"), keys=1)
    assert report.failed == ("oracle_only",), str(report)
    assert "reads its instance around the oracle" in report["oracle_only"].detail


def test_under_reporting_is_caught_by_queries_reported():
    report = check_algorithm(defects.make_under_reports, INSTANCE, checks=("runs", "queries_reported"), keys=1)
    assert report.failed == ("queries_reported",), str(report)
    assert "reports (prompts, samples, evaluations) = (64, 64, 0) but the oracle was charged (64, 512, 0)" in \
        report["queries_reported"].detail


@pytest.mark.slow  # compiles the example's algorithm for several checks
def test_a_claim_that_misses_its_rate_is_caught_by_guarantee():
    report = check_guarantee(algorithm.make_algorithm, defects.too_few_samples_claim, instances=[INSTANCE], seeds=50)
    assert report.failed == ("guarantee",), str(report)
    assert "num_samples=1" in report["guarantee"].detail and "counterexample (instance 0, as drawn)" in str(report)


@pytest.mark.slow  # compiles the example's algorithm for several checks
def test_method_follows_explores_protocol():
    for budget in (99,):
        result, oracle = jax.jit(algorithm.method, static_argnums=2)(jax.random.PRNGKey(0), ss.Oracle(INSTANCE), budget)
        assert int(oracle.queries.total) <= budget and int(result.queries.samples) == int(oracle.queries.samples)
        probs = np.asarray(result.policy.probs)
        assert probs.shape == (3, 4) and np.allclose(probs.sum(axis=1), 1.0)


@pytest.mark.slow
def test_the_algorithm_passes_every_conformance_check_and_its_guarantee():
    report = check_algorithm(algorithm.make_algorithm, INSTANCE)
    assert report.passed, str(report)
    report = check_guarantee(algorithm.make_algorithm, claim.claim, instances=claim.instances())
    assert report.passed, str(report)


@pytest.mark.slow
def test_the_missed_rate_shrinks_to_a_counterexample_inside_the_claimed_instances():
    report = check_guarantee(algorithm.make_algorithm, defects.too_few_samples_claim, instances=claim.instances(),
                             max_shrink_runs=8)
    assert report.failed == ("guarantee",), str(report)
    source = report.counterexample.split("instance = ", 1)[1].split("\n", 1)[0]
    counterexample = eval(source, {"np": np, "TreePolicy": ss.TreePolicy})
    assert claim.answer_margin(counterexample) >= claim.MIN_ANSWER_MARGIN
