"""``sharpsim check``'s handler: exit status 0 when every check passes, 1 when one fails (the report names it), 2 for
a usage error (one line); MODULE as an importable module or a path to a .py file."""

import argparse
import textwrap

import pytest

from sharpsim.runner.check_command import add_parser, command_check

ALGORITHMS = textwrap.dedent('''
    import math

    import jax
    import jax.numpy as jnp

    import sharpsim as ss


    def make_argmax_of_samples(instance, num_samples=4):
        """Point mass on the best of N samples at every prompt (best-of-N as a policy)."""
        mu = instance.prompt_probs

        def argmax_of_samples(key, oracle):
            start = oracle
            prompts = jnp.arange(oracle.num_prompts)
            batch, oracle = oracle.sample(key, prompts, num_samples)
            best = jnp.take_along_axis(batch.responses, jnp.argmax(batch.log_probs, -1)[:, None], -1)[:, 0]
            table = jax.nn.one_hot(best, oracle.num_responses, dtype=jnp.float64)
            used = jax.tree_util.tree_map(jnp.subtract, oracle.queries, start.queries)
            return ss.Result(ss.TabularPolicy.tree_unflatten(None, (table, mu)), used), oracle
        return argmax_of_samples


    def make_under_reports(instance, num_samples=4):
        honest = make_argmax_of_samples(instance, num_samples)

        def under_reports(key, oracle):
            result, oracle = honest(key, oracle)
            queries = ss.QueryCount(result.queries.prompts, result.queries.samples - 1, result.queries.evaluations)
            return ss.Result(result.policy, queries), oracle
        return under_reports


    def enough(eps, delta, rho, quantities):
        """Proposition C.1 at ρ/|X| for the least argmax mass."""
        return {"num_samples": math.ceil(math.log(quantities["num_prompts"] / rho) / quantities["min_argmax_mass"])}


    def one_sample(eps, delta, rho, quantities):
        return {"num_samples": 1}


    def instances():
        return [ss.TabularPolicy([[0.5, 0.3, 0.2]]), ss.TabularPolicy([[0.4, 0.35, 0.25], [0.6, 0.2, 0.2]])]
''')


@pytest.fixture(scope="module")
def module_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("user") / "my_algorithms.py"
    path.write_text(ALGORITHMS)
    return path


def run(argv):
    parser = argparse.ArgumentParser(prog="sharpsim")
    add_parser(parser.add_subparsers(dest="command", required=True))
    arguments = parser.parse_args(["check", *argv])
    assert arguments.handler is command_check
    return command_check(arguments)


def test_an_algorithm_that_passes_exits_0(module_file, capsys):
    status = run(["sharpsim.testing.builtins:make_best_of_n", "--claim", "sharpsim.testing.builtins:prop_c1_claim",
                  "--strategy", f"{module_file}:instances", "--checks", "none"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "check_algorithm" not in out
    assert "check_guarantee(make_best_of_n; ε=0.1, δ=0.25, ρ=0.1, 2 instance(s), exact law, α=0.05 (holm)): " \
           "passed" in out


@pytest.mark.slow
def test_a_user_file_that_passes_exits_0(module_file, capsys):
    status = run([f"{module_file}:make_argmax_of_samples", "--claim", f"{module_file}:enough",
                  "--strategy", f"{module_file}:instances", "--seeds", "100"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "check_algorithm with the claim's allocation at its instance: {'num_samples': " in out
    assert "check_algorithm(make_argmax_of_samples): passed" in out
    assert "check_guarantee(make_argmax_of_samples; ε=0.1, δ=0.25, ρ=0.1, 2 instance(s), 100 seeds" in out


@pytest.mark.slow
def test_a_conformance_failure_exits_1_naming_the_check(module_file, capsys):
    status = run([f"{module_file}:make_under_reports", "--checks", "runs,queries_reported"])
    out = capsys.readouterr().out
    assert status == 1 and "FAILED queries_reported" in out, out


def test_a_claim_that_misses_its_rate_exits_1_naming_guarantee(module_file, capsys):
    status = run([f"{module_file}:make_argmax_of_samples", "--claim", f"{module_file}:one_sample",
                  "--strategy", f"{module_file}:instances", "--checks", "none", "--seeds", "50", "--no-shrink"])
    out = capsys.readouterr().out
    assert status == 1 and "FAILED guarantee" in out and "counterexample (instance" in out, out


@pytest.mark.parametrize("argv, text", [
    (["no_such_module_xyz:make"], "cannot import module 'no_such_module_xyz'"),
    (["sharpsim.testing.builtins:no_such_name"], "has no 'no_such_name'"),
    (["missing_file.py:make"], "no file"),
    (["no-colon"], "must be MODULE:NAME"),
    (["sharpsim.testing.builtins:make_sft", "--claim", "sharpsim.testing.builtins:EXACT_LAWS"], "is not callable"),
    (["sharpsim.testing.builtins:make_sft", "--seeds", "0"], "--seeds must be a positive integer"),
    (["sharpsim.testing.builtins:make_sft", "--rho", "1.5"], "--rho must lie in (0, 1)"),
    (["sharpsim.testing.builtins:make_sft", "--checks", "runs,fast"], "--checks must name some of"),
])
def test_a_usage_error_exits_2_with_one_line(argv, text, capsys):
    assert run(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith("sharpsim check: error: ") and text in captured.err, captured.err
