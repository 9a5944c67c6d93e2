"""The user's claim for ``algorithm.answer_majority_sft``: its allocation, and the instances it is claimed on.

Where it is claimed (``instances``): tree policies over V^H whose argmax sequence y*(x) is unique and carries the
most likely answer at every prompt, by an answer margin Δ(x) = P(answer(y*)|x) − max_{a ≠ answer(y*)} P(a|x) of at
least ``MIN_ANSWER_MARGIN``. (Elsewhere the majority answer points away from y*(x) and no N helps.)

The allocation (``claim``): Theorem 4.1's n = log(|Π|/ρ)/(δε) prompts, and N = C_cov·log(2/δ)/ε (Theorem 4.1's
samples, so that y*(x) is among the N samples on all but an ε-fraction of prompts) plus 2·log(4(|V| − 1)/δ)/Δ²,
which by Hoeffding's inequality on each answer's vote lead makes the majority answer wrong with probability at
most δ/4.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

import sharpsim as ss
from sharpsim import theory

MIN_ANSWER_MARGIN = 0.1
VOCAB_SIZE, HORIZON = 2, 2


def answer_margin(instance) -> float:
    """min over supp μ of Δ(x) (module docstring); −inf where y*(x) is not unique."""
    table = ss.as_tabular(instance)
    probs, mu = np.asarray(table.probs), np.asarray(table.prompt_probs)
    vocab = int(instance.vocab_size)
    answers = np.arange(probs.shape[1]) % vocab  # the last token of the lexicographic index
    margins = []
    for row, weight in zip(probs, mu):
        if weight == 0:
            continue
        order = np.sort(row)
        if order[-1] == order[-2]:
            return -math.inf
        marginal = np.bincount(answers, weights=row, minlength=vocab)
        best = answers[np.argmax(row)]
        margins.append(marginal[best] - np.max(np.delete(marginal, best)))
    return float(min(margins))


def claim(eps, delta, rho, quantities) -> dict:
    """The allocation of the module docstring, for ``algorithm.make_algorithm``."""
    margin = answer_margin(quantities["instance"])
    if not margin > 0:
        raise ValueError(f"the claim covers instances whose argmax carries the majority answer; answer margin {margin}")
    vocab = quantities["vocab_size"] or quantities["num_responses"]
    num_prompts = theory.thm_4_1_num_prompts(quantities["log_class_size"], eps, delta, rho)
    num_samples = (theory.thm_4_1_num_samples(quantities["coverage"], eps, delta)
                   + 2.0 * math.log(4.0 * max(vocab - 1, 1) / delta) / margin**2)
    return {"num_prompts": math.ceil(float(num_prompts)), "num_samples": math.ceil(float(num_samples))}


@st.composite
def _trees(draw):
    num_prompts = draw(st.integers(1, 2))
    size = VOCAB_SIZE**HORIZON
    weights = st.lists(st.floats(0.05, 1.0), min_size=size, max_size=size)
    joint = np.array([draw(weights) for _ in range(num_prompts)])
    mu = np.array(draw(st.lists(st.floats(0.2, 1.0), min_size=num_prompts, max_size=num_prompts)))
    return ss.TreePolicy.from_joint(joint / joint.sum(axis=1, keepdims=True), VOCAB_SIZE, mu / mu.sum())


def instances():
    """The instances the claim covers: 1–2 prompts, V = 2, H = 2, answer margin ≥ ``MIN_ANSWER_MARGIN``."""
    return _trees().filter(lambda tree: answer_margin(tree) >= MIN_ANSWER_MARGIN)
