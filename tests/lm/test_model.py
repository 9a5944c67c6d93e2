"""The transformer: a numpy forward pass written here is the reference for the logits; causality; weights on disk."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sharpsim  # noqa: F401  (float64)
from sharpsim.lm.model import (
    Transformer,
    TransformerConfig,
    init_transformer,
    network_arrays,
    network_from_arrays,
    response_logits,
    with_dtype,
)
from sharpsim.lm.task import ModularSumTask

TASK = ModularSumTask(modulus=3, num_operands=3)
CONFIG = TransformerConfig(d_model=8, num_layers=2, num_heads=2, mlp_ratio=2)


def random_network(key=0, scale=1.0, task=TASK, config=CONFIG, dtype=jnp.float32) -> Transformer:
    """A network with weights scaled by ``scale`` (larger: peakier conditionals)."""
    network = init_transformer(config, task.input_vocab_size, task.vocab_size, task.num_operands + task.horizon,
                               jax.random.key(key), dtype=dtype)
    return _scaled(network, scale)


@jax.jit
def _scaled(network, scale):
    return jax.tree.map(lambda w: (w * scale).astype(w.dtype), network)


def numpy_layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + eps) * weight + bias


def numpy_gelu(x):  # the tanh approximation (jax.nn.gelu's default)
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


def numpy_logits(arrays, num_heads, operands, response, separator):
    """float64 [H, |V|] for one prompt and one response, in plain numpy from the weight dictionary."""
    w = {name: np.asarray(value, np.float64) for name, value in arrays.items()}
    inputs = np.concatenate([operands, [separator], response[:-1]]).astype(int)
    x = w[".embedding"][inputs] + w[".positions"][: len(inputs)]
    length, width = x.shape
    head = width // num_heads
    layer = 0
    while f".blocks[{layer}].qkv.weight" in w:
        block = lambda name: w[f".blocks[{layer}].{name}"]  # noqa: E731
        h = numpy_layer_norm(x, block("norm_attention.weight"), block("norm_attention.bias"))
        qkv = (h @ block("qkv.weight").T + block("qkv.bias")).reshape(length, 3, num_heads, head)
        mixed = np.zeros((length, num_heads, head))
        for i in range(num_heads):
            q, k, v = qkv[:, 0, i], qkv[:, 1, i], qkv[:, 2, i]
            scores = q @ k.T / np.sqrt(head)
            scores[np.triu_indices(length, 1)] = -np.inf
            attention = np.exp(scores - scores.max(-1, keepdims=True))
            mixed[:, i] = (attention / attention.sum(-1, keepdims=True)) @ v
        x = x + mixed.reshape(length, width) @ block("out.weight").T + block("out.bias")
        h = numpy_layer_norm(x, block("norm_mlp.weight"), block("norm_mlp.bias"))
        x = x + numpy_gelu(h @ block("up.weight").T + block("up.bias")) @ block("down.weight").T + block("down.bias")
        layer += 1
    x = numpy_layer_norm(x, w[".norm.weight"], w[".norm.bias"])
    return (x @ w[".head.weight"].T + w[".head.bias"])[len(operands):]


def test_logits_match_numpy_forward_in_float64():
    network = with_dtype(random_network(1, scale=2.0), jnp.float64)
    operands = jnp.asarray([[0, 2, 1], [2, 2, 2], [1, 0, 0]])
    responses = jnp.asarray([[1, 2], [0, 0], [2, 1]])
    logits = response_logits(network, operands, responses, TASK.separator)
    assert logits.dtype == jnp.float64 and logits.shape == (3, 2, 3)
    arrays = network_arrays(network)
    for row in range(3):
        expected = numpy_logits(arrays, CONFIG.num_heads, np.asarray(operands[row]), np.asarray(responses[row]),
                                TASK.separator)
        np.testing.assert_allclose(np.asarray(logits[row]), expected, rtol=1e-12, atol=1e-12)


def test_causal_a_later_token_does_not_change_earlier_logits():
    network = with_dtype(random_network(2, scale=2.0), jnp.float64)
    operands = jnp.asarray([[1, 2, 0]] * 3)
    responses = jnp.asarray([[0, 0], [1, 2], [2, 1]])  # differ at position 0 (and 1)
    logits = np.asarray(response_logits(network, operands, responses, TASK.separator))
    np.testing.assert_array_equal(logits[0, 0], logits[1, 0])  # y_1's logits see only the prompt
    assert not np.allclose(logits[0, 1], logits[1, 1])  # y_2's logits see y_1


def test_all_leaves_are_arrays_and_jit_takes_the_network():
    network = random_network()
    leaves = jax.tree.leaves(network)
    assert leaves and all(isinstance(leaf, jax.Array) for leaf in leaves)
    assert all(leaf.dtype == jnp.float32 for leaf in leaves)
    operands, responses = jnp.asarray([[0, 1, 2]]), jnp.asarray([[1, 1]])
    eager = response_logits(network, operands, responses, 3)
    jitted = jax.jit(response_logits, static_argnums=3)(network, operands, responses, 3)
    np.testing.assert_allclose(np.asarray(eager), np.asarray(jitted), rtol=1e-6)


def test_weights_round_trip_through_npz(tmp_path):
    network = random_network(3)
    np.savez(tmp_path / "w.npz", **network_arrays(network))
    with np.load(tmp_path / "w.npz", allow_pickle=False) as arrays:
        restored = network_from_arrays(random_network(4), dict(arrays))
    for a, b in zip(jax.tree.leaves(network), jax.tree.leaves(restored)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_bad_weights_and_config():
    arrays = network_arrays(random_network())
    with pytest.raises(ValueError, match="missing"):
        network_from_arrays(random_network(), {k: v for k, v in arrays.items() if k != ".embedding"})
    with pytest.raises(ValueError, match=r"\.positions"):
        network_from_arrays(random_network(), dict(arrays, **{".positions": np.zeros((2, 2))}))
    with pytest.raises(ValueError, match="num_heads"):
        TransformerConfig(d_model=10, num_heads=4)
    with pytest.raises(ValueError, match="num_layers"):
        TransformerConfig(num_layers=0)
    with pytest.raises(TypeError, match="d_model"):
        TransformerConfig(d_model=8.0)
    with pytest.raises(TypeError, match="config"):
        init_transformer({"d_model": 8}, 4, 3, 5, jax.random.key(0))
