"""Argument checks shared by the measurement modules: callables, stored tables of rows, allocation shapes, hard
classes, and ``Prechecked``, which checks the concrete arguments of a jitted engine before dispatching to it.

Each check raises ``TypeError`` (wrong kind of object) or ``ValueError`` (a value out of range) naming the argument,
the bad value and what is allowed.
"""

from __future__ import annotations

import functools
import math
import numbers
from typing import Callable, Mapping, Sequence

import numpy as np

from sharpsim.core.shapes import check_key_batch
from sharpsim.core.validation import check_allocation, check_in_interval, check_positive_int, is_concrete


def check_callable(value, name: str) -> Callable:
    if not callable(value):
        raise TypeError(f"{name} must be a callable, got {value!r} ({type(value).__name__})")
    return value


def check_rows(rows, name: str, columns: Sequence[str]):
    """A non-empty table of stored rows (a pandas DataFrame) with ``columns``."""
    if not (hasattr(rows, "columns") and hasattr(rows, "groupby")):
        raise TypeError(f"{name} must be a pandas DataFrame of stored rows, got {type(rows).__name__}")
    missing = [column for column in columns if column not in rows.columns]
    if missing:
        raise ValueError(f"{name} lacks the columns {missing} (it has {list(rows.columns)})")
    if len(rows) == 0:
        raise ValueError(f"{name} must hold at least one row, got an empty table")
    return rows


def check_column_names(value, name: str, rows) -> list[str]:
    """A list of column names of ``rows``."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be a list of column names, got {value!r} ({type(value).__name__})")
    missing = [column for column in value if column not in rows.columns]
    if missing:
        raise ValueError(f"{name} names columns that rows lacks: {missing} (rows has {list(rows.columns)})")
    return list(value)


def check_shapes(shapes, name: str = "shapes") -> list[dict]:
    """A non-empty sequence of allocation shapes: mappings from the same parameter names, in the same order, to
    finite numbers."""
    if isinstance(shapes, (str, bytes, Mapping)) or not isinstance(shapes, Sequence):
        raise TypeError(f"{name} must be a sequence of mappings (one per allocation shape), got "
                        f"{type(shapes).__name__}")
    if len(shapes) == 0:
        raise ValueError(f"{name} must hold at least one allocation shape, got an empty sequence")
    for index, shape in enumerate(shapes):
        if not isinstance(shape, Mapping):
            raise TypeError(f"{name}[{index}] must be a mapping of parameter names to numbers, got {shape!r}")
        for key, value in shape.items():
            if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)) \
                    or not math.isfinite(float(value)):
                raise ValueError(f"{name}[{index}][{key!r}] must be a finite number, got {value!r}")
    names = list(shapes[0])
    for index, shape in enumerate(shapes):
        if list(shape) != names:
            raise ValueError(f"every shape must have the parameters {names} in that order; {name}[{index}] has "
                             f"{list(shape)}")
    return [dict(shape) for shape in shapes]


def check_hard_class(model_class, name: str = "model_class"):
    """The hard class of Appendix H (``sharpsim.HardClass``)."""
    from sharpsim.classes.hard import HardClass

    if not isinstance(model_class, HardClass):
        raise TypeError(f"{name} must be a HardClass (the hard family of Appendix H), got {type(model_class).__name__}")
    return model_class


def check_hard_classes(classes, name: str = "classes") -> None:
    """A non-empty sequence of hard classes."""
    if isinstance(classes, (str, bytes)) or not hasattr(classes, "__len__"):
        raise TypeError(f"{name} must be a sequence of HardClass, got {type(classes).__name__}")
    if len(classes) == 0:
        raise ValueError(f"{name} must hold at least one HardClass, got an empty sequence")
    for index, model_class in enumerate(classes):
        check_hard_class(model_class, f"{name}[{index}]")


def check_fixed_shape_run(model_class, keys, budget, num_prompts, max_samples, seed_batch: int) -> None:
    """The arguments of the hard family's fixed-shape engines (``hard_learners.run_learner``): a budget within the
    prompt padding (when concrete) and a batch of draws [seed batch, num_prompts, max_samples] within memory."""
    check_hard_class(model_class)
    seeds = check_key_batch(keys)
    num_prompts = check_positive_int(num_prompts, "num_prompts")
    max_samples = check_positive_int(max_samples, "max_samples")
    check_concrete_scalar(budget, "budget", 0, num_prompts, True, True, integer=True)
    check_allocation((min(seeds, seed_batch), num_prompts, max_samples),
                     "the draws (seed batch × num_prompts × max_samples)")


def check_choice(value, name: str, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def check_positive_finite(value, name: str) -> float:
    return check_in_interval(value, name, 0.0, math.inf, closed_low=False, closed_high=False)


def check_concrete_scalar(value, name: str, low: float, high: float, closed_low: bool, closed_high: bool,
                          integer: bool = False) -> None:
    """A scalar argument of a jitted engine, checked when it is concrete (inside an outer transformation it is a
    tracer, and the caller has checked it)."""
    if not is_concrete(value):
        return
    if np.ndim(value) != 0:
        raise ValueError(f"{name} must be a single number, got an array of shape {np.shape(value)}")
    if integer:
        if not np.issubdtype(np.asarray(value).dtype, np.integer) and not isinstance(value, numbers.Integral):
            raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
        value = int(value)
    check_in_interval(value, name, low, high, closed_low, closed_high)


class Prechecked:
    """A jitted engine whose concrete arguments are checked (``check(*args, **kwargs)``) before it is dispatched, so
    a bad value raises before tracing instead of being clamped or turned into NaN inside the compiled code. Other
    attributes (``trace_count``, ``lower``, ...) are the jitted function's."""

    def __init__(self, jitted, check: Callable):
        self._jitted, self._check = jitted, check
        functools.update_wrapper(self, jitted, updated=())

    def __call__(self, *args, **kwargs):
        self._check(*args, **kwargs)
        return self._jitted(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._jitted, name)


def prechecked(check: Callable):
    """Decorator form of ``Prechecked``: ``@prechecked(check)`` above ``@counted_jit(...)``."""
    return lambda jitted: Prechecked(jitted, check)
