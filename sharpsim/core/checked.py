"""``checked(fn)``: checked mode, sharpsim's input and budget checks inside ``jit``/``vmap``/``lax.scan``.

Eagerly every public function validates its inputs and the oracle raises ``QueryBudgetExceeded`` (or
``ValueError`` for an out-of-range index) before it answers (Definition 3.2). Inside a JAX transformation values
are tracers, so a Python ``raise`` cannot see them. Under ``checked`` the same checks are emitted as
``jax.experimental.checkify`` checks and raised, with the same type and message, once the computation has run::

    run = sharpsim.checked(jax.jit(jax.vmap(lambda key: sft_sharpen(key, oracle, model_class, n, N)[0])))
    results = run(keys)        # QueryBudgetExceeded if any seed overspends
    sharpsim.checked(jax.jit(lambda beta: power_policy(base, beta).probs))(-1.0)   # ValueError naming beta

Outside checked mode traced inputs are trusted and the compiled code carries no checks (the fast path of sweeps),
except that a budgeted oracle queried inside a transformation raises at trace time, naming this fix: its budget
would otherwise not hold. ``checked`` must be the outermost wrapper (``checked(jax.jit(f))``, not
``jax.jit(checked(f))``), since an error can only be raised once the computation has run.

Checked mode is part of JAX's trace context (a thread-local JAX configuration state that enters the jit cache
key), so a jitted function keeps one trace per mode: calling it with and without ``checked`` in any order gives
each call its own mode's code, and ``checked(jax.jit(f))`` reuses its compilation across calls.
"""

from __future__ import annotations

import functools

from jax._src import config as jax_config
from jax.experimental import checkify

from sharpsim.core.results import QueryBudgetExceeded
from sharpsim.core.validation import is_concrete

BUDGET_TAG = "[sharpsim budget] "
INDEX_TAG = "[sharpsim index] "
VALUE_TAG = "[sharpsim value] "

# One thread-local state in JAX's jit key and trace context: traces made in checked mode (holding checkify
# checks) and traces made outside it (holding none) are cached apart. It is JAX's private configuration API, so
# the name is prefixed and never set from outside this module.
_CHECKED_MODE = jax_config.bool_state(
    "sharpsim_checked_mode", False, "internal: True while sharpsim.checked traces a function",
    include_in_jit_key=True, include_in_trace_context=True)


def checks_functionalized() -> bool:
    """True while a function is being traced under ``checked`` (sharpsim may emit checkify checks)."""
    return bool(_CHECKED_MODE.value)


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
    for tag, kind in ((BUDGET_TAG, QueryBudgetExceeded), (INDEX_TAG, ValueError), (VALUE_TAG, ValueError)):
        if tag in message:
            text = message[message.index(tag) + len(tag):]
            raise kind(text.split(" (`check` failed)")[0])
    error.throw()


def checked(fn):
    """``fn`` in checked mode: call it like ``fn``; a failed budget check raises ``QueryBudgetExceeded``, a failed
    input check or an out-of-range index ``ValueError`` (with the eager message), and any other
    ``checkify.check`` in ``fn`` raises as ``checkify`` does. Nested ``checked`` calls forward to the outer one;
    under a plain outer transformation (``jax.jit(checked(f))``) a failure could not be raised, so that is refused
    at trace time."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        outer = checks_functionalized()
        with _CHECKED_MODE(True):
            error, out = checkify.checkify(fn, errors=checkify.user_checks)(*args, **kwargs)
        if is_concrete(error):
            raise_failed_check(error)
        elif outer:
            checkify.check_error(error)
        else:
            raise RuntimeError(
                "sharpsim.checked must be the outermost wrapper: write sharpsim.checked(jax.jit(f)), not "
                "jax.jit(sharpsim.checked(f)), since a failed check can only be raised once the computation has run")
        return out

    return run
