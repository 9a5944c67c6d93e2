"""greedy_vs_argmax: when does token-level decoding find the sequence argmax? (Prop. 3.1)

Claim. For an autoregressive π over V^H with a unique argmax y*(x), π(y*(x)|x) > 1/2 implies that greedy
decoding returns y*(x) (every conditional along y* then exceeds 1/2). The same argument covers beam search
of any width k (the prefix of y* has mass > 1/2, so it is always the best prefix). Below 1/2 there is no
guarantee: ``greedy_threshold`` fails at π(y*) = 1/2 − η for every η > 0 (the bound is tight).

Each seed is one prompt of a ``random_tree`` policy: every conditional ∝ Dirichlet(1)^(1/T), independently,
so the temperature T and the horizon H spread π(y*|x) over (0, 1]. The referee enumerates V^H exactly
(``to_tabular``) for y*(x) and π(y*|x); greedy and beam search (k = 2, 4) are run token by token and scored
by membership in the argmax set. Cells differ in (|V|, H, T); T is traced, so one compilation serves
every temperature of a shape.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from sharpsim.instances.autoregressive import greedy_threshold, random_tree
from sharpsim.policies.autoregressive import sequences_to_indices
from sharpsim.policies.decoding import beam_search, greedy_decode
from sharpsim.referee.quantities import argmax_mask
from sharpsim.runner.experiment import Sweep
from sharpsim.core.jit import counted_jit

BEAM_WIDTHS = (2, 4)
DECODERS = ("greedy",) + tuple(f"beam{k}" for k in BEAM_WIDTHS)
THRESHOLD_ETAS = (0.2, 0.1, 0.05, 0.02, 0.005, 0.001)


@counted_jit
def score_decoders(policy):
    """Per prompt: π(y*|x), the runner-up mass, |y*(x)|, and for each decoder whether its output is in
    y*(x) and the mass π(ŷ|x) of its output."""
    probs = policy.to_tabular().probs
    mask = argmax_mask(policy.to_tabular())
    top = probs.max(axis=-1)
    runner_up = jnp.max(jnp.where(mask, -1.0, probs), axis=-1)
    columns = {"p_star": top, "runner_up": jnp.maximum(runner_up, 0.0), "argmax_size": mask.sum(axis=-1)}
    outputs = {"greedy": greedy_decode(policy)}
    outputs.update({f"beam{k}": beam_search(policy, k).sequences for k in BEAM_WIDTHS})
    for name, sequences in outputs.items():
        index = sequences_to_indices(sequences, policy.vocab_size)[:, None]
        columns[f"{name}_correct"] = jnp.take_along_axis(mask, index, axis=-1)[:, 0]
        columns[f"{name}_mass"] = jnp.take_along_axis(probs, index, axis=-1)[:, 0]
    return columns


def run_cell(params, key, seeds):
    policy = random_tree(key, num_prompts=seeds, vocab_size=params["vocab_size"], horizon=params["horizon"],
                         temperature=params["temperature"])
    return {name: np.asarray(value) for name, value in score_decoders(policy).items()}


def threshold_instances() -> list[dict]:
    """``greedy_threshold`` at a few η: π(y*), and whether greedy / beam search find y*."""
    rows = []
    for eta in THRESHOLD_ETAS:
        columns = score_decoders(greedy_threshold(eta, vocab_size=3))  # one shape for every η < 1/4
        rows.append({"eta": eta, **{name: float(np.asarray(value)[0]) for name, value in columns.items()}})
    return rows


SWEEP = Sweep(
    title="Greedy / beam decoding vs the sequence argmax, against π(y*|x) (Prop. 3.1)",
    claim="Prop. 3.1: π(y*|x) > 1/2 ⇒ greedy decoding returns y*(x); tight (fails at 1/2 − η)",
    grid={"vocab_size": [2, 3], "horizon": [2, 4, 6, 8], "temperature": [0.25, 0.5, 1.0, 2.0]},
    seeds=2000,
    run_cell=run_cell,
    quick_grid={"vocab_size": [2], "horizon": [5], "temperature": [0.5, 1.0, 2.0]},
    quick_seeds=400,
)
