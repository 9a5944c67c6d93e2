"""Comparing two outputs of an algorithm leaf by leaf, with the path of the first difference as evidence
(``check_algorithm``'s ``deterministic``, ``oracle_only``, ``jit`` and ``vmap`` checks)."""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

__all__ = ["JIT_ATOL", "JIT_RTOL", "output_difference", "output_leaves"]

JIT_RTOL, JIT_ATOL = 1e-9, 1e-12


def output_leaves(tree, path: str = "") -> list[tuple[str, object]]:
    """(path, leaf) pairs of an output, dataclass fields by name (``.policy.probs``), for readable evidence."""
    if tree is None:
        return []
    if isinstance(tree, (tuple, list)) and not hasattr(tree, "_fields"):
        return [pair for i, item in enumerate(tree) for pair in output_leaves(item, f"{path}[{i}]")]
    if hasattr(tree, "_fields"):  # NamedTuple
        return [pair for name in tree._fields for pair in output_leaves(getattr(tree, name), f"{path}.{name}")]
    if isinstance(tree, dict):
        return [pair for name in sorted(tree) for pair in output_leaves(tree[name], f"{path}.{name}" if path else name)]
    if dataclasses.is_dataclass(tree) and not isinstance(tree, type):
        return [pair for field in dataclasses.fields(tree) for pair in output_leaves(getattr(tree, field.name),
                                                                               f"{path}.{field.name}")]
    if isinstance(tree, (jax.Array, np.ndarray, np.generic, int, float, bool, complex)):
        return [(path, tree)]
    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    return [(path + jax.tree_util.keystr(key), leaf) for key, leaf in leaves]


def output_difference(first, second, exact: bool) -> str | None:
    """None when the two outputs agree (value for value when ``exact``, else integers exactly and floats to rtol
    1e-9), else where and how they first differ."""
    leaves_a, leaves_b = output_leaves(first), output_leaves(second)
    paths_a, paths_b = [path for path, _ in leaves_a], [path for path, _ in leaves_b]
    if paths_a != paths_b:
        return f"the output's structure differs: {paths_a} vs {paths_b}"
    for (where, a), (_, b) in zip(leaves_a, leaves_b):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape or a.dtype.kind != b.dtype.kind:
            return f"{where}: shape/dtype {a.shape} {a.dtype} vs {b.shape} {b.dtype}"
        if a.dtype.kind in "fc":
            same = (a == b) | (np.isnan(a) & np.isnan(b))
            if not exact:  # non-finite entries must match exactly, finite ones to rtol 1e-9
                same |= np.isfinite(a) & np.isfinite(b) & np.isclose(a, b, rtol=JIT_RTOL, atol=JIT_ATOL)
        else:
            same = a == b
        if not np.all(same):
            at = tuple(int(i) for i in np.argwhere(~np.asarray(same))[0]) if a.ndim else ()
            return f"{where}{list(at) if at else ''}: {a[at].item()!r} vs {b[at].item()!r}"
    return None
