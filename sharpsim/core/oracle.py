"""The sample-and-evaluate oracle (Definition 3.2, Definition D.1, footnote 7): the learner's only door to π_base.

Every query returns its answer *and a new oracle* whose ledger has been charged::

    prompts, oracle = oracle.draw_prompts(key_x, n)
    batch, oracle = oracle.sample(key_y, prompts, N)         # N responses per prompt with log π_base(y|x)
    log_probs, oracle = oracle.evaluate(prompts, responses)  # footnote 7: learner-chosen (x, y) (XPO)
    stopped, oracle = oracle.sample_until(key, prompts, K, stop_rule)   # Definition D.1 (adaptive)
    oracle.queries                                            # QueryCount(prompts=n, samples=n·N, evaluations=…)

Sample complexity m = n·N is ``queries.samples``; evaluations are counted apart, ``queries.total`` adds them.

Sealed. An oracle exposes the spaces (``num_prompts``, ``num_responses``; ``vocab_size`` and ``horizon`` for an
autoregressive base, else None), the ledger ``queries`` and the ``budget``, and nothing else of π_base: it has
no ``__dict__``, its attributes cannot be assigned, its repr names only the spaces, it cannot be pickled, and
its pytree leaves are the ledger alone. π_base sits in the pytree's static part behind an opaque handle
(``_Sealed``) whose equality is the identity of the base it seals, so oracles derived from one base share a
treedef (``lax.scan`` carries them; ``jit`` caches on them). Design consequences under JAX: an oracle can be
built inside ``vmap``/``jit`` from a *traced* base and queried there (the handle then holds that trace's
values); once that transformation has returned, such an oracle's ledger is still readable but a query on it
raises JAX's leaked-tracer error. An oracle over a concrete base works anywhere. The public constructor is
``Oracle(base, budget=None)``: the ledger starts at zero and only queries charge it; a ledger rewritten from
outside (``tree_map`` over the oracle's leaves) no longer matches its keyed tag and is refused at the next query.

Limits of the seal, stated. It closes the conventional routes (attributes, ``vars``, pytree leaves, repr, pickle,
forged ledgers), not every route a determined program has: (i) a function that queries the oracle, once traced
(``jax.make_jaxpr``, ``jit(...).lower``), carries π_base's arrays as constants of its program, as any closed-over
array would; (ii) ``sample_until`` runs the learner's stop rule over the whole tape, vectorized over k: the rule
receives the running maximum at k only, but a rule that exports values through host callbacks
(``jax.debug.callback``) could read the maxima past its stop; (iii) in-process introspection (``gc``, private
names) reaches any Python object. A learner is trusted not to take these routes; every built-in one does not.

Budget (a cap on ``queries.total``). Eagerly a query that would exceed it raises ``QueryBudgetExceeded``
before anything is drawn (``sample_until`` draws its tape internally first; nothing is returned). Inside
``jit``/``vmap``/``lax.scan`` the ledger is traced: the oracle emits a ``checkify`` check, which
``sharpsim.checked`` functionalizes and raises; without ``checked`` a budgeted oracle refuses at trace time.

Indices. Prompts outside [0, X), responses outside [0, Y) (tabular) and tokens outside [0, V) or of the wrong
length (autoregressive) raise ``ValueError`` eagerly and under ``checked``. Under a plain transformation they
are never clamped: the answer is NaN for the log-probability and −1 for a response sampled at a bad prompt,
and such entries are not charged. Entries the oracle did not draw (inactive prompts, samples past a stop)
are −1 with log-probability −inf.
"""

from __future__ import annotations

import math
import os
import weakref

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify

from sharpsim.core.checked import BUDGET_TAG, INDEX_TAG, checks_functionalized, unchecked_transformation_error
from sharpsim.core.results import QueryBudgetExceeded, QueryCount, Result, SampleBatch, StoppedBatch
from sharpsim.core.validation import check_allocation, check_positive_int, is_concrete

__all__ = ["Oracle", "QueryBudgetExceeded", "QueryCount", "Result", "SampleBatch", "StoppedBatch"]


MAX_COUNT = 2**62  # the largest budget or count accepted: sums of two stay inside int64


def _ledger_keys():
    # a keyed checksum of the ledger, kept in this closure: a ledger rewritten from outside the oracle's queries
    # (tree_map over an oracle's leaves) fails to match its tag
    randomness = np.random.default_rng(int.from_bytes(os.urandom(8), "little"))
    modulus = 2**31 - 1
    keys = randomness.integers(1, modulus, size=4)

    def tag(queries: QueryCount) -> jax.Array:
        value = jnp.int64(keys[3])
        for key, count in zip(keys[:3], (queries.prompts, queries.samples, queries.evaluations)):
            value = (value + jnp.int64(key) * (jnp.asarray(count, jnp.int64) % modulus)) % modulus
        return value

    return tag


_ledger_tag = _ledger_keys()
_HASH_SALT = int.from_bytes(os.urandom(8), "little")


class _Sealed:
    """Opaque stand-in for π_base in an oracle's static pytree part; equal iff it seals the same object."""

    __slots__ = ("__weakref__",)

    def __eq__(self, other) -> bool:
        return isinstance(other, _Sealed) and _unseal(self) is _unseal(other)

    def __hash__(self) -> int:
        return hash(id(_unseal(self)) ^ _HASH_SALT)  # salted: the hash must not be the base's address

    def __repr__(self) -> str:
        return "<sealed π_base>"

    def __reduce__(self):
        raise TypeError("an Oracle's base policy is sealed and cannot be pickled")


def _vault():
    # the only reference from a handle to its base lives in this closure, keyed by the handle's id
    bases: dict[int, object] = {}

    def seal(base) -> _Sealed:
        handle = _Sealed()
        bases[id(handle)] = base
        weakref.finalize(handle, bases.pop, id(handle), None)
        return handle

    def unseal(handle: _Sealed):
        return bases[id(handle)]

    return seal, unseal


_seal, _unseal = _vault()


def _spaces_of(base) -> tuple:
    """(num_prompts, num_responses, vocab_size, horizon) read off the base; the last two are None for a base
    whose responses are indices rather than token sequences."""
    for method in ("sample_prompts", "sample_responses", "log_prob"):
        if not callable(getattr(base, method, None)):
            raise TypeError(f"Oracle base must offer .{method}(...); got {type(base).__name__}")
    sequence = hasattr(base, "vocab_size") and hasattr(base, "horizon")
    names = ("num_prompts", "vocab_size", "horizon") if sequence else ("num_prompts", "num_responses")
    sizes = []
    for name in names:
        value = getattr(base, name, None)
        try:
            size = int(value)
        except (TypeError, jax.errors.ConcretizationTypeError):
            raise TypeError(f"Oracle base must state its space as a static integer .{name}; "
                            f"{type(base).__name__} has {name}={value!r}") from None
        if size < 1:
            raise ValueError(f"Oracle base has {name}={size}; it must be >= 1")
        sizes.append(size)
    if sequence:
        num_prompts, vocab_size, horizon = sizes
        return num_prompts, vocab_size**horizon, vocab_size, horizon
    return sizes[0], sizes[1], None, None


class Oracle:
    """Sample-and-evaluate access to ``base`` (any policy with the spaces, ``sample_prompts``,
    ``sample_responses`` and ``log_prob``: the ``Policy`` protocol), with a query ledger and an optional
    ``budget`` on ``queries.total``. See the module docstring."""

    __slots__ = ("_queries", "_tag", "_budget", "_sealed", "_spaces")

    def __init__(self, base, budget: int | None = None):
        spaces = _spaces_of(base)
        if budget is not None:
            budget = check_positive_int(budget, "budget", minimum=0)
        if budget is not None and budget > MAX_COUNT:
            raise ValueError(f"budget must be at most {MAX_COUNT} (int64 headroom), got {budget}")
        queries = QueryCount.zero()
        for name, value in (("_queries", queries), ("_tag", _ledger_tag(queries)), ("_budget", budget),
                            ("_sealed", _seal(base)), ("_spaces", spaces)):
            object.__setattr__(self, name, value)

    # --- what a learner may read ----------------------------------------------------------------------
    queries = property(lambda self: self._queries, doc="The ``QueryCount`` charged so far.")
    budget = property(lambda self: self._budget, doc="The cap on ``queries.total``, or None.")
    num_prompts = property(lambda self: self._spaces[0], doc="|X|.")
    num_responses = property(lambda self: self._spaces[1], doc="|Y| (|V|^H for an autoregressive base).")
    vocab_size = property(lambda self: self._spaces[2], doc="|V| of an autoregressive base, else None.")
    horizon = property(lambda self: self._spaces[3], doc="H of an autoregressive base, else None.")

    # --- queries ------------------------------------------------------------------------------------
    def draw_prompts(self, key: jax.Array, num_prompts: int) -> tuple[jax.Array, "Oracle"]:
        """x_1, …, x_n ∼ μ i.i.d. Drawing prompts is free in the paper's accounting but is recorded."""
        num_prompts = check_positive_int(num_prompts, "num_prompts")
        check_allocation((num_prompts,), "draw_prompts(num_prompts)", itemsize=_BYTES_PER_DRAW)
        prompts = _unseal(self._sealed).sample_prompts(key, num_prompts)
        return prompts, self._charged(prompts=num_prompts)

    def sample(self, key: jax.Array, prompts, num_samples: int, *, active=None) -> tuple[SampleBatch, "Oracle"]:
        """For every prompt, N responses y ∼ π_base(·|x) with log π_base(y|x); charges N samples per prompt.

        ``active`` (optional bool, broadcastable to ``prompts``): sample only there; other prompts are not
        charged and their entries are masked (−1, −inf). The draws at active prompts do not depend on it."""
        num_samples = check_positive_int(num_samples, "num_samples")
        prompts, valid = self._indices(prompts, "prompts", self.num_prompts)
        self._check_draw_size(prompts.shape, num_samples, "sample(num_samples)")
        answered = _both(valid, _active(active, prompts.shape))
        count = math.prod(prompts.shape) * num_samples if answered is None else jnp.sum(answered) * num_samples
        oracle = self._charged(samples=count)
        safe = prompts if valid is None else jnp.where(valid, prompts, 0)
        base = _unseal(self._sealed)
        responses = base.sample_responses(key, safe, num_samples)
        log_probs = _own_draws_log_prob(base, safe[..., None], responses)
        responses, log_probs = _mask(responses, log_probs, _active(active, prompts.shape), -jnp.inf)
        responses, log_probs = _mask(responses, log_probs, valid, jnp.nan)
        return SampleBatch(responses, log_probs), oracle

    def evaluate(self, prompts, responses) -> tuple[jax.Array, "Oracle"]:
        """log π_base(y|x) at learner-chosen pairs (footnote 7); one evaluation per (broadcast) pair.
        ``responses`` are indices, or token sequences [..., H] for an autoregressive base."""
        prompts, prompt_valid = self._indices(prompts, "prompts", self.num_prompts)
        responses, response_valid = self._responses(responses)
        pair_shape = responses.shape if self.horizon is None else responses.shape[:-1]
        try:
            shape = jnp.broadcast_shapes(prompts.shape, pair_shape)
        except ValueError:
            raise ValueError(f"prompts of shape {prompts.shape} do not broadcast against responses of shape "
                             f"{responses.shape}") from None
        valid = _both(prompt_valid, response_valid)
        valid = None if valid is None else jnp.broadcast_to(valid, shape)
        oracle = self._charged(evaluations=math.prod(shape) if valid is None else jnp.sum(valid))
        if prompt_valid is not None:
            prompts = jnp.where(prompt_valid, prompts, 0)
        if response_valid is not None:
            responses = jnp.where(_expand(response_valid, responses.ndim), responses, 0)
        log_probs = _unseal(self._sealed).log_prob(prompts, responses)
        return (log_probs if valid is None else jnp.where(valid, log_probs, jnp.nan)), oracle

    def sample_until(self, key: jax.Array, prompts, max_samples: int, stop_rule, *, active=None):
        """The adaptive oracle (Definition D.1): at each prompt sample y_1, y_2, … ∼ π_base(·|x) and stop at the
        first k with ``stop_rule(k, max_{j≤k} log π_base(y_j|x))`` true, or at k = ``max_samples`` (the cap).

        The oracle draws a tape of ``max_samples`` i.i.d. responses per prompt, computes the running maximum
        of their log-likelihoods itself and asks the rule one k at a time (the rule is vmapped over k, so it
        sees the running maximum at that k only: it cannot look ahead). It charges exactly the samples up to
        each stop and returns only those. ``stop_rule(k, running_max)`` gets an int k ≥ 1 and the running
        maxima [*prompts.shape] and returns bools of that shape. ``active`` as in ``sample`` (inactive prompts
        draw nothing: N(x) = 0).

        Returns ``(StoppedBatch, oracle)``: responses [..., K] (or [..., K, H]) and log_probs [..., K] with
        entries past the stop masked (−1, −inf), ``num_samples`` [...] = N(x) and ``hit_cap`` [...]."""
        max_samples = check_positive_int(max_samples, "max_samples")
        if not callable(stop_rule):
            raise TypeError(f"stop_rule must be a function (k, running_max) -> bool, got {type(stop_rule).__name__}")
        prompts, valid = self._indices(prompts, "prompts", self.num_prompts)
        self._check_draw_size(prompts.shape, max_samples, "sample_until(max_samples)")
        answered = _both(valid, _active(active, prompts.shape))
        if self._budget is not None and is_concrete(self._queries) and (answered is None or is_concrete(answered)):
            # every answered prompt costs at least one sample: refuse before drawing the tape when even that is
            # over budget (the exact charge, known only after the rule has run, is checked below)
            least = math.prod(prompts.shape) if answered is None else int(np.sum(np.asarray(answered)))
            self.check_affordable(samples=least)
        base = _unseal(self._sealed)
        safe = prompts if valid is None else jnp.where(valid, prompts, 0)
        responses = base.sample_responses(key, safe, max_samples)
        log_probs = _own_draws_log_prob(base, safe[..., None], responses)
        running_max = jax.lax.cummax(log_probs, axis=log_probs.ndim - 1)
        steps = jnp.arange(1, max_samples + 1, dtype=jnp.int64)
        stops = jax.vmap(stop_rule, in_axes=(0, -1), out_axes=-1)(steps, running_max)
        _check_stops(stops, prompts.shape)
        stops = jnp.broadcast_to(jnp.asarray(stops, bool), running_max.shape)
        fired = jnp.any(stops, axis=-1)
        stop = jnp.where(fired, jnp.argmax(stops, axis=-1) + 1, max_samples).astype(jnp.int64)
        if answered is not None:
            stop, fired = jnp.where(answered, stop, 0), fired | ~answered
        oracle = self._charged(samples=jnp.sum(stop))
        drawn = jnp.arange(max_samples) < stop[..., None]
        responses, log_probs = _mask(responses, log_probs, drawn, -jnp.inf)
        responses, log_probs = _mask(responses, log_probs, valid, jnp.nan)
        return StoppedBatch(responses, log_probs, stop, ~fired), oracle

    def check_affordable(self, samples=0, evaluations=0) -> None:
        """Refuse now (``QueryBudgetExceeded``; a check under ``sharpsim.checked``) if ``samples`` more samples and
        ``evaluations`` more evaluations would exceed the budget: for algorithms whose whole run is known in
        advance, so they can refuse before drawing anything. Charges nothing."""
        for name, amount in (("samples", samples), ("evaluations", evaluations)):
            if is_concrete(amount):
                array = np.asarray(amount)
                if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
                    raise TypeError(f"check_affordable({name}=...) must be an integer count, got {array.tolist()!r}")
                if np.any(array < 0) or np.any(array > MAX_COUNT):
                    raise ValueError(f"check_affordable({name}=...) must lie in [0, {MAX_COUNT}], got {array.tolist()}")
        self._verify_ledger()
        if self._budget is not None:
            added = QueryCount.tree_unflatten(None, tuple(jnp.asarray(v, jnp.int64) for v in (0, samples, evaluations)))
            self._check_budget(self._queries + added)

    # --- internals ----------------------------------------------------------------------------------
    def _check_draw_size(self, prompt_shape, num_samples: int, name: str) -> None:
        """Refuse a draw whose working arrays would not fit in memory, before drawing it."""
        tokens = 1 if self.horizon is None else self.horizon
        check_allocation((*prompt_shape, num_samples, tokens), name, itemsize=_BYTES_PER_DRAW)

    def _indices(self, values, name: str, size: int):
        """``values`` as an int array and its validity mask (None when known to be valid: concrete input is
        validated here and raises)."""
        try:
            values = jnp.asarray(values)
        except (TypeError, ValueError):  # strings, None, dicts: not an array of numbers at all
            raise TypeError(f"{name} must be integer indices, got {type(values).__name__} {values!r:.60}") from None
        if not jnp.issubdtype(values.dtype, jnp.integer):
            raise TypeError(f"{name} must be integer indices, got dtype {values.dtype}")
        if is_concrete(values):
            array = np.asarray(values)
            bad = (array < 0) | (array >= size)
            if bad.any():
                raise ValueError(f"{name} must lie in [0, {size}) for this oracle's base, got {int(array[bad][0])}")
            return values, None
        valid = (values >= 0) & (values < size)
        self._check_indices(valid, values, f"{name} must lie in [0, {size}) for this oracle's base")
        return values, valid

    def _responses(self, responses):
        """Responses as an int array and a validity mask over the pairs (see ``_indices``)."""
        if self.horizon is None:
            return self._indices(responses, "responses", self.num_responses)
        responses = jnp.asarray(responses)
        if responses.ndim == 0 or responses.shape[-1] != self.horizon:
            raise ValueError(f"responses must be token sequences [..., H] with H={self.horizon}, "
                             f"got shape {responses.shape}")
        responses, valid = self._indices(responses, "response tokens", self.vocab_size)
        return responses, (None if valid is None else jnp.all(valid, axis=-1))

    @staticmethod
    def _check_indices(valid, values, message: str) -> None:
        if checks_functionalized():
            flat_valid, flat = jnp.ravel(valid), jnp.ravel(values)
            first_bad = flat[jnp.argmin(flat_valid)] if flat.size else jnp.zeros((), flat.dtype)
            checkify.check(jnp.all(valid), INDEX_TAG + message + ", got {}", first_bad)

    def _charged(self, prompts=0, samples=0, evaluations=0) -> "Oracle":
        self._verify_ledger()
        added = QueryCount.tree_unflatten(None, tuple(jnp.asarray(v, jnp.int64) for v in (prompts, samples, evaluations)))
        queries = self._queries + added
        budgeted = not all(isinstance(v, int) and v == 0 for v in (samples, evaluations))
        if self._budget is not None and budgeted:
            self._check_budget(queries)
        charged = object.__new__(Oracle)
        for name, value in (("_queries", queries), ("_tag", _ledger_tag(queries)), ("_budget", self._budget),
                            ("_sealed", self._sealed), ("_spaces", self._spaces)):
            object.__setattr__(charged, name, value)
        return charged

    def _verify_ledger(self) -> None:
        """The ledger must be the one the oracle's own queries wrote: a ledger rewritten from outside (for example
        by ``jax.tree_util.tree_map`` over the oracle) no longer matches its tag. Checked eagerly, and under
        ``sharpsim.checked`` inside transformations."""
        matches = _ledger_tag(self._queries) == self._tag
        if is_concrete(matches):
            if not np.all(np.asarray(matches)):
                raise ValueError("this oracle's query ledger was altered outside its queries (for example by "
                                 "tree_map over the oracle); only queries may change it")
        elif checks_functionalized():
            checkify.check(jnp.all(matches), INDEX_TAG + "this oracle's query ledger was altered outside its queries")

    def _check_budget(self, queries: QueryCount) -> None:
        message = ("this query needs {} sample-and-evaluate queries in total (samples {}, evaluations {}) but the "
                   f"oracle's budget is {self._budget}; raise Oracle(base, budget=...) or ask for fewer queries")
        total = queries.total
        if is_concrete(total):
            if np.any(np.asarray(total) > self._budget):
                worst = int(np.argmax(np.asarray(total)))
                values = [int(np.ravel(np.asarray(v))[worst]) for v in (total, queries.samples, queries.evaluations)]
                raise QueryBudgetExceeded(message.format(*values))
        elif checks_functionalized():
            checkify.check(jnp.all(total <= self._budget), BUDGET_TAG + message, jnp.max(total),
                           jnp.max(queries.samples), jnp.max(queries.evaluations))
        else:
            raise unchecked_transformation_error()

    # --- sealing ------------------------------------------------------------------------------------
    def __setattr__(self, name, value):
        raise AttributeError(f"an Oracle is immutable: {name!r} cannot be assigned (queries charge a new oracle)")

    def __delattr__(self, name):
        raise AttributeError(f"an Oracle is immutable: {name!r} cannot be deleted")

    def __reduce_ex__(self, protocol):
        raise TypeError("an Oracle cannot be pickled: it would carry π_base; pickle its .queries instead")

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __repr__(self) -> str:
        spaces = (f"num_prompts={self.num_prompts}, num_responses={self.num_responses}" if self.horizon is None
                  else f"num_prompts={self.num_prompts}, vocab_size={self.vocab_size}, horizon={self.horizon}")
        return f"Oracle({spaces}, budget={self._budget}, queries={self._queries})"


def _flatten(oracle: Oracle):
    return (oracle._queries, oracle._tag), (oracle._sealed, oracle._budget, oracle._spaces)


def _unflatten(static, children) -> Oracle:
    oracle = object.__new__(Oracle)
    for name, value in zip(("_queries", "_tag", "_sealed", "_budget", "_spaces"), (*children, *static), strict=True):
        object.__setattr__(oracle, name, value)
    return oracle


jax.tree_util.register_pytree_node(Oracle, _flatten, _unflatten)


# a draw's working arrays: uniforms, the binary search's bounds and rows, responses and log-likelihoods
_BYTES_PER_DRAW = 6 * 8


def _active(active, shape):
    """The ``active`` mask broadcast to the prompts' shape; ``TypeError``/``ValueError`` naming ``active`` for a
    mask that is not boolean or does not broadcast (static checks: they hold for traced masks too)."""
    if active is None:
        return None
    if is_concrete(active):
        if isinstance(active, (str, bytes, dict, set)):
            raise TypeError(f"active must be a boolean mask broadcastable to prompts {tuple(shape)}, got "
                            f"{type(active).__name__} {active!r:.40}")
        try:
            active = np.asarray(active)
        except (TypeError, ValueError):
            raise TypeError(f"active must be a boolean mask broadcastable to prompts {tuple(shape)}, got a ragged "
                            f"{type(active).__name__}") from None
    dtype = jnp.result_type(active) if not isinstance(active, np.ndarray) else active.dtype
    if dtype != np.bool_:
        raise TypeError(f"active must be a boolean mask broadcastable to prompts {tuple(shape)}, got dtype {dtype}")
    try:
        fits = jnp.broadcast_shapes(jnp.shape(active), tuple(shape)) == tuple(shape)
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"active of shape {jnp.shape(active)} does not broadcast to the prompts' shape "
                         f"{tuple(shape)}; it must be a boolean mask of that shape (or broadcastable to it)")
    return jnp.broadcast_to(jnp.asarray(active), shape)


def _own_draws_log_prob(base, prompts, responses):
    """log π_base of responses the oracle has just drawn from ``base`` at validated prompts: a sharpsim policy's
    unchecked scorer (re-validating its own draws would cost a host copy of every response), else ``log_prob``."""
    return getattr(base, "_log_prob_unchecked", base.log_prob)(prompts, responses)


def _check_stops(stops, shape) -> None:
    """The stop rule's answers (vmapped over k: shape [*rule_shape, K]) must be bools of the prompts' shape."""
    rule_shape = tuple(jnp.shape(stops))[:-1]
    try:
        fits = jnp.broadcast_shapes(rule_shape, tuple(shape)) == tuple(shape)
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"stop_rule(k, running_max) must return bools of the prompts' shape {tuple(shape)} (one "
                         f"per prompt), got shape {rule_shape}")


def _both(first, second):
    if first is None or second is None:
        return second if first is None else first
    return first & second


def _expand(mask, ndim: int):
    """``mask`` with trailing unit axes to broadcast against an array of ``ndim`` axes."""
    return mask.reshape(mask.shape + (1,) * (ndim - mask.ndim))


def _mask(responses, log_probs, keep, fill):
    """Replace the answers where ``keep`` is False (``keep`` covers the leading axes) by −1 and ``fill``."""
    if keep is None:
        return responses, log_probs
    return (jnp.where(_expand(keep, responses.ndim), responses, -1),
            jnp.where(_expand(keep, log_probs.ndim), log_probs, fill))
