"""Autoregressive policies over V^H (Section 1; Appendix E) and their decoding (Proposition 3.1, Proposition E.1)."""

from sharpsim.policies.autoregressive import AutoregressivePolicy, indices_to_sequences, sequences_to_indices
from sharpsim.policies.decoding import (
    Decoded,
    beam_search,
    greedy_decode,
    in_argmax_set,
    sample_with_temperature,
    sequence_argmax,
    viterbi_decode,
)
from sharpsim.policies.linear_softmax import LinearSoftmaxARPolicy
from sharpsim.policies.markov import MarkovPolicy
from sharpsim.policies.tree import TreePolicy
