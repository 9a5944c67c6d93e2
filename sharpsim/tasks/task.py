"""Tasks with ground truth: a base model over variable-length responses whose responses carry answers (Appendix A).

The paper's experiments score a response by whether its final answer is correct. Here a response is a token
sequence of a ``TreePolicy`` over V^H in which token ``EOS`` (0) ends the response: after the first EOS the tree
puts probability 1 on EOS (padding), so a sequence with a non-EOS token after an EOS has probability 0. The length
|y| of a response is the position of its first EOS (H when there is none), and by default its answer is its last
token before EOS (answer 0, "no answer", for the empty response). Greedy decoding, sampling and exact enumeration
(``to_tabular``, in the lexicographic order of ``sequences_to_indices``) come from the policy.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.core.policy import TabularPolicy
from sharpsim.core.pytree import validated_pytree
from sharpsim.core.validation import as_float_array, check_allocation, check_index_array, check_positive_int
from sharpsim.policies.autoregressive import check_index_range, indices_to_sequences
from sharpsim.policies.tree import TreePolicy

EOS = 0
# enumerated tasks stay small: every law here is a sum over V^H per prompt
MAX_TASK_RESPONSES = 2**16


def _all_sequences(vocab_size: int, horizon: int) -> np.ndarray:
    """int [|V|^h, h]: every token sequence of length h in index order (``indices_to_sequences`` in numpy: this runs
    on the host for every task built, where eager JAX would dispatch and compile op by op)."""
    vocab_size = check_positive_int(vocab_size, "vocab_size")
    horizon = check_positive_int(horizon, "horizon")
    check_index_range(vocab_size, horizon)
    check_allocation((vocab_size**horizon, horizon), "vocab_size**horizon (the enumerated responses)")
    weights = vocab_size ** np.arange(horizon - 1, -1, -1, dtype=np.int64)
    return (np.arange(vocab_size**horizon, dtype=np.int64)[:, None] // weights) % vocab_size


def response_lengths(vocab_size: int, horizon: int) -> np.ndarray:
    """int [|V|^H]: the length of every enumerated response, the position of its first EOS (H if none)."""
    sequences = _all_sequences(vocab_size, horizon)
    is_eos = sequences == EOS
    return np.where(is_eos.any(axis=-1), np.argmax(is_eos, axis=-1), sequences.shape[1])


def last_token_answers(vocab_size: int, horizon: int) -> np.ndarray:
    """int [|V|^H]: the last token before the first EOS of every response (0 for the empty response)."""
    sequences = _all_sequences(vocab_size, horizon)
    lengths = response_lengths(vocab_size, horizon)
    last = np.take_along_axis(sequences, np.maximum(lengths - 1, 0)[:, None], axis=-1)[:, 0]
    return np.where(lengths > 0, last, EOS)


def well_formed(vocab_size: int, horizon: int) -> np.ndarray:
    """bool [|V|^H]: responses with nothing but EOS after their first EOS (the only ones with positive mass)."""
    sequences = _all_sequences(vocab_size, horizon)
    lengths = response_lengths(vocab_size, horizon)
    return ~((np.arange(horizon)[None, :] >= lengths[:, None]) & (sequences != EOS)).any(axis=-1)


def eos_tree(probs: np.ndarray, vocab_size: int, horizon: int) -> list[np.ndarray]:
    """The conditionals [X, |V|^h, |V|] of the tree whose sequence law is ``probs`` [X, |V|^H], with probability 1 on
    EOS after an EOS (also at prefixes of zero mass) and uniform conditionals at other prefixes of zero mass."""
    num_prompts = probs.shape[0]
    levels = []
    for position in range(horizon):
        children = probs.reshape(num_prompts, vocab_size ** (position + 1), -1).sum(axis=-1)
        children = children.reshape(num_prompts, vocab_size**position, vocab_size)
        parent = children.sum(axis=-1, keepdims=True)
        conditional = np.where(parent > 0, children / np.where(parent > 0, parent, 1.0), 1.0 / vocab_size)
        if position > 0:
            prefixes = _all_sequences(vocab_size, position)
            ended = (prefixes == EOS).any(axis=-1)
            conditional[:, ended, :] = np.eye(vocab_size)[EOS]
        levels.append(conditional)
    return levels


@validated_pytree(("policy", "table", "answers", "lengths", "correct_answers"), ("num_answers",))
@dataclass(frozen=True, eq=False, repr=False)
class Task:
    """A base model π_base over responses with EOS, and the ground truth of every enumerated response.

    Attributes:
      policy: the ``TreePolicy`` over V^H (token EOS = 0 ends a response).
      table: ``policy.to_tabular()``, the exact law [X, |V|^H] in lexicographic order.
      answers: int [X, |V|^H], the answer id of every response for every prompt, in [0, num_answers).
      lengths: int [|V|^H], |y|, the position of the first EOS (H if none).
      correct_answers: int [X], the correct answer of every prompt.
      num_answers: the number of answer ids.
    """

    policy: TreePolicy
    table: TabularPolicy
    answers: jax.Array
    lengths: jax.Array
    correct_answers: jax.Array
    num_answers: int

    @classmethod
    def from_joint(cls, probs, vocab_size: int, correct_answers, answers=None, num_answers=None,
                   prompt_probs=None) -> "Task":
        """The task whose base law is ``probs`` [X, |V|^H] (lexicographic order), which must put zero mass on every
        response with a non-EOS token after an EOS. ``answers`` [X, |V|^H] or [|V|^H] (default: the last token
        before EOS, ``num_answers`` = |V|); ``correct_answers`` [X] in [0, num_answers)."""
        vocab_size = check_positive_int(vocab_size, "vocab_size", minimum=2)
        array = as_float_array(probs, "probs")
        if array.ndim != 2:
            raise ValueError(f"probs must be a 2-d array [X, |V|^H], got shape {array.shape}")
        horizon = _horizon(array.shape[1], vocab_size)
        if array.shape[1] > MAX_TASK_RESPONSES:
            raise ValueError(f"probs has |V|^H = {array.shape[1]} responses per prompt; tasks are enumerated, so at "
                             f"most {MAX_TASK_RESPONSES} are allowed")
        table = TabularPolicy(array, prompt_probs)  # validates the rows
        bad = (np.asarray(table.probs) > 0) & ~well_formed(vocab_size, horizon)[None, :]
        if bad.any():
            x, y = (int(i) for i in np.argwhere(bad)[0])
            tokens = tuple(int(t) for t in np.asarray(indices_to_sequences(y, vocab_size, horizon)))
            raise ValueError(f"probs must put zero mass on responses with a token after EOS ({EOS}); prompt {x} "
                             f"gives {tokens} mass {float(array[x, y])!r}")
        if answers is None:
            answers = last_token_answers(vocab_size, horizon)
            num_answers = vocab_size if num_answers is None else check_positive_int(num_answers, "num_answers")
            if num_answers < vocab_size:
                raise ValueError(f"num_answers must be at least |V| = {vocab_size} with the default answers (the last "
                                 f"token before EOS), got {num_answers}")
        elif num_answers is None:
            raise TypeError("num_answers must be given with answers (the number of answer ids)")
        num_answers = check_positive_int(num_answers, "num_answers")
        answers = np.asarray(check_index_array(answers, "answers", num_answers, "answer"))
        if answers.shape not in ((array.shape[1],), array.shape):
            raise ValueError(f"answers must have shape [|V|^H] = ({array.shape[1]},) or [X, |V|^H] = {array.shape}, "
                             f"got {answers.shape}")
        answers = np.broadcast_to(answers, array.shape)
        correct_answers = np.asarray(check_index_array(correct_answers, "correct_answers", num_answers, "answer"))
        if correct_answers.shape != (array.shape[0],):
            raise ValueError(f"correct_answers must have shape [X] = ({array.shape[0]},), got {correct_answers.shape}")
        policy = TreePolicy(eos_tree(np.asarray(table.probs), vocab_size, horizon), table.prompt_probs,
                            max_sequences=MAX_TASK_RESPONSES)
        return cls.tree_unflatten((num_answers,), (
            policy, policy.to_tabular(), jnp.asarray(answers, jnp.int64),
            jnp.asarray(response_lengths(vocab_size, horizon), jnp.int64), jnp.asarray(correct_answers, jnp.int64)))

    def __post_init__(self):
        # the constructor takes the fields as stored (``from_joint`` builds them, bypassing this through
        # ``tree_unflatten``): they must describe one consistent task
        if not isinstance(self.policy, TreePolicy):
            raise TypeError(f"policy must be a TreePolicy over V^H (Task.from_joint builds one), got "
                            f"{type(self.policy).__name__}")
        if not isinstance(self.table, TabularPolicy):
            raise TypeError(f"table must be a TabularPolicy (policy.to_tabular()), got {type(self.table).__name__}")
        vocab_size, horizon = self.policy.vocab_size, self.policy.horizon
        shape = (self.policy.num_prompts, vocab_size**horizon)
        if self.table.probs.shape != shape:
            raise ValueError(f"table must be policy.to_tabular() of shape [X, |V|^H] = {shape}, got "
                             f"{self.table.probs.shape}")
        if not np.allclose(np.asarray(self.table.probs), np.asarray(self.policy.to_tabular().probs), rtol=1e-9,
                           atol=1e-12):
            raise ValueError("table must be policy.to_tabular(), the policy's exact law; it differs")
        if (np.asarray(self.table.probs) > 0)[:, ~well_formed(vocab_size, horizon)].any():
            raise ValueError(f"table must put zero mass on responses with a token after EOS ({EOS})")
        num_answers = check_positive_int(self.num_answers, "num_answers")
        answers = _answer_ids(self.answers, "answers", num_answers)
        if answers.shape != shape:
            raise ValueError(f"answers must have shape [X, |V|^H] = {shape}, got {answers.shape}")
        lengths = check_index_array(self.lengths, "lengths", horizon + 1, "length")
        if lengths.shape != shape[1:] or not np.array_equal(lengths, response_lengths(vocab_size, horizon)):
            raise ValueError(f"lengths must be response_lengths(vocab_size, horizon) = the position of the first EOS "
                             f"of every response, shape ({shape[1]},); got shape {lengths.shape}")
        correct_answers = _answer_ids(self.correct_answers, "correct_answers", num_answers)
        if correct_answers.shape != shape[:1]:
            raise ValueError(f"correct_answers must have shape [X] = {shape[:1]}, got {correct_answers.shape}")
        for name, value in (("answers", answers), ("lengths", lengths), ("correct_answers", correct_answers)):
            object.__setattr__(self, name, jnp.asarray(value, jnp.int64))
        object.__setattr__(self, "num_answers", num_answers)

    @property
    def probs(self) -> jax.Array:
        """[X, |V|^H]: π_base(y|x)."""
        return self.table.probs

    @property
    def prompt_probs(self) -> jax.Array:
        return self.table.prompt_probs

    @property
    def correct(self) -> jax.Array:
        """bool [X, |V|^H]: whether response y answers prompt x correctly."""
        return self.answers == self.correct_answers[:, None]

    @property
    def num_prompts(self) -> int:
        return self.table.num_prompts

    def __repr__(self) -> str:
        return (f"Task(X={self.num_prompts}, |V|={self.policy.vocab_size}, H={self.policy.horizon}, "
                f"answers={self.num_answers})")


def _answer_ids(value, name: str, num_answers: int) -> jax.Array:
    """Answer ids in [0, num_answers); an id out of range may be a wrong id or a wrong count, so both are named."""
    try:
        return check_index_array(value, name, num_answers, "answer")
    except ValueError as error:
        raise ValueError(f"{error} (num_answers = {num_answers} answer ids)") from None


def _horizon(num_responses: int, vocab_size: int) -> int:
    power, horizon = 1, 0
    while power < num_responses:
        power, horizon = power * vocab_size, horizon + 1
    if power != num_responses or horizon < 1:
        raise ValueError(f"probs has {num_responses} responses per prompt, which is not |V|^H for vocab_size="
                         f"{vocab_size} and an integer horizon H >= 1")
    check_index_range(vocab_size, horizon)
    return horizon
