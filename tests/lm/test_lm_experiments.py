"""The exact laws of ``sharpsim.lm.exact`` against brute-force numpy enumeration, the fine-tuning of
``sharpsim.lm.finetune`` (loss decreases, deterministic from its key, exact outputs), bad input, and the quick sweeps
of the experiments lm_coverage and lm_sharpening end to end."""

import itertools
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sharpsim
from sharpsim.lm.exact import (
    bon_argmax_success,
    bon_monte_carlo_picks,
    correct_table,
    log_prob_table,
    self_reward_curves,
)
from sharpsim.lm.finetune import bon_sft_data, finetune, finetuned_outputs
from sharpsim.lm.policy import TransformerPolicy
from sharpsim.lm.task import ModularSumTask
from sharpsim.lm.training import LMConfig
from tests.lm.test_model import CONFIG, random_network

TASK = ModularSumTask(modulus=3, num_operands=3)  # |X| = 27, |V|^H = 9
LM_CONFIG = LMConfig(task=TASK, model=CONFIG)
NETWORK = random_network(3, scale=3.0, task=TASK, config=CONFIG)
POLICY = TransformerPolicy(NETWORK, TASK)
EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


def all_sequences(vocab, horizon):
    return np.array(list(itertools.product(range(vocab), repeat=horizon)))


def random_log_table(seed, rows, vocab, horizon, ties=False):
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.full(vocab**horizon, 0.7), size=rows)
    if ties:  # the two largest entries of row 0 made equal
        order = np.argsort(-probs[0])
        probs[0, order[1]] = probs[0, order[0]]
        probs[0] /= probs[0].sum()
    return np.log(probs)


def answer_correct(rows, vocab, horizon, seed=0):
    """bool [rows, |V|^H]: correct iff the last token equals a random answer per row (the task's answer rule)."""
    answers = np.random.default_rng(seed).integers(0, vocab, rows)
    return all_sequences(vocab, horizon)[:, -1][None, :] == answers[:, None]


def brute_force_bon(probs, correct, vocab, n):
    """Per row, by enumerating every ordered n-tuple of draws: accuracy and E[log π] of the log-likelihood pick,
    the answer-marginal pick and the sample-majority pick (ties: first drawn), and pass@n."""
    num = probs.shape[1]
    answers = np.arange(num) % vocab
    out = {k: np.zeros(len(probs)) for k in ("acc_ll", "loglik_ll", "acc_am", "loglik_am", "acc_mv", "loglik_mv",
                                              "pass")}
    for x in range(len(probs)):
        p = probs[x]
        marginal = np.array([p[answers == a].sum() for a in range(vocab)])
        for draws in itertools.product(range(num), repeat=n):
            weight = np.prod(p[list(draws)])
            picks = {"ll": max(range(n), key=lambda i: (p[draws[i]], -i)),
                     "am": max(range(n), key=lambda i: (marginal[answers[draws[i]]], -i))}
            counts = np.bincount(answers[list(draws)], minlength=vocab)
            tied = [a for a in range(vocab) if counts[a] == counts.max()]
            winner = min(tied, key=lambda a: [answers[d] for d in draws].index(a))
            picks["mv"] = [answers[d] for d in draws].index(winner)
            for name, i in picks.items():
                out[f"acc_{name}"][x] += weight * correct[x, draws[i]]
                out[f"loglik_{name}"][x] += weight * np.log(p[draws[i]])
            out["pass"][x] += weight * correct[x, list(draws)].any()
    return out


@pytest.mark.slow  # compiles the network's enumeration / the oracle's draws (over 10 s on 2 shared cores)
def test_log_prob_table_matches_teacher_forcing():
    prompts = np.array([0, 5, 26])
    sequences = all_sequences(3, 2)
    reference = np.asarray(POLICY.log_prob(jnp.asarray(prompts)[:, None], jnp.asarray(sequences)[None]))
    np.testing.assert_allclose(log_prob_table(POLICY, prompts), reference, atol=1e-12)
    np.testing.assert_allclose(np.exp(log_prob_table(POLICY)).sum(axis=1), 1.0, atol=1e-12)


def test_correct_table_is_the_modular_sum_of_the_operands():
    prompts = np.arange(27)
    operands = np.stack([prompts // 9, (prompts // 3) % 3, prompts % 3], axis=1)
    last = all_sequences(3, 2)[:, -1]
    expected = last[None, :] == (operands.sum(axis=1) % 3)[:, None]
    np.testing.assert_array_equal(correct_table(TASK, prompts), expected)


@pytest.mark.parametrize("ties", [False, True])
def test_bon_argmax_success_matches_brute_force(ties):
    log_table = random_log_table(1, 3, 2, 2, ties=ties)
    probs = np.exp(log_table)
    top = probs >= probs.max(axis=1, keepdims=True) * (1 - 1e-12)
    got = bon_argmax_success(log_table, [1, 2, 3])
    for k, n in enumerate([1, 2, 3]):
        reference = np.zeros(len(probs))
        for x in range(len(probs)):
            for draws in itertools.product(range(probs.shape[1]), repeat=n):
                pick = max(range(n), key=lambda i: (probs[x, draws[i]], -i))
                reference[x] += np.prod(probs[x, list(draws)]) * top[x, draws[pick]]
        np.testing.assert_allclose(got[k], reference, atol=1e-12)
    if not ties:  # Proposition C.1's closed form when y* is unique
        p_star = probs.max(axis=1)
        np.testing.assert_allclose(got, 1 - (1 - p_star[None, :]) ** np.array([1, 2, 3])[:, None], atol=1e-12)


def test_self_reward_curves_match_brute_force():
    vocab, horizon = 3, 2
    log_table = random_log_table(2, 3, vocab, horizon)
    correct = answer_correct(3, vocab, horizon)
    got = self_reward_curves(log_table, correct, [1, 2, 3])
    for k, n in enumerate([1, 2, 3]):
        reference = brute_force_bon(np.exp(log_table), correct, vocab, n)
        for name, values in reference.items():
            np.testing.assert_allclose(got[name][k], values, atol=1e-10, err_msg=f"{name} at N = {n}")


@pytest.mark.slow  # compiles the network's enumeration / the oracle's draws (over 10 s on 2 shared cores)
def test_self_reward_curves_majority_falls_back_to_monte_carlo_beyond_the_exact_limit():
    log_table = random_log_table(3, 4, 7, 1)
    correct = answer_correct(4, 7, 1)
    exact = self_reward_curves(log_table, correct, [20])["acc_mv"][0]
    trials = 2000
    got = self_reward_curves(log_table, correct, [20], key=jax.random.key(0), majority_trials=trials,
                             max_outcomes=1000)  # C(26, 6) count vectors > 1000: Monte Carlo
    assert np.isnan(got["loglik_mv"]).all()
    standard_error = np.sqrt(exact * (1 - exact) / trials)
    assert np.all(np.abs(got["acc_mv"][0] - exact) <= 5 * standard_error + 1e-3)


def test_bad_input_names_the_argument():
    with pytest.raises(TypeError, match="policy"):
        log_prob_table("not a policy")
    with pytest.raises(ValueError, match="prompts"):
        log_prob_table(POLICY, np.zeros((2, 2), int))
    with pytest.raises(ValueError, match="log_table"):
        bon_argmax_success(np.zeros((2, 4)), [1])
    with pytest.raises(ValueError, match="ns"):
        bon_argmax_success(random_log_table(0, 2, 2, 2), [0])
    with pytest.raises(ValueError, match="correct"):
        self_reward_curves(random_log_table(0, 2, 2, 2), np.zeros((2, 3), bool), [1])
    with pytest.raises(TypeError, match="task"):
        correct_table("task", [0])
    with pytest.raises(TypeError, match="base_probs"):
        bon_sft_data(jax.random.key(0), POLICY, 4, 2)
    with pytest.raises(ValueError, match="num_samples"):
        bon_monte_carlo_picks(jax.random.key(0), POLICY, [0, 1], 0)
    prompts, picks = np.zeros((2, 4), int), np.zeros((2, 4), int)
    keys = jax.random.split(jax.random.key(0), 2)
    with pytest.raises(TypeError, match="config"):
        finetune("config", NETWORK, prompts, picks, 2, keys, steps=2, batch_size=2, learning_rate=1e-3)
    with pytest.raises(ValueError, match="num_examples"):
        finetune(LM_CONFIG, NETWORK, prompts, picks, 5, keys, steps=2, batch_size=2, learning_rate=1e-3)
    with pytest.raises(ValueError, match="responses"):
        finetune(LM_CONFIG, NETWORK, prompts, np.zeros((2, 3), int), 2, keys, steps=2, batch_size=2,
                 learning_rate=1e-3)
    with pytest.raises(ValueError, match="responses given as indices"):
        finetune(LM_CONFIG, NETWORK, prompts, np.full_like(picks, -1), 2, keys, steps=2, batch_size=2,
                 learning_rate=1e-3)
    with pytest.raises(ValueError, match="learning_rate"):
        finetune(LM_CONFIG, NETWORK, prompts, picks, 2, keys, steps=2, batch_size=2, learning_rate=0.0)
    with pytest.raises(ValueError, match="keys"):
        finetune(LM_CONFIG, NETWORK, prompts, picks, 2, keys[:1], steps=2, batch_size=2, learning_rate=1e-3)
    with pytest.raises(ValueError, match="targets"):
        finetuned_outputs(LM_CONFIG, np.zeros((1, 3), np.float32), np.zeros(5, int))
    with pytest.raises(ValueError, match="prompts"):
        finetuned_outputs(LM_CONFIG, np.zeros((1, 3), np.float32), np.zeros(2, int), np.array([0, 27]))
    with pytest.raises(ValueError, match="targets"):
        finetuned_outputs(LM_CONFIG, np.zeros((1, 3), np.float32), np.zeros(3, int), np.array([0, 1]))


@pytest.mark.slow  # compiles the network's enumeration / the oracle's draws (over 10 s on 2 shared cores)
def test_bon_sft_data_picks_are_the_running_best_of_the_draws():
    table = POLICY.to_tabular()
    prompts, picks = bon_sft_data(jax.random.key(4), table, 6, 5)
    assert prompts.shape == (6,) and picks.shape == (6, 5)
    probs = np.asarray(table.probs)
    chosen = probs[prompts[:, None], picks]
    assert np.all(np.diff(chosen, axis=1) >= 0)  # best-of-k's pick can only improve with k


@pytest.mark.slow  # compiles the fine-tuning and the exact scoring (tens of seconds on 2 cores)
def test_finetune_decreases_the_loss_is_deterministic_and_scores_exactly():
    table = POLICY.to_tabular()
    data = [bon_sft_data(k, table, 16, 4) for k in jax.random.split(jax.random.key(5), 2)]
    prompts = np.stack([p for p, _ in data])
    picks = np.stack([q[:, -1] for _, q in data])
    keys = jax.random.split(jax.random.key(6), 2)
    kwargs = dict(steps=60, batch_size=8, learning_rate=3e-3)
    flats, losses = finetune(LM_CONFIG, NETWORK, prompts, picks, 8, keys, **kwargs)
    again, losses_again = finetune(LM_CONFIG, NETWORK, prompts, picks, 8, keys, **kwargs)
    np.testing.assert_array_equal(np.asarray(flats), np.asarray(again))
    np.testing.assert_array_equal(np.asarray(losses), np.asarray(losses_again))
    losses = np.asarray(losses)
    assert np.all(losses[:, -10:].mean(axis=1) < 0.5 * losses[:, :5].mean(axis=1))
    # the scoring against the policy's own greedy decoder and teacher-forced log-probability
    from sharpsim.lm.training import _unflatten

    targets = np.asarray(table.probs).argmax(axis=1)
    greedy, log_target = finetuned_outputs(LM_CONFIG, flats, targets)
    sequences = all_sequences(3, 2)
    for s in range(2):
        policy = TransformerPolicy(_unflatten(LM_CONFIG, jnp.asarray(flats)[s]), TASK)
        decoded = np.asarray(sharpsim.greedy_decode(policy))
        np.testing.assert_array_equal(greedy[s], decoded @ np.array([3, 1]))
        reference = np.asarray(policy.log_prob(jnp.arange(27), jnp.asarray(sequences[targets])))
        np.testing.assert_allclose(log_target[s], reference, atol=1e-10)
    # at a subset of prompts: the same numbers as at every prompt, restricted
    subset = np.array([3, 0, 26, 11])
    greedy_at, log_target_at = finetuned_outputs(LM_CONFIG, flats, targets[subset], subset)
    np.testing.assert_array_equal(greedy_at, greedy[:, subset])
    np.testing.assert_allclose(log_target_at, log_target[:, subset], atol=1e-12)


@pytest.mark.slow  # the quick grids, end to end on the committed weights
@pytest.mark.parametrize("name", ["lm_coverage", "lm_sharpening"])
def test_quick_sweep_runs_end_to_end(name, tmp_path):
    from sharpsim.runner.experiment import load_experiment
    from sharpsim.runner.sweep import default_layout, run_experiment

    experiment = load_experiment(EXPERIMENTS / name)
    output = run_experiment(experiment, default_layout(name, tmp_path, quick=True), quick=True, progress=False)
    assert output.layout.figure_path.is_file()
    assert (output.layout.results_dir / "summary.json").is_file()
