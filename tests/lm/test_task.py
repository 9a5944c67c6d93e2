"""The modular-sum task: prompt encoding, the checkers and the exact training law, against plain-Python
references."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sharpsim  # noqa: F401  (float64)
from sharpsim.lm.task import ModularSumTask


def python_operands(index, p, k):
    digits = []
    for _ in range(k):
        digits.append(index % p)
        index //= p
    return digits[::-1]


def python_chains(operands, p):
    """Every order's running sums (from the second operand on), as a set of tuples."""
    chains = set()
    for order in itertools.permutations(operands):
        total, chain = order[0], []
        for value in order[1:]:
            total = (total + value) % p
            chain.append(total)
        chains.add(tuple(chain))
    return chains


def python_law(task, prompt):
    """The training chain's law at one prompt by explicit enumeration of orders and slips (dict chain -> mass)."""
    p, k, horizon = task.modulus, task.num_operands, task.horizon
    operands = python_operands(prompt, p, k)
    orders = list(itertools.permutations(range(k)))
    law = {}
    for number, order in enumerate(orders):
        order_mass = (1 - task.order_bias) / len(orders) + (task.order_bias if number == 0 else 0.0)
        total, chain = operands[order[0]], []
        for position in order[1:]:
            total = (total + operands[position]) % p
            chain.append(total)
        law[tuple(chain)] = law.get(tuple(chain), 0.0) + order_mass * (1 - task.error_rate)
        for where in range(horizon):
            for offset in range(1, p):
                slipped = tuple((c + offset) % p if h >= where else c for h, c in enumerate(chain))
                law[slipped] = law.get(slipped, 0.0) + order_mass * task.error_rate / (horizon * (p - 1))
    return law


TASK = ModularSumTask(modulus=3, num_operands=3, order_bias=0.3, error_rate=0.2)


def test_spaces_and_prompt_tokens():
    task = ModularSumTask(modulus=5, num_operands=4)
    assert (task.horizon, task.vocab_size, task.num_prompts, task.separator) == (3, 5, 625, 5)
    indices = np.arange(task.num_prompts)
    expected = np.asarray([python_operands(i, 5, 4) for i in indices])
    np.testing.assert_array_equal(np.asarray(task.prompt_tokens(indices)), expected)
    np.testing.assert_array_equal(np.asarray(task.answers(indices)), expected.sum(-1) % 5)


def test_checkers_against_enumeration():
    task = ModularSumTask(modulus=3, num_operands=4)
    responses = np.asarray(list(itertools.product(range(3), repeat=3)))
    for prompt in range(0, task.num_prompts, 7):
        operands = python_operands(prompt, 3, 4)
        valid = python_chains(operands, 3)
        got_valid = np.asarray(task.is_valid_chain(prompt, responses))
        np.testing.assert_array_equal(got_valid, [tuple(r) in valid for r in responses])
        np.testing.assert_array_equal(np.asarray(task.is_correct(prompt, responses)),
                                      responses[:, -1] == sum(operands) % 3)
        assert {tuple(c) for c in task.valid_chains(prompt)} == valid
    assert len(task.valid_chains(python_index([0, 1, 2, 0], 3))) > 1  # several reasoning paths per answer


def python_index(operands, p):
    index = 0
    for value in operands:
        index = index * p + value
    return index


def test_data_law_matches_enumeration():
    law = np.asarray(TASK.data_law(np.arange(TASK.num_prompts)))
    sequences = list(itertools.product(range(3), repeat=TASK.horizon))
    for prompt in range(TASK.num_prompts):
        reference = python_law(TASK, prompt)
        expected = np.asarray([reference.get(s, 0.0) for s in sequences])
        np.testing.assert_allclose(law[prompt], expected, atol=1e-15)
    np.testing.assert_allclose(law.sum(-1), 1.0, atol=1e-14)


@pytest.mark.slow  # compile-heavy (seconds): the slow suite runs it
def test_samples_follow_data_law():
    # 40000 draws, one fixed key: total variation from the exact law at each of a few prompts well under 0.05
    operands, chains = TASK.sample(jax.random.key(3), 40000)
    index = np.asarray(jnp.sum(operands * jnp.asarray([9, 3, 1]), axis=-1))
    chain_index = np.asarray(jnp.sum(chains * jnp.asarray([3, 1]), axis=-1))
    law = np.asarray(TASK.data_law(np.arange(TASK.num_prompts)))
    for prompt in range(0, TASK.num_prompts, 5):
        rows = chain_index[index == prompt]
        empirical = np.bincount(rows, minlength=9) / len(rows)
        assert 0.5 * np.abs(empirical - law[prompt]).sum() < 0.08, prompt
    assert operands.dtype == jnp.int64 and chains.shape == (40000, 2)


@pytest.mark.slow  # compile-heavy (seconds): the slow suite runs it
def test_sampling_is_deterministic():
    first, second = TASK.sample(jax.random.key(0), 64), TASK.sample(jax.random.key(0), 64)
    for x, y in zip(first, second):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    assert not np.array_equal(np.asarray(TASK.sample(jax.random.key(1), 64)[0]), np.asarray(first[0]))


@pytest.mark.parametrize("kwargs, error, name", [
    ({"modulus": 1}, ValueError, "modulus"),
    ({"modulus": 2.5}, TypeError, "modulus"),
    ({"num_operands": 1}, ValueError, "num_operands"),
    ({"num_operands": 7}, ValueError, "num_operands"),
    ({"modulus": 200, "num_operands": 5}, ValueError, "modulus"),
    ({"order_bias": 1.5}, ValueError, "order_bias"),
    ({"error_rate": -0.1}, ValueError, "error_rate"),
    ({"error_rate": "x"}, TypeError, "error_rate"),
])
def test_bad_task_arguments(kwargs, error, name):
    with pytest.raises(error, match=name):
        ModularSumTask(**kwargs)


def test_bad_checker_input():
    with pytest.raises(ValueError, match="responses"):
        TASK.is_correct(0, np.zeros((4, 3), np.int64))  # H = 2
    with pytest.raises(ValueError, match="responses"):
        TASK.is_valid_chain(0, np.full((4, 2), 3))  # tokens in [0, 3)
    with pytest.raises(ValueError, match="prompts"):
        TASK.answers(27)
    with pytest.raises(TypeError, match="prompts"):
        TASK.prompt_tokens(np.asarray([0.5]))
    with pytest.raises(TypeError, match="batch_size"):
        TASK.sample(jax.random.key(0), 2.0)
