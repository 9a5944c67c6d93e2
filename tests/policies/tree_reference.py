"""Numpy references for tree policies shared by the policy tests: random conditionals and the joint law they
define, built by plain loops over itertools.product (never the code's own output)."""

import itertools
import math

import numpy as np


def random_levels(rng, num_prompts, vocab, horizon, zero_prob=0.0):
    levels = []
    for h in range(horizon):
        level = rng.dirichlet(np.ones(vocab), size=(num_prompts, vocab**h))
        if zero_prob:
            level = np.where(rng.random(level.shape) < zero_prob, 0.0, level)
            level[..., 0] += (level.sum(-1) == 0)
            level /= level.sum(-1, keepdims=True)
        levels.append(level)
    return levels


def np_prefix_index(prefix, vocab):
    index = 0
    for token in prefix:
        index = index * vocab + token
    return index


def np_sequence_prob(levels, x, sequence, vocab):
    """Π_h π_h(y_h | y_{<h}, x), with the conditional of prefix y_{<h} looked up by its base-|V| index."""
    return math.prod(levels[h][x, np_prefix_index(sequence[:h], vocab), sequence[h]] for h in range(len(sequence)))


def np_joint(levels, vocab):
    num_prompts, horizon = levels[0].shape[0], len(levels)
    sequences = list(itertools.product(range(vocab), repeat=horizon))  # lexicographic, first token most significant
    return np.array([[np_sequence_prob(levels, x, s, vocab) for s in sequences] for x in range(num_prompts)])
