"""SFT-Sharpening of the trained transformer for real (Section 2.1, Theorem 4.1; Appendix A.3, Figure 9): draw
n prompts x_i ∼ μ and N responses each through the sealed oracle, keep the draw of largest log π_base (best-of-N,
ties to the first drawn), and fine-tune a copy of the network on the (prompt, pick) pairs by teacher-forced
cross-entropy with optax; then score the fine-tuned network exactly on every prompt.

Compile once. ``finetune`` takes the data padded to n_max prompts and the number n of them to use as a traced
integer, so one compilation serves every n ≤ n_max and every N; it is vmapped over seeds. The optimizer is Adam at
a constant learning rate for a fixed number of steps; step t trains on a minibatch of B pairs drawn uniformly with
replacement from the first n (indices from ``fold_in(key, t)``), so the run is deterministic from its key and the
number of passes over the data is steps·B/n. Weights are optimized in float32 as in training (one flat vector,
``training._flatten``); scoring casts them to float64 (exact).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax

from sharpsim.algorithms.best_of_n import running_best_index
from sharpsim.core.oracle import Oracle
from sharpsim.core.policy import TabularPolicy
from sharpsim.core.validation import check_in_interval, check_positive_int
from sharpsim.lm.model import Transformer, response_logits, with_dtype
from sharpsim.lm.task import _digits
from sharpsim.lm.training import LMConfig, _flatten, _loss, _unflatten
from sharpsim.policies.autoregressive import _indices_to_sequences

__all__ = ["bon_sft_data", "finetune", "finetuned_outputs"]


def bon_sft_data(key: jax.Array, base_probs, num_prompts: int, num_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """(prompts int [n], picks int [n, N]): n prompts drawn from μ and, for k = 1..N, the response index of the
    best-of-k pick among the first k of N draws per prompt, all through the sealed ``Oracle`` of the enumerated
    base ``base_probs`` [X, |Y|] (a ``TabularPolicy``, the network's exact law: sampling by inverse CDF instead of
    H forward passes per draw)."""
    if not isinstance(base_probs, TabularPolicy):
        raise TypeError(f"base_probs must be a TabularPolicy (the enumerated base), got {type(base_probs).__name__}")
    num_prompts = check_positive_int(num_prompts, "num_prompts")
    num_samples = check_positive_int(num_samples, "num_samples")
    prompt_key, sample_key = jax.random.split(key)
    oracle = Oracle(base_probs)
    prompts, oracle = oracle.draw_prompts(prompt_key, num_prompts)
    batch, oracle = oracle.sample(sample_key, prompts, num_samples)
    best = running_best_index(batch.log_probs)
    return np.asarray(prompts), np.asarray(jnp.take_along_axis(batch.responses, best, axis=1))


def _check_config(config) -> None:
    if not isinstance(config, LMConfig):
        raise TypeError(f"config must be the LMConfig of the trained network, got {type(config).__name__}")


def finetune(config: LMConfig, network: Transformer, prompts, responses, num_examples, keys, *, steps: int,
             batch_size: int, learning_rate: float) -> tuple[jax.Array, jax.Array]:
    """Fine-tune copies of ``network`` (float32) on (prompt, response) pairs, one run per row (seed):

    ``prompts`` int [S, n_max] prompt indices, ``responses`` int [S, n_max] response indices (or [S, n_max, H]
    token sequences), ``num_examples`` n ≤ n_max (the first n pairs of each row are the data), ``keys`` [S].
    Returns (flat float32 weights [S, P], training losses [S, steps])."""
    _check_config(config)
    if not isinstance(network, Transformer):
        raise TypeError(f"network must be a sharpsim.lm Transformer, got {type(network).__name__}")
    steps = check_positive_int(steps, "steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    learning_rate = check_in_interval(learning_rate, "learning_rate", 0.0, np.inf, closed_low=False,
                                      closed_high=False)
    task = config.task
    prompts = np.asarray(prompts)
    responses = np.asarray(responses)
    if prompts.ndim != 2:
        raise ValueError(f"prompts must be an int array [seeds, n_max], got shape {prompts.shape}")
    if responses.shape == prompts.shape:
        num_responses = task.vocab_size**task.horizon
        if responses.dtype.kind not in "iu" or (responses < 0).any() or (responses >= num_responses).any():
            raise ValueError(f"responses given as indices must be integers in [0, {num_responses}), got "
                             f"{responses.dtype} in [{responses.min()}, {responses.max()}]")
        responses = np.asarray(_indices_to_sequences(responses, task.vocab_size, task.horizon))
    if responses.shape != prompts.shape + (task.horizon,):
        raise ValueError(f"responses must be response indices [seeds, n_max] = {prompts.shape} or token sequences "
                         f"{prompts.shape + (task.horizon,)}, got shape {responses.shape}")
    if (prompts < 0).any() or (prompts >= task.num_prompts).any():
        raise ValueError(f"prompts must be prompt indices in [0, {task.num_prompts}), got values in "
                         f"[{prompts.min()}, {prompts.max()}]")
    if (responses < 0).any() or (responses >= task.vocab_size).any():
        raise ValueError(f"responses must hold tokens in [0, {task.vocab_size})")
    num_examples = check_positive_int(num_examples, "num_examples")
    if num_examples > prompts.shape[1]:
        raise ValueError(f"num_examples must be at most n_max = {prompts.shape[1]} (prompts.shape[1]), got "
                         f"{num_examples}")
    keys = jnp.asarray(keys)
    if keys.shape[:1] != prompts.shape[:1]:
        raise ValueError(f"keys must hold one PRNG key per row of prompts ({prompts.shape[0]}), got shape {keys.shape}")
    flat = _flatten(with_dtype(network, jnp.float32))
    operands = _digits(jnp.asarray(prompts), task.modulus, task.num_operands)
    return _finetune_all(config, steps, batch_size, float(learning_rate), flat, operands, jnp.asarray(responses),
                         jnp.int64(num_examples), keys)


@partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _finetune_all(config, steps, batch_size, learning_rate, flat, operands, responses, num_examples, keys):
    optimizer = optax.adam(learning_rate)

    def one_run(operands, responses, key):
        def step(carry, t):
            weights, state = carry
            u = jax.random.uniform(jax.random.fold_in(key, t), (batch_size,), dtype=jnp.float32)
            rows = jnp.minimum(jnp.floor(u * num_examples).astype(jnp.int64), num_examples - 1)
            loss, grads = jax.value_and_grad(
                lambda w: _loss(_unflatten(config, w), config.task, operands[rows], responses[rows]))(weights)
            updates, state = optimizer.update(grads, state, weights)
            return (optax.apply_updates(weights, updates), state), loss

        (weights, _), losses = jax.lax.scan(step, (flat, optimizer.init(flat)), jnp.arange(steps))
        return weights, losses

    return jax.vmap(one_run)(operands, responses, keys)


def finetuned_outputs(config: LMConfig, flats, targets, prompts=None) -> tuple[np.ndarray, np.ndarray]:
    """Exact outputs of fine-tuned networks at ``prompts`` (default: every prompt), in float64: (greedy responses
    int [S, X] as response indices, log π̂(targets(x)|x) float64 [S, X]) for flat weights ``flats`` [S, P] (from
    ``finetune``) and ``targets`` int [X] response indices, one per prompt (e.g. the base's argmax y*(x))."""
    _check_config(config)
    task = config.task
    flats = jnp.asarray(flats)
    if flats.ndim != 2:
        raise ValueError(f"flats must be flat weight vectors [seeds, P], got shape {flats.shape}")
    prompts = np.arange(task.num_prompts) if prompts is None else np.asarray(prompts)
    if prompts.ndim != 1 or prompts.dtype.kind not in "iu" or (prompts < 0).any() \
            or (prompts >= task.num_prompts).any():
        raise ValueError(f"prompts must be a 1-d array of prompt indices in [0, {task.num_prompts}), got "
                         f"{prompts.dtype} of shape {prompts.shape}")
    targets = np.asarray(targets)
    if targets.shape != prompts.shape or (targets < 0).any() or (targets >= task.vocab_size**task.horizon).any():
        raise ValueError(f"targets must be response indices in [0, {task.vocab_size ** task.horizon}), one per "
                         f"prompt, shape {prompts.shape}; got shape {targets.shape}")
    greedy, log_target = _outputs(config, flats, jnp.asarray(targets), jnp.asarray(prompts))
    return np.asarray(greedy), np.asarray(log_target, dtype=np.float64)


@partial(jax.jit, static_argnums=0)
def _outputs(config, flats, targets, prompts):
    task = config.task
    operands = _digits(prompts, task.modulus, task.num_operands)
    target_tokens = _indices_to_sequences(targets, task.vocab_size, task.horizon)
    weights = jnp.asarray([task.vocab_size ** (task.horizon - 1 - h) for h in range(task.horizon)], jnp.int64)

    def one(flat):
        network = with_dtype(_unflatten(config, flat), jnp.float64)
        log_probs = jax.nn.log_softmax(response_logits(network, operands, target_tokens, task.separator), axis=-1)
        log_target = jnp.sum(jnp.take_along_axis(log_probs, target_tokens[..., None], axis=-1)[..., 0], axis=-1)
        tokens = jnp.zeros_like(target_tokens)
        for position in range(task.horizon):  # greedy: the output at position h depends on tokens < h only
            logits = response_logits(network, operands, tokens, task.separator)[:, position]
            tokens = tokens.at[:, position].set(jnp.argmax(logits, axis=-1))
        return jnp.sum(tokens * weights, axis=-1), log_target

    return jax.lax.map(one, flats)
