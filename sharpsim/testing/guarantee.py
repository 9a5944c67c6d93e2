"""``check_guarantee``: test an algorithm's claimed allocation against the promise of Definition 3.1 with
probability 1 − ρ (the form of Theorem 4.1, Theorem 4.2 and Proposition C.1)::

    from sharpsim.testing import builtins, check_guarantee
    report = check_guarantee(builtins.make_sft, builtins.thm_4_1_claim, eps=0.1, delta=0.25, rho=0.1)
    print(report)              # claim / guarantee (/ queries_within_claim): passed or FAILED, with the evidence
    report.raise_if_failed()   # a pytest test in one line (or assert_guarantee(...))

* ``make_algorithm(instance, **allocation) -> algorithm(key, oracle) -> (result, oracle)``, ``result.policy`` the
  learned π̂ (a ``TabularPolicy`` or anything with ``.to_tabular()``);
* ``claim(eps, delta, rho, quantities) -> allocation``: a dict of keyword arguments for ``make_algorithm`` (e.g.
  ``{"num_prompts": n, "num_samples": N}``), or a number m, passed as ``num_queries=m`` (a sample-complexity
  claim; then the check ``queries_within_claim`` also holds each run to at most m queries). ``quantities`` is
  ``builtins.instance_quantities(instance)``: C_cov, γ_margin, |X|, |Y|, log|Π|, ... and the instance itself.

The promise tested on every instance: P[π̂ is (ε, δ)-sharp] ≥ 1 − ρ, sharpness judged by the exact referee
(``sharpening_error(π̂, π_base, δ) ≤ ε``, as ``is_sharpened``). Instances are drawn from a hypothesis strategy
(default ``strategies.instances(num_prompts=(1, 3), num_responses=(2, 5))``; reproducibly: the draw is
derandomized) or given as a list. Per instance:

* exact, when the builder has a known law (``builtins.EXACT_LAWS``: SFT with the tabular class, best-of-N; or
  ``exact=`` a law ``(instance, allocation, eps, delta) -> P[sharp]``): rejected iff P[sharp] < 1 − ρ;
* otherwise Monte Carlo: ``seeds`` runs (``jax.jit(jax.lax.map(...))`` over keys; the same keys on every
  instance), k sharp, the one-sided exact test of H0: P[sharp] ≥ 1 − ρ (``multiple``: rejected when the
  Clopper–Pearson upper bound at level 1 − a is below 1 − ρ), with Holm's (or Bonferroni's) correction across
  instances, so a correct algorithm fails with probability ≤ ``alpha``.

On failure the first rejected drawn instance is shrunk by hypothesis to a minimal one rejected at the same level
(at most ``max_shrink_runs`` new instances are evaluated) and printed as source that rebuilds it, with the call
that reproduces the rejection (same keys).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Callable

import jax
import numpy as np
from hypothesis import strategies as st

from sharpsim.core.oracle import Oracle
from sharpsim.core.validation import check_in_interval, check_positive_int
from sharpsim.referee.quantities import sharpening_error
from sharpsim.testing.builtins import EXACT_LAWS, instance_quantities
from sharpsim.testing.drawing import default_strategy, draw_instances, fingerprint, shrink as shrink_instance
from sharpsim.testing.multiple import CORRECTIONS, binomial_p_value, one_sided_upper_bound, rejection_levels
from sharpsim.testing.report import CheckReport, CheckResult
from sharpsim.testing.reproduce import instance_source

__all__ = ["GuaranteeReport", "assert_guarantee", "check_guarantee", "default_strategy", "draw_instances"]

_EXACT_TOLERANCE = 1e-12
_CACHE_LIMIT = 256


@dataclass(frozen=True)
class GuaranteeReport(CheckReport):
    """``check_guarantee``'s report: the ``CheckReport`` of the checks ``claim``, ``guarantee`` and (for a
    sample-complexity claim) ``queries_within_claim``, with the ``settings`` tested, the per-instance
    ``outcomes`` and, on failure, the ``counterexample`` as reproducible source."""

    settings: str = ""
    outcomes: tuple = ()
    counterexample: str | None = None

    def __str__(self) -> str:
        table = super().__str__().split("\n", 1)
        head = (f"check_guarantee({self.algorithm_name}; {self.settings}): "
                + ("passed" if self.passed else f"FAILED {', '.join(self.failed)}"))
        text = head + ("\n" + table[1] if len(table) > 1 else "")
        if self.counterexample:
            text += "\n" + self.counterexample
        return text


@dataclass
class _Outcome:
    instance: object
    quantities: dict | None = None
    allocation: dict | None = None
    probability: float | None = None  # exact law
    successes: int | None = None
    trials: int | None = None
    max_queries: int | None = None
    error: str | None = None
    stage: str = ""  # where an error arose: "claim" or "run"
    p_value: float = field(default=float("nan"))


def _describe(error: BaseException, limit: int = 300) -> str:
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= limit else text[:limit] + " ..."


def _name_of(function) -> str:
    while isinstance(function, functools.partial):
        function = function.func
    return getattr(function, "__name__", type(function).__name__)


def _allocation(claim, eps, delta, rho, quantities) -> dict:
    allocation = claim(eps, delta, rho, quantities)
    if isinstance(allocation, dict):
        if not all(isinstance(name, str) for name in allocation):
            raise TypeError(f"the claim must return a dict of keyword arguments, got keys {list(allocation)}")
        return dict(allocation)
    if isinstance(allocation, (int, float, np.integer, np.floating)) and not isinstance(allocation, bool):
        if not (math.isfinite(float(allocation)) and allocation >= 1):
            raise ValueError(f"the claimed sample complexity must be a finite number >= 1, got {allocation!r}")
        return {"num_queries": math.ceil(float(allocation))}
    raise TypeError(f"the claim must return an allocation dict or a number of queries m, got "
                    f"{type(allocation).__name__}")


_RUNNERS: dict = {}


def _runner(make_algorithm, instance, allocation: dict, eps: float, delta: float, batch: int):
    """The compiled seeds -> (sharp [S], queries [S]) of one (builder, instance, allocation): cached, so repeated
    checks of the same algorithm compile once."""
    try:
        cache_key = (make_algorithm, fingerprint(instance), tuple(sorted(allocation.items())), eps, delta, batch)
        hash(cache_key)
    except TypeError:
        cache_key = None
    if cache_key is not None and cache_key in _RUNNERS:
        return _RUNNERS[cache_key]
    algorithm = make_algorithm(instance, **allocation)
    oracle = Oracle(instance)

    def one(key):
        result, charged = algorithm(key, oracle)
        if getattr(result, "policy", None) is None:
            raise TypeError("result.policy is None: check_guarantee judges the learned policy π̂, so the algorithm "
                            "must return one (e.g. the point mass on its pick, as builtins.make_best_of_n does)")
        sharp = sharpening_error(result.policy, instance, delta) <= eps
        return sharp, charged.queries.total - oracle.queries.total

    def run(keys):
        return jax.lax.map(one, keys, batch_size=min(batch, keys.shape[0]))

    compiled = (jax.jit(run), run)
    if cache_key is not None:
        if len(_RUNNERS) >= _CACHE_LIMIT:
            _RUNNERS.pop(next(iter(_RUNNERS)))
        _RUNNERS[cache_key] = compiled
    return compiled


class _Checker:
    """Evaluates instances (cached by value) for one call of ``check_guarantee``."""

    def __init__(self, make_algorithm, claim, eps, delta, rho, keys, law, batch):
        self.make_algorithm, self.claim, self.law, self.batch = make_algorithm, claim, law, batch
        self.eps, self.delta, self.rho, self.keys = eps, delta, rho, keys
        self.cache: dict = {}

    def evaluate(self, instance) -> _Outcome:
        key = fingerprint(instance)
        if key not in self.cache:
            self.cache[key] = self._evaluate(instance)
        return self.cache[key]

    def _evaluate(self, instance) -> _Outcome:
        outcome = _Outcome(instance)
        try:
            outcome.quantities = instance_quantities(instance)
            outcome.allocation = _allocation(self.claim, self.eps, self.delta, self.rho, outcome.quantities)
        except Exception as error:
            outcome.error, outcome.stage = f"the claim raised {_describe(error)}", "claim"
            return outcome
        try:
            if self.law is not None:
                outcome.probability = float(self.law(instance, outcome.allocation, self.eps, self.delta))
                return outcome
            jitted, eager = _runner(self.make_algorithm, instance, outcome.allocation, self.eps, self.delta,
                                    self.batch)
            try:
                sharp, used = jitted(self.keys)
            except Exception:  # not jittable: the same runs, eagerly (check_algorithm's `jit` check says why)
                sharp, used = eager(self.keys)
            outcome.successes, outcome.trials = int(np.sum(np.asarray(sharp))), int(self.keys.shape[0])
            outcome.max_queries = int(np.max(np.asarray(used)))
            outcome.p_value = float(binomial_p_value(outcome.successes, outcome.trials, 1.0 - self.rho))
        except Exception as error:
            outcome.error, outcome.stage = f"make_algorithm/the run raised {_describe(error)}", "run"
        return outcome

    def rejected(self, outcome: _Outcome, level: float) -> bool:
        if outcome.error is not None:
            return False
        if outcome.probability is not None:
            return outcome.probability < 1.0 - self.rho - _EXACT_TOLERANCE
        return outcome.p_value < level


def _summary(outcome: _Outcome) -> str:
    q = outcome.quantities or {}
    shape = f"{q.get('num_prompts', '?')}×{q.get('num_responses', '?')}"
    return f"{shape}, C_cov={q.get('coverage', float('nan')):.4g}, γ_margin={q.get('margin', float('nan')):.4g}"


def _allocation_text(allocation) -> str:
    return ", ".join(f"{name}={value!r}" for name, value in (allocation or {}).items())


def _verdict(outcome: _Outcome, level: float, rho: float, rejected: bool) -> str:
    target = 1.0 - rho
    if outcome.probability is not None:
        sign = "<" if rejected else "≥"
        return f"P[sharp] = {outcome.probability:.6g} (exact law) {sign} {target:g}"
    upper = float(one_sided_upper_bound(outcome.successes, outcome.trials, 1.0 - level))
    sign = "<" if rejected else "≥"
    return (f"sharp in {outcome.successes}/{outcome.trials} seeds, p-value {outcome.p_value:.3g}; one-sided "
            f"{100 * (1 - level):.4g}% Clopper–Pearson upper bound {upper:.4g} {sign} {target:g}")


def _counterexample(checker: _Checker, outcome: _Outcome, origin: str, level: float, settings_call: str) -> str:
    lines = [f"counterexample ({origin}):",
             f"  import numpy as np; from sharpsim import {type(outcome.instance).__name__}; "
             "from sharpsim.testing import check_guarantee",
             f"  instance = {instance_source(outcome.instance)}",
             f"  allocation = {{{', '.join(f'{k!r}: {v!r}' for k, v in outcome.allocation.items())}}}",
             f"  {_verdict(outcome, level, checker.rho, True)}",
             "  reproduce: check_guarantee(make_algorithm, claim, instances=[instance], "
             f"{settings_call}, alpha={float(level)!r})"]
    return "\n".join(lines)


def _shrink(checker: _Checker, strategy, count: int, seed: int, rejected_fingerprints: set, level: float,
            max_runs: int):
    """The minimal instance rejected at ``level`` (``drawing.shrink``), evaluated, and the new runs it took."""
    minimal, runs = shrink_instance(strategy, count, seed, rejected_fingerprints,
                                    lambda instance: checker.rejected(checker.evaluate(instance), level),
                                    lambda instance: fingerprint(instance) in checker.cache, max_runs)
    return (None if minimal is None else checker.evaluate(minimal)), runs


def _check_options(eps, delta, rho, seeds, alpha, correction, num_instances, batch):
    eps = check_in_interval(eps, "eps", 0.0, 1.0, closed_low=True, closed_high=False)
    delta = check_in_interval(delta, "delta", 0.0, 1.0, closed_low=False, closed_high=False)
    rho = check_in_interval(rho, "rho", 0.0, 1.0, closed_low=False, closed_high=False)
    alpha = check_in_interval(alpha, "alpha", 0.0, 1.0, closed_low=False, closed_high=False)
    seeds = check_positive_int(seeds, "seeds")
    num_instances = check_positive_int(num_instances, "num_instances")
    batch = check_positive_int(batch, "batch")
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {CORRECTIONS}, got {correction!r}")
    return eps, delta, rho, seeds, alpha, num_instances, batch


def check_guarantee(make_algorithm: Callable, claim: Callable, *, eps: float = 0.1, delta: float = 0.25,
                    rho: float = 0.1, instances=None, num_instances: int = 4, seeds: int = 200,
                    alpha: float = 0.05, correction: str = "holm", exact=None, key: int = 0, draw_seed: int = 0,
                    shrink: bool = True, max_shrink_runs: int = 32, batch: int = 256,
                    name: str | None = None) -> GuaranteeReport:
    """Test ``claim``'s allocation for ``make_algorithm`` against P[(ε, δ)-sharp] ≥ 1 − ρ (module docstring).

    ``instances``: a hypothesis strategy (``num_instances`` drawn, shrunk on failure), a list of instances, or one
    instance (default ``default_strategy()``); ``seeds``: Monte-Carlo runs per instance, keys
    ``jax.random.split(jax.random.PRNGKey(key), seeds)``; ``alpha``: the false-alarm rate, ``correction``
    ``"holm"`` or ``"bonferroni"``; ``exact``: None (the builder's law in ``builtins.EXACT_LAWS`` if any),
    False (Monte Carlo), or a law ``(instance, allocation, eps, delta) -> P[sharp]``; ``draw_seed``: the seed of
    hypothesis's draw; ``shrink``/``max_shrink_runs``: shrink a failing drawn instance, evaluating at most that
    many new instances; ``batch``: seeds run at once (memory); ``name``: for the report. Raises
    ``ValueError``/``TypeError`` for bad options; an error inside the claim or the algorithm is reported (check
    ``claim`` or ``guarantee`` fails with it), not raised."""
    if not callable(make_algorithm):
        raise TypeError(f"make_algorithm must be callable (instance, **allocation) -> algorithm, got "
                        f"{type(make_algorithm).__name__}")
    if not callable(claim):
        raise TypeError(f"claim must be callable (eps, delta, rho, quantities) -> allocation, got "
                        f"{type(claim).__name__}")
    eps, delta, rho, seeds, alpha, num_instances, batch = _check_options(eps, delta, rho, seeds, alpha, correction,
                                                                         num_instances, batch)
    if exact is None:
        law = EXACT_LAWS.get(make_algorithm)
    elif exact is False:
        law = None
    elif callable(exact):
        law = exact
    else:
        raise TypeError(f"exact must be None, False or a law (instance, allocation, eps, delta) -> P[sharp], got "
                        f"{exact!r}")
    strategy = default_strategy() if instances is None else instances
    if isinstance(strategy, st.SearchStrategy):
        drawn = draw_instances(strategy, num_instances, draw_seed)
    else:
        drawn, strategy = (list(strategy) if isinstance(strategy, (list, tuple)) else [strategy]), None
        if not drawn:
            raise ValueError("instances must be a hypothesis strategy, an instance or a non-empty list of instances")
    keys = jax.random.split(jax.random.PRNGKey(int(key)), seeds)
    checker = _Checker(make_algorithm, claim, eps, delta, rho, keys, law, batch)
    outcomes = [checker.evaluate(instance) for instance in drawn]
    name = name or _name_of(make_algorithm)
    mode = "exact law" if law is not None else f"{seeds} seeds"
    settings_text = (f"ε={eps:g}, δ={delta:g}, ρ={rho:g}, {len(drawn)} instance(s), {mode}, α={alpha:g} "
                     f"({correction})")
    settings_call = f"eps={eps!r}, delta={delta!r}, rho={rho!r}, seeds={seeds}, key={key}"

    # claim: every instance got an allocation and a built algorithm
    claim_errors = [f"instance {i} ({_summary(o)}): {o.error}" for i, o in enumerate(outcomes) if o.stage == "claim"]
    allocations = [f"instance {i}: {_allocation_text(o.allocation)}" for i, o in enumerate(outcomes)
                   if o.allocation is not None]
    claim_result = CheckResult("claim", not claim_errors, "\n".join(claim_errors or allocations))

    # guarantee
    monte_carlo = [i for i, o in enumerate(outcomes) if o.error is None and o.probability is None]
    rejected_mc, levels_mc = rejection_levels([outcomes[i].p_value for i in monte_carlo], alpha, correction)
    levels = {i: level for i, level in zip(monte_carlo, levels_mc)}
    rejected = sorted([i for i, o in enumerate(outcomes) if o.probability is not None and checker.rejected(o, alpha)]
                      + [i for i, hit in zip(monte_carlo, rejected_mc) if hit])
    lines = [f"P[(ε, δ)-sharp] ≥ 1 − ρ = {1 - rho:g} on {len(drawn)} instance(s): "
             + ("exact law" if law is not None else
                f"Monte Carlo, one-sided Clopper–Pearson, {correction} at α = {alpha:g}")]
    for i, o in enumerate(outcomes):
        if o.error is not None:
            lines.append(f"instance {i} ({_summary(o)}): {o.error}")
        else:
            mark = "  REJECTED" if i in rejected else ""
            lines.append(f"instance {i} ({_summary(o)}): {_allocation_text(o.allocation)}; "
                         f"{_verdict(o, levels.get(i, alpha), rho, i in rejected)}{mark}")
    run_errors = [i for i, o in enumerate(outcomes) if o.stage == "run"]
    if claim_errors and len(claim_errors) == len(outcomes):
        guarantee = CheckResult("guarantee", None, "the claim gave no allocation (see claim)")
    else:
        guarantee = CheckResult("guarantee", not (rejected or run_errors), "\n".join(lines))
    results = [claim_result, guarantee]

    # a sample-complexity claim also bounds the queries of each run
    if any(o.allocation is not None and set(o.allocation) == {"num_queries"} for o in outcomes):
        over = [f"instance {i}: a run used {o.max_queries} > m = {o.allocation['num_queries']} queries"
                for i, o in enumerate(outcomes) if o.max_queries is not None
                and o.max_queries > o.allocation["num_queries"]]
        results.append(CheckResult("queries_within_claim", not over, "\n".join(over) or
                                   "every run used at most the claimed m queries"))

    counterexample = None
    if rejected:
        first = min(rejected, key=lambda i: (outcomes[i].p_value if outcomes[i].probability is None
                                             else outcomes[i].probability, i))
        level = max(levels.get(i, alpha) for i in rejected)
        origin, minimal = f"instance {first}, as drawn", outcomes[first]
        if shrink and strategy is not None:
            shrunk, runs = _shrink(checker, strategy, num_instances, draw_seed,
                                   {fingerprint(outcomes[i].instance) for i in rejected}, level, max_shrink_runs)
            if shrunk is not None:
                minimal, origin = shrunk, f"shrunk by hypothesis from a rejected instance, {runs} new instance(s) run"
        counterexample = _counterexample(checker, minimal, origin, level if law is None else alpha, settings_call)
    return GuaranteeReport(name, tuple(results), settings_text, tuple(outcomes), counterexample)


def assert_guarantee(make_algorithm: Callable, claim: Callable, **options) -> GuaranteeReport:
    """``check_guarantee(...).raise_if_failed()``: a pytest test in one line."""
    return check_guarantee(make_algorithm, claim, **options).raise_if_failed()
