"""Training the transformer π_base on its task (``train_lm``), and its weights on disk (``save_trained``,
``load_trained``, ``load_policy``).

Deterministic from the seed: ``jax.random.key(seed)`` splits into the initialization key, the data key (step t's
batch is drawn from ``fold_in(data_key, t)``) and the evaluation key. The learning rate (linear warmup, then
inverse square-root decay) does not depend on the total number of steps, so a run of K steps is exactly the first
K steps of any longer run: ``train_lm(config, seed, steps=K)`` reproduces the committed checkpoint at step K.
Training runs in float32 (the network's dtype; optax's state follows it); the policy built from the weights
computes in float64. Nothing here is device-specific: on a GPU the same code runs there.

On disk (a directory): ``config.json`` (the ``LMConfig``, the seed and the steps trained), ``final.npz`` and
``checkpoint_STEP.npz`` for the other checkpoints (one array per weight, named by its path), and ``log.json``
(the training loss at every step, the held-out loss at every checkpoint).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm.auto import tqdm

from sharpsim.core.validation import check_allocation, check_in_interval, check_positive_int
from sharpsim.theory.checks import check_flag
from sharpsim.lm.model import (
    Transformer,
    TransformerConfig,
    init_transformer,
    network_arrays,
    network_from_arrays,
    response_logits,
)
from sharpsim.lm.task import ModularSumTask

__all__ = ["DEFAULT_WEIGHTS", "LMConfig", "TrainedLM", "load_policy", "load_trained", "save_trained", "train_lm"]

DEFAULT_WEIGHTS = Path(__file__).parent / "weights" / "default"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class LMConfig:
    """Everything that determines a training run besides the seed.

    ``steps``: optimizer steps; ``checkpoint_steps``: steps at which the weights are kept (those ≤ ``steps``; step 0
    is the initialization); ``eval_size``: held-out examples for the checkpoint losses."""

    task: ModularSumTask = field(default_factory=ModularSumTask)
    model: TransformerConfig = field(default_factory=TransformerConfig)
    steps: int = 3000
    batch_size: int = 128
    learning_rate: float = 3e-3
    warmup_steps: int = 100
    weight_decay: float = 0.01
    clip_norm: float = 1.0
    checkpoint_steps: tuple = (0, 25, 50, 100, 200, 300, 500, 1000, 2000, 3000)
    eval_size: int = 4096

    def __post_init__(self):
        if not isinstance(self.task, ModularSumTask):
            raise TypeError(f"task must be a ModularSumTask, got {type(self.task).__name__}")
        if not isinstance(self.model, TransformerConfig):
            raise TypeError(f"model must be a TransformerConfig, got {type(self.model).__name__}")
        for name in ("steps", "batch_size", "warmup_steps", "eval_size"):
            object.__setattr__(self, name, check_positive_int(getattr(self, name), name))
        for name, low in (("learning_rate", 0.0), ("clip_norm", 0.0)):
            check_in_interval(getattr(self, name), name, low, np.inf, closed_low=False, closed_high=False)
        check_in_interval(self.weight_decay, "weight_decay", 0.0, np.inf, closed_low=True, closed_high=False)
        try:
            steps = tuple(sorted({check_positive_int(step, "checkpoint_steps", minimum=0)
                                  for step in self.checkpoint_steps}))
        except TypeError:
            raise TypeError(f"checkpoint_steps must be a sequence of integers >= 0, got {self.checkpoint_steps!r}") \
                from None
        object.__setattr__(self, "checkpoint_steps", steps)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "LMConfig":
        if not isinstance(values, dict):
            raise TypeError(f"values must be a dict (LMConfig.to_dict()), got {type(values).__name__}")
        unknown = sorted(set(values) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"values has keys that are not LMConfig fields: {unknown}")
        try:
            values = dict(values)
            values["task"] = ModularSumTask(**values.get("task", {}))
            values["model"] = TransformerConfig(**values.get("model", {}))
            values["checkpoint_steps"] = tuple(values.get("checkpoint_steps", ()))
            return cls(**values)
        except (TypeError, ValueError) as error:
            raise type(error)(f"values do not describe an LMConfig: {error}") from None


@dataclass(frozen=True)
class TrainedLM:
    """A training run: the final ``network`` (float32), the ``checkpoints`` {step: network}, the training loss
    at every step (``losses`` [steps], mean cross-entropy per response token, nats) and the held-out loss at
    every checkpoint (``eval_losses`` {step: nats})."""

    config: LMConfig
    seed: int
    steps: int
    network: Transformer
    checkpoints: dict
    losses: np.ndarray
    eval_losses: dict

    def policy(self, step: int | None = None, prompt_probs=None):
        """The ``TransformerPolicy`` of the final network, or of the checkpoint at ``step``."""
        from sharpsim.lm.policy import TransformerPolicy

        if step is None:
            return TransformerPolicy(self.network, self.config.task, prompt_probs)
        step = check_positive_int(step, "step", minimum=0)
        if step not in self.checkpoints:
            raise ValueError(f"step must be one of the checkpoints {sorted(self.checkpoints)}, got {step!r}")
        return TransformerPolicy(self.checkpoints[step], self.config.task, prompt_probs)


def learning_rate(config: LMConfig, step):
    """Linear warmup to ``learning_rate`` over ``warmup_steps``, then ∝ 1/√step (independent of ``steps``)."""
    t = jnp.asarray(step, jnp.float32) + 1.0
    warmup = float(config.warmup_steps)
    return config.learning_rate * jnp.minimum(t / warmup, jnp.sqrt(warmup / t))


def _loss(network, task: ModularSumTask, operands, chains):
    logits = response_logits(network, operands, chains, task.separator)
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, chains))


def _optimizer(config: LMConfig) -> optax.GradientTransformation:
    return optax.chain(optax.clip_by_global_norm(config.clip_norm),
                       optax.adamw(lambda t: learning_rate(config, t), b1=0.9, b2=0.98,
                                   weight_decay=config.weight_decay))


# The optimizer works on one flat float32 vector of all weights (the network is rebuilt from it inside the loss):
# AdamW is elementwise and the clip uses the global norm, so this is the same algorithm as on the pytree, with far
# fewer operations for XLA to compile. The steps are module-level and keyed on the (hashable) config, so every
# run of one configuration shares one compilation.
def _skeleton(config: LMConfig):
    task = config.task
    return jax.eval_shape(lambda: init_transformer(config.model, task.input_vocab_size, task.vocab_size,
                                                   task.num_operands + task.horizon, jax.random.key(0)))


def _flatten(network) -> jax.Array:
    return jnp.concatenate([jnp.ravel(leaf) for leaf in jax.tree.leaves(network)])


def _unflatten(config: LMConfig, flat: jax.Array):
    shapes, treedef = jax.tree.flatten(_skeleton(config))
    sizes = [math.prod(shape.shape) for shape in shapes]
    pieces = jnp.split(flat, np.cumsum(sizes)[:-1])
    return jax.tree.unflatten(treedef, [piece.reshape(shape.shape) for piece, shape in zip(pieces, shapes)])


@partial(jax.jit, static_argnums=0)
def _train_step(config: LMConfig, data_key, flat, state, step):
    operands, chains = config.task.sample(jax.random.fold_in(data_key, step), config.batch_size)
    loss, grads = jax.value_and_grad(lambda w: _loss(_unflatten(config, w), config.task, operands, chains))(flat)
    updates, state = _optimizer(config).update(grads, state, flat)
    return optax.apply_updates(flat, updates), state, loss


@partial(jax.jit, static_argnums=0)
def _initial_state(config: LMConfig, flat):
    return _optimizer(config).init(flat)


@partial(jax.jit, static_argnums=0)
def _held_out_loss(config: LMConfig, flat, eval_key):
    operands, chains = config.task.sample(eval_key, config.eval_size)
    return _loss(_unflatten(config, flat), config.task, operands, chains)


_unflatten_jit = jax.jit(_unflatten, static_argnums=0)


def train_lm(config: LMConfig | None = None, seed: int = 0, *, steps: int | None = None,
             progress: bool = True) -> TrainedLM:
    """Train the transformer on ``config.task`` for ``steps`` (default ``config.steps``) optimizer steps of AdamW
    from ``seed`` (module docstring: deterministic, a shorter run is a prefix of a longer one)."""
    config = LMConfig() if config is None else config
    if not isinstance(config, LMConfig):
        raise TypeError(f"config must be an LMConfig, got {type(config).__name__}")
    seed = check_positive_int(seed, "seed", minimum=0)
    if seed >= 2**32:
        raise ValueError(f"seed must lie in [0, 2**32), got {seed}")
    steps = config.steps if steps is None else check_positive_int(steps, "steps")
    check_allocation((steps,), "steps (the training loss of every step)")
    progress = check_flag(progress, "progress")
    task = config.task
    init_key, data_key, eval_key = jax.random.split(jax.random.key(seed), 3)
    network = init_transformer(config.model, task.input_vocab_size, task.vocab_size,
                               task.num_operands + task.horizon, init_key, dtype=jnp.float32)
    flat = _flatten(network)
    state = _initial_state(config, flat)
    checkpoints, eval_losses, losses = {}, {}, []
    keep = {step for step in config.checkpoint_steps if step <= steps} | {steps}
    if 0 in keep:
        checkpoints[0], eval_losses[0] = network, float(_held_out_loss(config, flat, eval_key))
    with tqdm(total=steps, desc="train-lm", disable=not progress, unit="step") as bar:
        for step in range(steps):
            flat, state, loss = _train_step(config, data_key, flat, state, jnp.asarray(step, jnp.int32))
            losses.append(loss)
            if step + 1 in keep:
                network = _unflatten_jit(config, flat)
                checkpoints[step + 1] = network
                eval_losses[step + 1] = float(_held_out_loss(config, flat, eval_key))
                bar.set_postfix(eval_loss=f"{eval_losses[step + 1]:.4f}")
            bar.update(1)
    return TrainedLM(config, seed, steps, network, checkpoints, np.asarray(jnp.stack(losses), dtype=np.float64),
                     eval_losses)


# --- on disk -----------------------------------------------------------------------------------------
def save_trained(trained: TrainedLM, directory) -> Path:
    """Write a run to ``directory`` (module docstring); returns the directory."""
    if not isinstance(trained, TrainedLM):
        raise TypeError(f"trained must be a TrainedLM, got {type(trained).__name__}")
    directory = _as_path(directory)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"directory {str(directory)!r} is a file, not a folder")
    directory.mkdir(parents=True, exist_ok=True)
    meta = {"format_version": FORMAT_VERSION, "seed": trained.seed, "steps": trained.steps,
            "config": trained.config.to_dict(), "dtype": "float32"}
    (directory / "config.json").write_text(json.dumps(meta, indent=1) + "\n")
    np.savez(directory / "final.npz", **network_arrays(trained.network))
    for step, network in trained.checkpoints.items():
        if step == trained.steps:
            continue  # final.npz
        np.savez(directory / f"checkpoint_{step:06d}.npz", **network_arrays(network))
    log = {"losses": [float(x) for x in trained.losses],
           "eval_losses": {str(step): loss for step, loss in sorted(trained.eval_losses.items())}}
    (directory / "log.json").write_text(json.dumps(log) + "\n")
    return directory


def _as_path(directory) -> Path:
    try:
        return Path(os.fspath(directory))
    except TypeError:
        raise TypeError(f"directory must be a path (str or os.PathLike), got {type(directory).__name__}") from None


def load_trained(directory=None) -> TrainedLM:
    """Read a run written by ``save_trained`` (default: the committed weights, ``DEFAULT_WEIGHTS``)."""
    directory = DEFAULT_WEIGHTS if directory is None else _as_path(directory)
    config_file = directory / "config.json"
    if not config_file.is_file():
        raise ValueError(f"directory {str(directory)!r} holds no trained model (no config.json)")
    meta = json.loads(config_file.read_text())
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{config_file} has format_version {meta.get('format_version')!r}; this sharpsim reads "
                         f"{FORMAT_VERSION}")
    config = LMConfig.from_dict(meta["config"])
    task = config.task
    skeleton = init_transformer(config.model, task.input_vocab_size, task.vocab_size,
                                task.num_operands + task.horizon, jax.random.key(0), dtype=jnp.float32)

    def read(path):
        with np.load(path, allow_pickle=False) as arrays:
            return network_from_arrays(skeleton, dict(arrays))

    checkpoints = {int(path.stem.split("_")[1]): read(path) for path in sorted(directory.glob("checkpoint_*.npz"))}
    log = json.loads((directory / "log.json").read_text())
    steps, final = int(meta["steps"]), read(directory / "final.npz")
    checkpoints[steps] = final
    return TrainedLM(config, int(meta["seed"]), steps, final, dict(sorted(checkpoints.items())),
                     np.asarray(log["losses"], dtype=np.float64),
                     {int(step): float(loss) for step, loss in log["eval_losses"].items()})


def load_policy(step: int | None = None, directory=None, prompt_probs=None):
    """The ``TransformerPolicy`` of the committed weights (or of ``directory``), final or at checkpoint ``step``."""
    return load_trained(directory).policy(step, prompt_probs)
