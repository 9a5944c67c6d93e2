"""A small decoder-only transformer (equinox) over a task's prompt and response tokens: the network behind the
trained π_base (Section 1's autoregressive language model, π(y|x) = Π_h π_h(y_h | y_{<h}, x)).

Input: the k prompt tokens, a separator, then the response tokens y_1, …, y_{H−1}; the outputs at the separator and
at y_1, …, y_{H−1} are the logits of y_1, …, y_H over the response vocabulary (causal attention, so the output at
position i sees inputs ≤ i only). Pre-layer-norm blocks, learned position embeddings, GELU MLPs (tanh approximation).

Every leaf of a ``Transformer`` is an array (configuration is static), so the network is a plain pytree: it passes
through ``jax.jit``/``vmap``/``grad`` without equinox's filtered transformations, and a policy holding it has the
weights as leaves. The computation runs in the weights' dtype: training uses float32, the policy float64.
Weights are saved as ``.npz`` (one array per leaf, named by its path) next to a JSON of the configuration.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.core.validation import check_allocation, check_positive_int

__all__ = ["LayerNorm", "Linear", "Transformer", "TransformerConfig", "init_transformer", "network_arrays",
           "network_from_arrays", "response_logits", "with_dtype"]

# full float32 (or float64) matrix products on every backend: GPUs would otherwise use TF32 for float32, and the
# trained weights would then depend on the device beyond rounding
_PRECISION = jax.lax.Precision.HIGHEST


@dataclass(frozen=True)
class TransformerConfig:
    """Width ``d_model`` (a multiple of ``num_heads``), depth ``num_layers``, MLP width ``mlp_ratio``·d_model."""

    d_model: int = 32
    num_layers: int = 2
    num_heads: int = 4
    mlp_ratio: int = 4

    def __post_init__(self):
        for field in dataclasses.fields(self):
            object.__setattr__(self, field.name, check_positive_int(getattr(self, field.name), field.name))
        if self.d_model % self.num_heads:
            raise ValueError(f"d_model must be a multiple of num_heads; got d_model={self.d_model}, "
                             f"num_heads={self.num_heads}")


class Linear(eqx.Module):
    """x ↦ x Wᵀ + b on the last axis; ``weight`` [out, in], ``bias`` [out]."""

    weight: jax.Array
    bias: jax.Array

    def __call__(self, x: jax.Array) -> jax.Array:
        return jnp.matmul(x, self.weight.T, precision=_PRECISION) + self.bias


class LayerNorm(eqx.Module):
    """Layer normalization over the last axis (ε = 1e-5) with a learned scale and shift."""

    weight: jax.Array
    bias: jax.Array

    def __call__(self, x: jax.Array) -> jax.Array:
        mean = jnp.mean(x, axis=-1, keepdims=True)
        variance = jnp.mean(jnp.square(x - mean), axis=-1, keepdims=True)
        return (x - mean) * jax.lax.rsqrt(variance + 1e-5) * self.weight + self.bias


class _Block(eqx.Module):
    norm_attention: LayerNorm
    qkv: Linear
    out: Linear
    norm_mlp: LayerNorm
    up: Linear
    down: Linear
    num_heads: int = eqx.field(static=True)

    def __call__(self, x: jax.Array) -> jax.Array:
        length, width = x.shape
        head = width // self.num_heads
        qkv = self.qkv(self.norm_attention(x)).reshape(length, 3, self.num_heads, head)
        queries, keys, values = qkv[:, 0], qkv[:, 1], qkv[:, 2]
        scores = jnp.einsum("qhd,khd->hqk", queries, keys, precision=_PRECISION) / math.sqrt(head)
        causal = jnp.tril(jnp.ones((length, length), dtype=bool))
        weights = jax.nn.softmax(jnp.where(causal, scores, -jnp.inf), axis=-1)
        mixed = jnp.einsum("hqk,khd->qhd", weights, values, precision=_PRECISION).reshape(length, width)
        x = x + self.out(mixed)
        return x + self.down(jax.nn.gelu(self.up(self.norm_mlp(x))))


class Transformer(eqx.Module):
    """Decoder-only transformer: tokens [L] (input vocabulary) -> logits [L, output vocabulary]."""

    embedding: jax.Array
    positions: jax.Array
    blocks: tuple
    norm: LayerNorm
    head: Linear

    def __call__(self, tokens: jax.Array) -> jax.Array:
        x = self.embedding[tokens] + self.positions[: tokens.shape[-1]]
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x))


def init_transformer(config: TransformerConfig, input_vocab: int, output_vocab: int, length: int,
                     key: jax.Array, dtype=jnp.float32) -> Transformer:
    """A freshly initialized network: linear weights and biases uniform on ±1/√fan_in (as equinox and PyTorch
    do), embeddings uniform with standard deviation 0.02, layer norms the identity. All draws come from one
    ``jax.random.uniform`` call (many small random calls make XLA's compilation slow on CPU)."""
    if not isinstance(config, TransformerConfig):
        raise TypeError(f"config must be a TransformerConfig, got {type(config).__name__}")
    input_vocab = check_positive_int(input_vocab, "input_vocab")
    output_vocab = check_positive_int(output_vocab, "output_vocab")
    length = check_positive_int(length, "length")
    try:
        dtype = jnp.dtype(dtype)
    except (TypeError, ValueError):
        raise TypeError(f"dtype must be a floating dtype (float32 or float64), got {dtype!r}") from None
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(f"dtype must be a floating dtype (float32 or float64), got {dtype}")
    width, hidden = config.d_model, config.mlp_ratio * config.d_model
    weights = (input_vocab + length) * width + output_vocab * (width + 1) + config.num_layers * (
        4 * width * (width + 1) + 2 * hidden * width + hidden + width + 4 * width)
    # the uniforms, their pieces and the weights: about three copies
    check_allocation((3, weights), f"the network for input_vocab={input_vocab}, output_vocab={output_vocab}, "
                     f"length={length}", itemsize=dtype.itemsize)
    return _init(config, input_vocab, output_vocab, length, key, dtype)


@partial(jax.jit, static_argnums=(0, 1, 2, 3, 5))
def _init(config, input_vocab, output_vocab, length, key, dtype) -> Transformer:
    width, hidden = config.d_model, config.mlp_ratio * config.d_model
    linear_shapes = [(3 * width, width), (width, width), (hidden, width), (width, hidden)] * config.num_layers
    linear_shapes.append((output_vocab, width))
    sizes = [input_vocab * width, length * width] + [rows * (columns + 1) for rows, columns in linear_shapes]
    uniforms = 2.0 * jax.random.uniform(key, (sum(sizes),), dtype=dtype) - 1.0  # on [−1, 1)
    pieces = iter(jnp.split(uniforms, np.cumsum(sizes)[:-1]))
    embedding_scale = 0.02 * math.sqrt(3.0)  # a uniform on ±a has standard deviation a/√3
    embedding = embedding_scale * next(pieces).reshape(input_vocab, width)
    positions = embedding_scale * next(pieces).reshape(length, width)

    def linear(shape):
        rows, columns = shape
        values = next(pieces) / math.sqrt(columns)
        return Linear(values[: rows * columns].reshape(rows, columns), values[rows * columns:])

    def norm():
        return LayerNorm(jnp.ones(width, dtype), jnp.zeros(width, dtype))

    blocks = []
    for _ in range(config.num_layers):
        qkv, out, up, down = (linear(shape) for shape in linear_shapes[:4])
        blocks.append(_Block(norm(), qkv, out, norm(), up, down, num_heads=config.num_heads))
    return Transformer(embedding, positions, tuple(blocks), norm(), linear(linear_shapes[-1]))


@partial(jax.jit, static_argnums=3)
def response_logits(network: Transformer, operands: jax.Array, responses: jax.Array, separator: int) -> jax.Array:
    """float [..., H, |V|]: the logits of y_h given (x, y_{<h}) for every h, by one teacher-forced pass.

    ``operands`` [..., k] and ``responses`` [..., H] share their leading shape; y_H is never read."""
    leading = responses.shape[:-1]
    separators = jnp.full(leading + (1,), separator, dtype=responses.dtype)
    inputs = jnp.concatenate([operands.astype(responses.dtype), separators, responses[..., :-1]], axis=-1)
    flat = inputs.reshape((-1, inputs.shape[-1]))
    logits = jax.vmap(network)(flat)[:, operands.shape[-1]:]
    return logits.reshape(leading + logits.shape[1:])


def with_dtype(network: Transformer, dtype) -> Transformer:
    """The network with every weight cast to ``dtype`` (float32 -> float64 is exact)."""
    return _cast(network, jnp.dtype(dtype))


@partial(jax.jit, static_argnums=1)
def _cast(network, dtype):
    return jax.tree.map(lambda leaf: leaf.astype(dtype), network)


def network_arrays(network: Transformer) -> dict[str, np.ndarray]:
    """{leaf path: array} of every weight, for ``np.savez`` (portable; no pickle)."""
    leaves = jax.tree_util.tree_flatten_with_path(network)[0]
    return {jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in leaves}


def network_from_arrays(skeleton: Transformer, arrays) -> Transformer:
    """``skeleton`` (a network of the right configuration) with its weights replaced by ``arrays`` (a mapping
    from leaf path to array, as ``network_arrays`` writes); ``ValueError`` on a missing, extra or misshapen one."""
    leaves, treedef = jax.tree_util.tree_flatten_with_path(skeleton)
    names = [jax.tree_util.keystr(path) for path, _ in leaves]
    missing, extra = set(names) - set(arrays), set(arrays) - set(names)
    if missing or extra:
        raise ValueError(f"arrays do not match the network: missing {sorted(missing)}, unexpected {sorted(extra)}")
    replaced = []
    for name, (_, leaf) in zip(names, leaves):
        array = np.asarray(arrays[name])
        if array.shape != leaf.shape:
            raise ValueError(f"arrays[{name!r}] has shape {array.shape}; the network needs {leaf.shape}")
        replaced.append(jnp.asarray(array, dtype=leaf.dtype))
    return jax.tree_util.tree_unflatten(treedef, replaced)
