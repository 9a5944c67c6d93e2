"""``checked(fn)``: the oracle's budget and index checks inside ``jit``/``vmap``/``lax.scan`` (Definition 3.2).

Eagerly the oracle raises ``QueryBudgetExceeded`` (or ``ValueError`` for an out-of-range index) before it
answers. Inside a JAX transformation the ledger and the indices are traced, so a Python ``raise`` cannot see
them; the oracle then emits ``jax.experimental.checkify`` checks instead. Those must be functionalized by
``checkify.checkify``, which is what ``checked`` does::

    run = sharpsim.checked(jax.jit(jax.vmap(lambda key: sft_sharpen(key, oracle, model_class, n, N)[0])))
    results = run(keys)        # QueryBudgetExceeded if any seed overspends

``checked`` sets a flag while ``fn`` is traced so that the oracle knows its checks will be functionalized;
a budgeted oracle queried inside a transformation *without* it raises at trace time, naming this fix.
Wrap a jitted function (``checked(jax.jit(f))``) to reuse its compilation across calls; ``checked`` must be
the outermost wrapper, since an error can only be raised once the computation has run. A function traced
under ``checked`` keeps its checks in JAX's trace cache: calling the same jitted function later without
``checked`` fails with JAX's "checkify.check which was not functionalized" error rather than skipping them.
Conversely, a jitted function first traced *without* ``checked`` (an unbudgeted oracle, so no check was emitted)
keeps that check-free trace: a later ``checked`` call of the same function does not add index checks (bad indices
still give NaN, never clamped). Wrap with ``checked`` before the first call to get them.
"""

from __future__ import annotations

import contextlib
import functools
import threading

from jax.experimental import checkify

from sharpsim.core.results import QueryBudgetExceeded
from sharpsim.core.validation import is_concrete

BUDGET_TAG = "[sharpsim budget] "
INDEX_TAG = "[sharpsim index] "

_state = threading.local()


def checks_functionalized() -> bool:
    """True while a function is being traced under ``checked`` (the oracle may emit checkify checks)."""
    return getattr(_state, "depth", 0) > 0


@contextlib.contextmanager
def _functionalizing():
    _state.depth = getattr(_state, "depth", 0) + 1
    try:
        yield
    finally:
        _state.depth -= 1


def unchecked_transformation_error() -> RuntimeError:
    """The trace-time error for a budgeted oracle queried inside jit/vmap/scan without ``checked``."""
    return RuntimeError(
        "a budgeted Oracle was queried inside a JAX transformation (jit, vmap, lax.scan, ...), where its traced "
        "ledger cannot be checked by a Python raise; wrap the outermost transformed function with "
        "sharpsim.checked(...), e.g. sharpsim.checked(jax.jit(f))(...) (checked must be outermost: not "
        "jax.jit(sharpsim.checked(f))), or use an oracle without a budget"
    )


def raise_failed_check(error: checkify.Error) -> None:
    """Turn a failed sharpsim check into ``QueryBudgetExceeded`` / ``ValueError``; re-raise any other check."""
    message = error.get()
    if message is None:
        return
    for tag, kind in ((BUDGET_TAG, QueryBudgetExceeded), (INDEX_TAG, ValueError)):
        if tag in message:
            text = message[message.index(tag) + len(tag):]
            raise kind(text.split(" (`check` failed)")[0])
    error.throw()


def checked(fn):
    """``fn`` with the oracle's checks functionalized: call it like ``fn``; a failed budget check raises
    ``QueryBudgetExceeded``, an out-of-range index ``ValueError`` (with the oracle's message), and any other
    ``checkify.check`` in ``fn`` raises as ``checkify`` does. Nested ``checked`` calls forward to the outer one;
    under a plain outer transformation (``jax.jit(checked(f))``) a failure cannot be raised, so that is refused
    at trace time when a check was emitted."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        outer = checks_functionalized()
        with _functionalizing():
            error, out = checkify.checkify(fn, errors=checkify.user_checks)(*args, **kwargs)
        if is_concrete(error):
            raise_failed_check(error)
        elif outer:
            checkify.check_error(error)
        else:
            raise unchecked_transformation_error()
        return out

    return run
