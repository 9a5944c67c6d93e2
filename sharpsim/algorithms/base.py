"""Helpers shared by the algorithms: the queries a run was charged, and checks of a class against the oracle's
spaces. An algorithm sees π_base only through the oracle (Definition 3.2), so every size it needs is read off
the oracle's exposed spaces."""

from __future__ import annotations

import jax

from sharpsim.core.oracle import Oracle
from sharpsim.core.results import QueryCount


def queries_used(before: Oracle, after: Oracle) -> QueryCount:
    """The queries charged between two states of an oracle (what a result's ``queries`` reports)."""
    return jax.tree_util.tree_map(lambda a, b: a - b, after.queries, before.queries)


def check_oracle(oracle) -> Oracle:
    if not isinstance(oracle, Oracle):
        hint = "; wrap the base policy: Oracle(base)" if hasattr(oracle, "to_tabular") or hasattr(oracle, "probs") else ""
        raise TypeError(f"oracle must be a sharpsim Oracle, got {type(oracle).__name__}{hint}")
    return oracle


def check_class_matches_oracle(model_class, oracle) -> None:
    """A class must live on the base's prompt and response spaces; say which size differs and how to fix it."""
    check_oracle(oracle)
    if not callable(getattr(model_class, "fit", None)):
        raise TypeError(f"model_class must offer .fit(prompts, responses, weights=None); got {type(model_class).__name__}")
    for size in ("num_prompts", "num_responses"):
        oracle_size, class_size = getattr(oracle, size), getattr(model_class, size, None)
        if class_size is not None and int(oracle_size) != int(class_size):
            raise ValueError(
                f"model_class has {size}={class_size} but the oracle's base policy has {size}={oracle_size}; "
                "build the class on the base's spaces (e.g. TabularClass.like(base))"
            )


def check_finite_response_base(oracle, algorithm: str) -> None:
    """RLHF and XPO index responses by number; refuse an autoregressive base (its samples are token sequences)."""
    if check_oracle(oracle).horizon is not None:
        raise TypeError(
            f"{algorithm} needs a base over a finite response set whose samples are response indices; the oracle's "
            f"base is autoregressive (samples are token sequences of length H={oracle.horizon}). Pass "
            "Oracle(base.to_tabular()) to run it on the enumerated sequence space"
        )


def training_targets(model_class, oracle: Oracle, prompts: jax.Array, responses: jax.Array) -> jax.Array:
    """The SFT targets in the form ``model_class.fit`` takes: token sequences [n, H] from an autoregressive
    base become response indices (lexicographic order, ``sequences_to_indices``, with the oracle's |V|) unless
    the class fits sequences itself (``takes_sequences = True``, e.g. ``AutoregressiveLinearClass``)."""
    if responses.ndim > prompts.ndim and not getattr(model_class, "takes_sequences", False):
        from sharpsim.policies.autoregressive import sequences_to_indices

        return sequences_to_indices(responses, oracle.vocab_size)
    return responses
