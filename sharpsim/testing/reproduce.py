"""Instances written as Python source that rebuilds them bit for bit, so a counterexample that ``check_guarantee``
prints can be pasted into a test (every float by ``repr``, which round-trips float64 exactly)."""

from __future__ import annotations

import numpy as np

__all__ = ["array_source", "instance_source"]


def array_source(array) -> str:
    """``np.array([...])`` with every entry written by ``repr(float)`` (exact round trip), nested by shape."""
    array = np.asarray(array, dtype=np.float64)

    def nested(values) -> str:
        if values.ndim == 0:
            return repr(float(values))
        return "[" + ", ".join(nested(item) for item in values) + "]"

    return f"np.array({nested(array)})"


def instance_source(instance) -> str:
    """Source text that rebuilds ``instance`` exactly: a ``TabularPolicy``, ``TreePolicy`` or ``MarkovPolicy``
    from its stored arrays (so an oracle over the rebuilt policy draws the same samples from the same key); any
    other object falls back to ``repr``."""
    from sharpsim.core.policy import TabularPolicy
    from sharpsim.policies.markov import MarkovPolicy
    from sharpsim.policies.tree import TreePolicy

    if isinstance(instance, TabularPolicy):
        return (f"TabularPolicy({array_source(instance.probs)}, "
                f"prompt_probs={array_source(instance.prompt_probs)})")
    if isinstance(instance, TreePolicy):
        flat = np.asarray(instance.conditionals)
        # conditionals concatenate the levels [X, |V|^h, |V|] along axis 1
        starts = np.cumsum([0] + [int(instance.vocab_size)**h for h in range(instance.horizon)])
        levels = ", ".join(array_source(flat[:, starts[h]:starts[h + 1]]) for h in range(instance.horizon))
        return f"TreePolicy([{levels}], prompt_probs={array_source(instance.prompt_probs)})"
    if isinstance(instance, MarkovPolicy):
        return (f"MarkovPolicy({array_source(instance.initial)}, {array_source(instance.transitions)}, "
                f"prompt_probs={array_source(instance.prompt_probs)})")
    return repr(instance)
