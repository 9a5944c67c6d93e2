"""``sharpsim check MODULE:FUNCTION [--claim MODULE:FUNCTION] ...``: the conformance suite (``check_algorithm``)
and, with a claim, the guarantee test (``check_guarantee``) of a user's algorithm, from the command line.

``MODULE`` is an importable module or a path to a ``.py`` file; ``FUNCTION`` is the builder
``make_algorithm(instance, **allocation) -> algorithm(key, oracle) -> (result, oracle)``. Without ``--claim`` the
builder is called as ``make_algorithm(instance)``; with it, the allocation the claim gives at check_algorithm's
instance is bound first (computed outside the builder, so the decoy build of ``oracle_only`` shares it). Exit
status: 0 when every check passes, 1 when one fails, 2 for a usage error (one line on stderr).
"""

from __future__ import annotations

import argparse
import functools
import math
import sys

from sharpsim.runner import loading

__all__ = ["add_parser", "command_check", "load_object", "main"]


class UsageError(ValueError):
    """A mistake on the command line (exit status 2)."""


def load_object(spec: str, option: str):
    """The object named by ``MODULE:NAME`` or ``path/to/file.py:NAME``; ``UsageError`` naming ``option``."""
    return loading.load_object(spec, option, UsageError)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``check`` subcommand to ``subparsers`` (``ArgumentParser().add_subparsers()``) and return it."""
    check = subparsers.add_parser(
        "check", help="check a user's algorithm: conformance (check_algorithm) and, with --claim, its guarantee "
                      "(check_guarantee)",
        description="Run check_algorithm on MODULE:FUNCTION (make_algorithm(instance, **allocation)) and, with "
                    "--claim, check_guarantee. Exit status 0: all checks pass; 1: a check failed; 2: usage error.")
    check.add_argument("target", metavar="MODULE:FUNCTION",
                       help="the builder make_algorithm, in an importable module or a path/to/file.py")
    check.add_argument("--claim", metavar="MODULE:FUNCTION", default=None,
                       help="claim(eps, delta, rho, quantities) -> allocation dict or number of queries m")
    check.add_argument("--instance", metavar="MODULE:NAME", default=None,
                       help="π_base for check_algorithm (a policy, or a function of no arguments returning one; "
                            "default: sharpsim.testing.default_instance())")
    check.add_argument("--strategy", metavar="MODULE:NAME", default=None,
                       help="check_guarantee's instances: a hypothesis strategy or a list of policies (or a "
                            "function of no arguments returning one; default: small tabular instances)")
    check.add_argument("--instances", type=int, default=4, metavar="K", help="instances drawn (default 4)")
    check.add_argument("--seeds", type=int, default=200, metavar="S",
                       help="Monte-Carlo seeds per instance (default 200)")
    check.add_argument("--alpha", type=float, default=0.05, metavar="A",
                       help="false-alarm rate of check_guarantee, Holm-corrected across instances (default 0.05)")
    check.add_argument("--eps", type=float, default=0.1, metavar="E", help="ε (default 0.1)")
    check.add_argument("--delta", type=float, default=0.25, metavar="D", help="δ (default 0.25)")
    check.add_argument("--rho", type=float, default=0.1, metavar="R", help="ρ (default 0.1)")
    check.add_argument("--key", type=int, default=0, help="seed of the Monte-Carlo keys (default 0)")
    check.add_argument("--no-shrink", action="store_true", help="report a failing instance as drawn")
    check.add_argument("--checks", default=None, metavar="NAMES",
                       help="check_algorithm's checks to run, comma-separated (default: all), or 'none'")
    check.set_defaults(handler=command_check)
    return check


def _called(value, option: str):
    """A value given as MODULE:NAME: used as is, or called when it is a function of no arguments."""
    from hypothesis import strategies as st

    if callable(value) and not isinstance(value, st.SearchStrategy) and not hasattr(value, "prompt_probs"):
        try:
            return value()
        except TypeError as error:
            raise UsageError(f"{option}: calling it with no arguments raised TypeError: {error}") from None
    return value


def _bound(make_algorithm, allocation, instance):
    """``make_algorithm(instance, **allocation)``: the builder check_algorithm takes, with the claim's allocation."""
    return make_algorithm(instance, **allocation)


def _run(arguments) -> int:
    from sharpsim.testing import CHECKS, builtins, check_algorithm, check_guarantee, default_instance

    for name in ("instances", "seeds"):
        if getattr(arguments, name) < 1:
            raise UsageError(f"--{name} must be a positive integer, got {getattr(arguments, name)}")
    for name, low in (("alpha", 0.0), ("eps", -1e-300), ("delta", 0.0), ("rho", 0.0)):
        value = getattr(arguments, name)
        if not low < value < 1.0:
            raise UsageError(f"--{name} must lie in {'[0' if name == 'eps' else '(0'}, 1), got {value}")
    make_algorithm = load_object(arguments.target, "MODULE:FUNCTION")
    if not callable(make_algorithm):
        raise UsageError(f"MODULE:FUNCTION {arguments.target!r} is not callable")
    claim = load_object(arguments.claim, "--claim") if arguments.claim else None
    if claim is not None and not callable(claim):
        raise UsageError(f"--claim {arguments.claim!r} is not callable")
    instance = _called(load_object(arguments.instance, "--instance"), "--instance") if arguments.instance \
        else default_instance()
    strategy = _called(load_object(arguments.strategy, "--strategy"), "--strategy") if arguments.strategy else None
    name = arguments.target.rpartition(":")[2]
    checks = None if arguments.checks is None else [c.strip() for c in arguments.checks.split(",") if c.strip()]
    if checks is not None and checks != ["none"] and (not checks or set(checks) - set(CHECKS)):
        raise UsageError(f"--checks must name some of {', '.join(CHECKS)} (comma-separated) or 'none', got "
                         f"{arguments.checks!r}")

    build = make_algorithm
    if claim is not None and checks != ["none"]:
        try:
            allocation = claim(arguments.eps, arguments.delta, arguments.rho, builtins.instance_quantities(instance))
        except Exception as error:
            print(f"claim {arguments.claim} raised {type(error).__name__}: {error} at check_algorithm's instance")
            return 1
        allocation = allocation if isinstance(allocation, dict) else {"num_queries": math.ceil(float(allocation))}
        build = functools.partial(_bound, make_algorithm, allocation)
        print(f"check_algorithm with the claim's allocation at its instance: {allocation}")
    reports = []
    if checks != ["none"]:
        try:
            reports.append(check_algorithm(build, instance, checks=checks, name=name))
        except TypeError as error:  # make_algorithm is not instance -> algorithm
            print(f"check_algorithm({name}): FAILED runs\n  {error}")
            return 1
        print(reports[0])
    if claim is not None:
        report = check_guarantee(make_algorithm, claim, eps=arguments.eps, delta=arguments.delta,
                                 rho=arguments.rho, instances=strategy, num_instances=arguments.instances,
                                 seeds=arguments.seeds, alpha=arguments.alpha, key=arguments.key,
                                 shrink=not arguments.no_shrink, name=name)
        print("\n" + str(report) if reports else report)
        reports.append(report)
    return 0 if all(report.passed for report in reports) else 1


def command_check(arguments) -> int:
    """The ``check`` subcommand: print the report(s); 0 if every check passes, 1 if one fails, 2 for a usage
    error (one line on stderr)."""
    try:
        return _run(arguments)
    except UsageError as error:
        print(f"sharpsim check: error: {' '.join(str(error).split())}", file=sys.stderr)
        return 2


def main(argv=None) -> int:
    """``python -m sharpsim.runner.check_command ...``: the subcommand on its own."""
    parser = argparse.ArgumentParser(prog="sharpsim")
    add_parser(parser.add_subparsers(dest="command", required=True))
    arguments = parser.parse_args(["check", *(sys.argv[1:] if argv is None else argv)])
    return arguments.handler(arguments)


if __name__ == "__main__":
    raise SystemExit(main())
