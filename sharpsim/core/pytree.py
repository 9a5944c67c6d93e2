"""Pytree registration for sharpsim's validated containers (policies, model classes, the oracle).

Their constructors validate concrete input and normalize it, so unflattening must not call them: JAX rebuilds
these objects from tracers, from batched leaves under ``vmap`` and from placeholder leaves (``tree_map`` over
axis specs), none of which a validator should see. ``validated_pytree`` therefore writes the fields straight
into a fresh instance, and ``unchecked_replace`` does the same for a copy with some fields changed.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax


def validated_pytree(data_fields: Sequence[str], meta_fields: Sequence[str] = ()):
    """Class decorator: register a class as a pytree whose leaves are ``data_fields`` and whose static (hashable)
    part is ``meta_fields``; ``tree_unflatten`` bypasses ``__init__``."""
    data_fields, meta_fields = tuple(data_fields), tuple(meta_fields)

    def register(cls):
        def tree_flatten(self):
            return (tuple(getattr(self, name) for name in data_fields),
                    tuple(getattr(self, name) for name in meta_fields))

        def tree_unflatten(klass, meta, data):
            instance = object.__new__(klass)
            for name, value in zip(data_fields, data, strict=True):
                object.__setattr__(instance, name, value)
            for name, value in zip(meta_fields, meta or (), strict=True):
                object.__setattr__(instance, name, value)
            return instance

        cls.tree_flatten = tree_flatten
        cls.tree_unflatten = classmethod(tree_unflatten)
        return jax.tree_util.register_pytree_node_class(cls)

    return register


def unchecked_replace(instance, **changes):
    """A copy of ``instance`` with ``changes`` written in without validation (usable on traced values)."""
    unknown = set(changes) - set(vars(instance))
    if unknown:
        raise TypeError(f"{type(instance).__name__} has no field(s) {sorted(unknown)}")
    copy = object.__new__(type(instance))
    for name, value in {**vars(instance), **changes}.items():
        object.__setattr__(copy, name, value)
    return copy
