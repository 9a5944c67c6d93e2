"""``check_algorithm``: a conformance suite for sharpening algorithms, in the style of scikit-learn's
``check_estimator``. Each check has a name and reports its evidence::

    from sharpsim.testing import check_algorithm
    report = check_algorithm(lambda base: functools.partial(
        sft_sharpen, model_class=TabularClass.like(base), num_prompts=8, num_samples=4))
    print(report)              # one line per check: passed / FAILED / skipped, and why
    report.raise_if_failed()   # AssertionError naming the failed checks: a pytest test in one line

The algorithm is given as ``make_algorithm(instance) -> algorithm``, ``algorithm(key, oracle) -> (result, oracle)``
(the ``Algorithm`` protocol with its hyper-parameters bound), so the suite can build it for instances of its own.
``instance`` is π_base (default ``default_instance()``, 4 × 6 with ties). The oracle every run gets has a non-empty
ledger already (prompts, samples and evaluations), and ``keys`` seeds are used (default 2). The checks:

* ``runs``: an eager run returns ``(result, oracle)``, ``result`` with ``policy`` and ``queries`` (a ``QueryCount``)
  and the oracle a sharpsim ``Oracle``.
* ``oracle_only``: π_base is reached only through the oracle (Definition 3.2). An algorithm holding π_base in a
  closure can read it, and for a *fixed* closure no test can tell it from an honest algorithm with prior
  knowledge: it is then a function of the key and the oracle's answers like any other. So the check varies what
  the algorithm is built from. ``make_algorithm(decoy)``, where the decoy (``decoy_instance``, or ``decoy=``)
  shares the instance's spaces and prompt distribution μ (what a model class may know: ``TabularClass.like``
  carries μ) but has its argmax elsewhere at every prompt, runs with the same key on the same oracle over the
  instance. The oracle's answers are then the same, so an algorithm that reaches π_base only through the oracle
  returns identical output; a difference is information taken from the instance around the oracle. Out of reach
  of any check: π_base read from a global, or through the oracle's private internals (``sharpsim.core.oracle``
  states the limits of its seal). A hyper-parameter set from π_base (N from C_cov, as Theorem 4.1 prescribes) is
  prior knowledge the user grants: compute it outside ``make_algorithm`` so the decoy build shares it. Skipped
  when the algorithm is not deterministic.
* ``queries_reported``: ``result.queries`` equals what the returned oracle's ledger gained, for every seed; the
  ledger only grows and the returned oracle is the input one (same base, same budget) charged.
* ``deterministic``: the same key twice gives identical output (every value of the result and of the ledger).
* ``jit``: under ``jax.jit`` the output equals the eager one seed by seed (integers and booleans exactly, floats to
  rtol 1e-9: XLA may fuse a computation differently from op-by-op execution).
* ``vmap``: under ``jax.jit(jax.vmap(...))`` over the keys (as a sweep runs it), the same comparison.
* ``budget``: with ``Oracle(instance, budget=b)`` for b equal to what the run used it succeeds; with b − 1 it raises
  ``QueryBudgetExceeded`` or (an algorithm that sizes its run from ``oracle.budget``) completes having been charged
  and reporting at most b − 1, eagerly and under ``sharpsim.checked(jax.jit(...))``. Skipped when the
  algorithm is not deterministic (what a run uses must be the same at the same key).
* ``valid_policy``: ``result.policy`` (π̂, the policy whose sharpness Definition 3.1 measures; or its
  ``.to_tabular()``) has rows on the simplex (within 1e-9), entries finite and ≥ 0, on the base's spaces
  (|X| × |Y|; an autoregressive policy also |V| and H); skipped for an inference-time algorithm whose policy is
  None (best-of-N).

The output compared is the whole result pytree plus the returned oracle's ledger.
"""

from __future__ import annotations

import functools
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.core.checked import checked
from sharpsim.core.oracle import Oracle
from sharpsim.core.policy import TabularPolicy
from sharpsim.core.results import QueryBudgetExceeded, QueryCount
from sharpsim.core.validation import SIMPLEX_TOLERANCE
from sharpsim.testing.compare import output_difference
from sharpsim.testing.instances import decoy_instance, default_instance
from sharpsim.testing.report import CheckReport, CheckResult

__all__ = ["CHECKS", "algorithm_checks", "assert_conforms", "check_algorithm"]

CHECKS = ("runs", "oracle_only", "queries_reported", "deterministic", "jit", "vmap", "budget", "valid_policy")
_PRECHARGE_KEY = 20250101


class _Skip(Exception):
    """A check that cannot run (its detail says why); reported as skipped, not failed."""


def _describe(error: BaseException, limit: int = 300) -> str:
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= limit else text[:limit] + " ..."


@jax.jit  # compiled once per base (the oracle's static part), not once per suite
def _precharge(oracle: Oracle) -> Oracle:
    """The oracle after a few queries of every kind, so a ledger that starts at zero cannot hide an error."""
    key_x, key_y = jax.random.split(jax.random.PRNGKey(_PRECHARGE_KEY))
    prompts, oracle = oracle.draw_prompts(key_x, 2)
    batch, oracle = oracle.sample(key_y, prompts, 2)
    _, oracle = oracle.evaluate(prompts, batch.responses[:, 0])
    return oracle


def _counts(queries: QueryCount) -> tuple[int, int, int]:
    return tuple(int(np.asarray(v)) for v in (queries.prompts, queries.samples, queries.evaluations))


def _name_of(algorithm) -> str:
    while isinstance(algorithm, functools.partial):
        algorithm = algorithm.func
    return getattr(algorithm, "__name__", type(algorithm).__name__)


def _check_keys(keys) -> jax.Array:
    if isinstance(keys, (int, np.integer)) and not isinstance(keys, bool):
        if keys < 1:
            raise ValueError(f"keys must be a number of seeds >= 1 or an array of PRNG keys, got {keys}")
        return jax.random.split(jax.random.PRNGKey(0), int(keys))
    array = jnp.asarray(keys)
    typed = jnp.issubdtype(array.dtype, jax.dtypes.prng_key)
    if array.ndim != (1 if typed else 2) or array.shape[0] < 1 or not (typed or array.dtype == jnp.uint32):
        raise ValueError("keys must be a number of seeds >= 1 or PRNG keys: [K, 2] uint32 (jax.random.split of a "
                         f"PRNGKey) or [K] typed keys, got shape {array.shape} dtype {array.dtype}")
    return array


class _Suite:
    """The checks of one algorithm on one instance, sharing the eager reference runs (one per key)."""

    def __init__(self, make_algorithm, instance, keys, decoy, name):
        if not callable(make_algorithm):
            raise TypeError("make_algorithm must be callable (instance -> algorithm), got "
                            f"{type(make_algorithm).__name__}")
        self.make_algorithm = make_algorithm
        self.instance = default_instance() if instance is None else instance
        self.keys = _check_keys(keys)
        self._decoy = decoy
        self.algorithm = self._build(self.instance)
        self.name = name or _name_of(self.algorithm)
        self.oracle = _precharge(Oracle(self.instance))
        self._references = None
        self._deterministic = None

    def _build(self, instance):
        try:
            algorithm = self.make_algorithm(instance)
        except TypeError as error:
            raise TypeError(
                "make_algorithm must take an instance (π_base) and return the algorithm (key, oracle) -> (result, "
                "oracle), e.g. lambda base: functools.partial(sft_sharpen, model_class=TabularClass.like(base), "
                f"num_prompts=8, num_samples=4); calling it with the instance raised {_describe(error)}") from error
        if not callable(algorithm):
            raise TypeError(f"make_algorithm(instance) must return the algorithm (key, oracle) -> (result, oracle), "
                            f"got {type(algorithm).__name__}")
        return algorithm

    # --- runs ---------------------------------------------------------------------------------------
    def _run(self, key, oracle, algorithm=None):
        output = (algorithm or self.algorithm)(key, oracle)
        if not (isinstance(output, tuple) and len(output) == 2):
            raise TypeError(f"the algorithm must return (result, oracle), got {type(output).__name__}")
        result, charged = output
        if not hasattr(result, "policy") or not isinstance(getattr(result, "queries", None), QueryCount):
            raise TypeError(f"the result must have .policy and .queries (a QueryCount), got {type(result).__name__}")
        if not isinstance(charged, Oracle):
            raise TypeError(f"the second output must be the charged Oracle, got {type(charged).__name__}")
        return output

    def _output(self, result, oracle):
        """What the checks compare: the result and the returned oracle's ledger."""
        return {"result": result, "oracle.queries": oracle.queries}

    def references(self):
        """The eager runs on the precharged oracle, one per key: [(result, oracle)]."""
        if self._references is None:
            try:
                self._references = [self._run(key, self.oracle) for key in self.keys]
            except Exception as error:  # reported by `runs`; every other check is skipped
                self._references = error
        if isinstance(self._references, Exception):
            raise _Skip(f"the eager run failed (see runs): {_describe(self._references, 120)}")
        return self._references

    def deterministic(self) -> str | None:
        """None when the same key twice gives the same output, else the first difference."""
        if self._deterministic is None:
            result, oracle = self.references()[0]
            again = self._run(self.keys[0], self.oracle)
            self._deterministic = (output_difference(self._output(result, oracle), self._output(*again), exact=True),)
        return self._deterministic[0]

    def _needs_determinism(self) -> None:
        if self.deterministic() is not None:
            raise _Skip("the output is not deterministic (see deterministic), so it cannot be compared")

    # --- the checks ---------------------------------------------------------------------------------
    def check_runs(self) -> str:
        try:
            result, oracle = self.references()[0]
        except _Skip:
            raise AssertionError(f"the eager run raised {_describe(self._references)}") from None
        return f"returned {type(result).__name__} with {result.queries}"

    def check_oracle_only(self) -> str:
        self._needs_determinism()
        decoy = decoy_instance(self.instance) if self._decoy is None else self._decoy
        try:
            algorithm = self._build(decoy)
            output = self._output(*self._run(self.keys[0], self.oracle, algorithm))
        except Exception as error:
            raise AssertionError(f"the algorithm built for a decoy instance ({type(decoy).__name__}: same spaces and "
                                 f"μ, another π(y|x)) raised {_describe(error)}; if it needs more than the spaces "
                                 "and μ of its instance, pass decoy= another instance it can be built for") from None
        result, oracle = self.references()[0]
        difference = output_difference(self._output(result, oracle), output, exact=True)
        if difference is not None:
            raise AssertionError("built for a decoy instance (same spaces and μ, another π(y|x)) and run with the same "
                                 "key on the same oracle, its output changed, so it reads its instance around the "
                                 f"oracle: {difference}")
        return "built for a decoy instance, same key and oracle: identical output"

    def check_queries_reported(self) -> str:
        before = _counts(self.oracle.queries)
        for index, (result, oracle) in enumerate(self.references()):
            if not isinstance(oracle, Oracle):
                raise AssertionError(f"seed {index}: the second output is {type(oracle).__name__}, not an Oracle")
            if jax.tree_util.tree_structure(oracle) != jax.tree_util.tree_structure(self.oracle):
                raise AssertionError(f"seed {index}: the returned oracle is not the input oracle charged (another "
                                     f"base or budget): {oracle!r}")
            after = _counts(oracle.queries)
            gained = tuple(a - b for a, b in zip(after, before))
            reported = _counts(result.queries)
            if min(gained) < 0:
                raise AssertionError(f"seed {index}: the returned oracle's ledger {after} is below the input's "
                                     f"{before} (prompts, samples, evaluations): it is not the input oracle charged")
            if reported != gained:
                raise AssertionError(f"seed {index}: result.queries reports (prompts, samples, evaluations) = "
                                     f"{reported} but the oracle was charged {gained}")
        return f"reported = charged on {len(self.keys)} seed(s), e.g. {_counts(self.references()[0][0].queries)}"

    def check_deterministic(self) -> str:
        self.references()
        difference = self.deterministic()
        if difference is not None:
            raise AssertionError(f"the same key gave different outputs: {difference}")
        return "same key twice: identical output"

    def _compare_seeds(self, outputs, how: str) -> None:
        for index, (reference, output) in enumerate(zip(self.references(), outputs)):
            difference = output_difference(self._output(*reference), output, exact=False)
            if difference is not None:
                raise AssertionError(f"seed {index}: {how} differs from the eager run: {difference}")

    def check_jit(self) -> str:
        self._needs_determinism()
        run = jax.jit(lambda key: self._output(*self._run(key, self.oracle)))
        self._compare_seeds([run(key) for key in self.keys], "jax.jit")
        return f"jax.jit equals the eager run on {len(self.keys)} seed(s)"

    def check_vmap(self) -> str:
        self._needs_determinism()
        batched = jax.jit(jax.vmap(lambda key: self._output(*self._run(key, self.oracle))))(self.keys)
        outputs = [jax.tree_util.tree_map(lambda leaf, i=i: leaf[i], batched) for i in range(len(self.keys))]
        self._compare_seeds(outputs, "jax.jit(jax.vmap(...)) over the keys")
        return f"jax.jit(jax.vmap(...)) over {len(self.keys)} keys equals the eager runs seed by seed"

    def check_budget(self) -> str:
        self._needs_determinism()  # "b = what the run used" presumes the same key uses the same queries
        result, oracle = self.references()[0]
        # what the run cost: the ledger's gain, or what it reported if more (a run on an oracle of its own)
        used = max(int(np.asarray(oracle.queries.total - self.oracle.queries.total)),
                   int(np.asarray(result.queries.total)))
        key = self.keys[0]

        try:
            self._run(key, Oracle(self.instance, budget=used))
        except Exception as error:
            raise AssertionError(f"with a budget equal to the {used} queries it used, the run failed eagerly: "
                                 f"{_describe(error)}") from None
        if used == 0:
            return "used no queries: a zero budget suffices (nothing to exceed)"
        outcomes = []
        below = Oracle(self.instance, budget=used - 1)
        for how, run in (("eagerly", self._run), ("under sharpsim.checked(jax.jit(...))",
                                                   lambda k, oracle: checked(jax.jit(self._run))(k, oracle))):
            try:
                result, charged = run(key, below)
            except QueryBudgetExceeded:
                outcomes.append("refused")
                continue
            except Exception as error:
                raise AssertionError(f"with a budget of {used - 1} < {used} used, it raised {_describe(error)} "
                                     f"{how} instead of QueryBudgetExceeded") from None
            spent = max(int(np.asarray(result.queries.total)),
                        int(np.asarray(charged.queries.total)) if isinstance(charged, Oracle) else 0)
            if spent > used - 1:
                raise AssertionError(f"with a budget of {used - 1} it completed {how} having used {spent} queries "
                                     "(it does not run its queries through the budgeted oracle)")
            outcomes.append(f"respected (used {spent})")
        return f"used {used}: budget {used} suffices; {used - 1} is {outcomes[0]} eagerly and {outcomes[1]} under " \
               "checked(jit)"

    def check_valid_policy(self) -> str:
        for index, (result, _) in enumerate(self.references()):
            policy = result.policy
            if policy is None:
                raise _Skip("result.policy is None (an inference-time algorithm returns picks, not a policy)")
            for space in ("vocab_size", "horizon"):
                if getattr(self.oracle, space) is not None and getattr(policy, space, None) is not None \
                        and int(getattr(policy, space)) != getattr(self.oracle, space):
                    raise AssertionError(f"seed {index}: policy.{space} = {getattr(policy, space)} but the base has "
                                         f"{getattr(self.oracle, space)}")
            table = policy if isinstance(policy, TabularPolicy) else getattr(policy, "to_tabular", None)
            if table is None:
                raise AssertionError(f"seed {index}: result.policy is a {type(policy).__name__}, neither a "
                                     "TabularPolicy nor a policy with .to_tabular()")
            table = table if isinstance(table, TabularPolicy) else table()
            probs, mu = np.asarray(table.probs), np.asarray(table.prompt_probs)
            shape = (self.oracle.num_prompts, self.oracle.num_responses)
            if probs.shape != shape or mu.shape != shape[:1]:
                raise AssertionError(f"seed {index}: the policy is {probs.shape} with μ {mu.shape}; the base's "
                                     f"spaces are {shape}")
            for name, array in (("probs", probs), ("prompt_probs", mu[None])):
                bad = ~np.isfinite(array) | (array < 0)
                if bad.any():
                    where = tuple(int(i) for i in np.argwhere(bad)[0])
                    raise AssertionError(f"seed {index}: policy {name}{list(where)} = {float(array[where])!r} "
                                         "(must be finite, >= 0)")
                sums = array.sum(axis=-1)
                off = np.abs(sums - 1.0) > SIMPLEX_TOLERANCE
                if off.any():
                    raise AssertionError(f"seed {index}: policy {name} row {int(np.argmax(off))} sums to "
                                         f"{float(sums[off][0])!r}, not 1 (tolerance {SIMPLEX_TOLERANCE})")
        return f"rows on the simplex, on the base's spaces {shape}, {len(self.keys)} seed(s)"

    def run(self, name: str) -> CheckResult:
        try:
            return CheckResult(name, True, getattr(self, f"check_{name}")())
        except _Skip as skip:
            return CheckResult(name, None, str(skip))
        except AssertionError as failure:
            return CheckResult(name, False, str(failure))
        except Exception as error:
            return CheckResult(name, False, f"raised {_describe(error)}")


def _check_names(checks) -> tuple[str, ...]:
    if checks is None:
        return CHECKS
    checks = (checks,) if isinstance(checks, str) else tuple(checks)
    unknown = [name for name in checks if name not in CHECKS]
    if unknown or not checks:
        raise ValueError(f"checks must name some of {CHECKS}, got {list(checks)}")
    return checks


def check_algorithm(make_algorithm: Callable, instance=None, *, keys=2, decoy=None, checks=None,
                    name: str | None = None) -> CheckReport:
    """Run the conformance checks (module docstring) on ``make_algorithm(instance)`` and return the
    ``CheckReport``, one named result per check. ``instance``: π_base (default ``default_instance()``);
    ``keys``: a number of seeds or PRNG keys [K, 2]; ``decoy``: the instance ``oracle_only`` builds the algorithm
    for instead (default ``decoy_instance(instance)``); ``checks``: a subset of ``CHECKS``; ``name``: for the
    report (default the algorithm's ``__name__``). Raises ``TypeError`` when ``make_algorithm`` is not
    ``instance -> algorithm``."""
    suite = _Suite(make_algorithm, instance, keys, decoy, name)
    return CheckReport(suite.name, tuple(suite.run(check) for check in _check_names(checks)))


def assert_conforms(make_algorithm: Callable, instance=None, **options) -> CheckReport:
    """``check_algorithm(...).raise_if_failed()``: a pytest test in one line."""
    return check_algorithm(make_algorithm, instance, **options).raise_if_failed()


def algorithm_checks(make_algorithm: Callable, instance=None, **options) -> list[tuple[str, Callable[[], None]]]:
    """``[(name, run)]``, one per check, for ``pytest.mark.parametrize``: ``run()`` raises ``AssertionError``
    with the check's evidence when it fails (and returns when it passes or is skipped). The algorithm is built,
    and its reference runs made, on the first call; the calls share them::

        @pytest.mark.parametrize("name, run", algorithm_checks(make_my_algorithm))
        def test_my_algorithm(name, run):
            run()
    """
    checks = _check_names(options.pop("checks", None))
    shared = {}

    def suite() -> _Suite:
        if "suite" not in shared:
            shared["suite"] = _Suite(make_algorithm, instance, options.get("keys", 2), options.get("decoy"),
                                     options.get("name"))
        return shared["suite"]

    def runner(check: str) -> Callable[[], None]:
        def run() -> None:
            outcome = suite().run(check)
            if outcome.passed is False:
                raise AssertionError(f"{suite().name}: {check} failed: {outcome.detail}")

        run.__name__ = f"check_{check}"
        return run

    unknown = set(options) - {"keys", "decoy", "name"}
    if unknown:
        raise TypeError(f"algorithm_checks got unexpected options {sorted(unknown)}; allowed: keys, decoy, name")
    return [(check, runner(check)) for check in checks]
