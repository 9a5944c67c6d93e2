"""Synthetic reasoning tasks with controllable likelihood–correctness structure (the paper's Appendix A, simulated).

``reasoning_task`` draws, for every prompt x, a correct answer a*(x) among the answer tokens 1..A and a base model
whose support is

* reasoned responses (r_1, …, r_{L−1}, a, EOS, …): ``correct_paths`` distinct reasoning paths r ending in the
  correct answer and ``wrong_paths`` ending in each wrong answer (the number of paths per answer makes the answer
  marginal differ from the sequence likelihood);
* optionally short responses (a, EOS, …) that skip the reasoning, one per answer.

With ε i.i.d. standard normal per response and ξ_x standard normal per prompt, the log-weights are

    reasoned:  z(y) = σ·ε_y + s_x·1{a(y) = a*(x)},            s_x = signal + signal_spread·ξ_x,
    short:     z(y) = b + σ·ε_y + short_signal·1{a(y) = a*(x)},

and π_base(y|x) ∝ exp z(y) on the support. ``signal`` runs the likelihood–correctness correlation from strongly
positive (the likelihood argmax is correct) to negative (it is wrong); σ (``noise``) blurs it; ``short_bias`` b
makes short responses likelier than a reasoned one (length correlated with likelihood), and since their answer
carries only ``short_signal`` they are mostly wrong ("short answers skip the reasoning").
"""

from __future__ import annotations

import math

import jax
import numpy as np

from sharpsim.core.validation import check_allocation, check_in_interval, check_positive_int
from sharpsim.tasks.task import EOS, Task


def _real(value, name: str) -> float:
    return check_in_interval(value, name, -math.inf, math.inf, closed_low=False, closed_high=False)


def reasoning_task(key: jax.Array, num_prompts: int, *, vocab_size: int = 5, horizon: int = 5, num_answers: int = 4,
                   correct_paths: int = 4, wrong_paths: int = 4, reason_length: int | None = None,
                   signal: float = 1.0, signal_spread: float = 0.0, noise: float = 1.0,
                   short_bias: float | None = None, short_signal: float = 0.0) -> Task:
    """A ``Task`` with ``num_prompts`` prompts drawn from the model above. Answer ids are tokens (the last token
    before EOS; id 0, the empty response, never has mass) and a*(x) is uniform on 1..A.

    Args:
      key: PRNG key (paths, correct answers, ε and ξ).
      vocab_size, horizon: V^H is enumerated, so |V|^H ≤ 2^16.
      num_answers: A answer tokens 1..A (A ≤ |V| − 1).
      correct_paths, wrong_paths: reasoning paths per correct / per wrong answer, at most (|V| − 1)^(L−1).
      reason_length: L, the length of reasoned responses (2 ≤ L ≤ H; default H).
      signal, signal_spread, noise: s, its spread across prompts and σ ≥ 0 (log-weight units).
      short_bias: b; ``None`` leaves short responses out.
      short_signal: the correctness signal of short responses.
    """
    num_prompts = check_positive_int(num_prompts, "num_prompts")
    vocab_size = check_positive_int(vocab_size, "vocab_size", minimum=3)
    horizon = check_positive_int(horizon, "horizon", minimum=2)
    if horizon > 16 or vocab_size**horizon > 2**16:  # H first: |V|**H of a huge H would not finish
        raise ValueError(f"vocab_size**horizon = |V|^H = {vocab_size}^{horizon} is above 2^16; tasks are enumerated")
    num_answers = check_positive_int(num_answers, "num_answers", minimum=2)
    if num_answers > vocab_size - 1:
        raise ValueError(f"num_answers must be at most |V| − 1 = {vocab_size - 1} (answer tokens 1..A), got "
                         f"{num_answers}")
    length = horizon if reason_length is None else check_positive_int(reason_length, "reason_length", minimum=2)
    if length > horizon:
        raise ValueError(f"reason_length must lie in [2, H = {horizon}], got {length}")
    available = (vocab_size - 1) ** (length - 1)
    correct_paths = check_positive_int(correct_paths, "correct_paths")
    wrong_paths = check_positive_int(wrong_paths, "wrong_paths")
    for name, value in (("correct_paths", correct_paths), ("wrong_paths", wrong_paths)):
        if value > available:
            raise ValueError(f"{name} must be at most (|V| − 1)^(L − 1) = {available} distinct paths, got {value}")
    signal, signal_spread, short_signal = _real(signal, "signal"), _real(signal_spread, "signal_spread"), _real(
        short_signal, "short_signal")
    noise = check_in_interval(noise, "noise", 0.0, math.inf, closed_low=True, closed_high=False)
    if short_bias is not None:
        short_bias = _real(short_bias, "short_bias")

    check_allocation((num_prompts, vocab_size**horizon), "num_prompts (the task's table [X, |V|^H])")
    # one fixed-shape draw from the key seeds numpy's generator: no compilation per task shape
    rng = np.random.default_rng(np.asarray(jax.random.bits(key, (4,), dtype=np.uint32)))
    correct = 1 + rng.integers(0, num_answers, num_prompts)
    order = rng.permuted(np.broadcast_to(np.arange(available), (num_prompts, num_answers, available)), axis=-1)
    spread = signal + signal_spread * rng.standard_normal(num_prompts)

    num_responses = vocab_size**horizon
    digits = vocab_size ** np.arange(horizon - 1, -1, -1)  # weight of each position in the response index
    log_weights = np.full((num_prompts, num_responses), -np.inf)
    base = (vocab_size - 1) ** np.arange(length - 2, -1, -1)  # a path index as base-(|V| − 1) digits
    for x in range(num_prompts):
        for answer in range(1, num_answers + 1):
            is_correct = answer == correct[x]
            count = correct_paths if is_correct else wrong_paths
            paths = order[x, answer - 1, :count]
            tokens = 1 + (paths[:, None] // base) % (vocab_size - 1)  # [count, L − 1], tokens in 1..|V| − 1
            index = tokens @ digits[: length - 1] + answer * digits[length - 1]
            log_weights[x, index] = spread[x] * is_correct
            if short_bias is not None:
                log_weights[x, answer * digits[0]] = short_bias + short_signal * is_correct
    support = np.isfinite(log_weights)
    log_weights[support] += noise * rng.standard_normal(int(support.sum()))
    log_weights -= log_weights.max(axis=1, keepdims=True)
    probs = np.exp(log_weights)
    probs /= probs.sum(axis=1, keepdims=True)
    assert EOS == 0  # the response indices above pad with token 0
    return Task.from_joint(probs, vocab_size, correct)
