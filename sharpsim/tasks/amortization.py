"""SFT-Sharpening on best-of-N picks of a task, and what the fine-tuned policy gets right (Appendix A.3, Figure 9,
Table 1).

SFT-Sharpening (Section 2.1) draws n prompts x_i ∼ μ, N responses per prompt from π_base, keeps the draw of largest
log π_base (ties: the first drawn) and fits π̂ = argmax_{π∈Π} Σ_i log π(y_i^BoN|x_i) over the tabular class
(``TabularClass``: π̂(·|x) is the empirical law of the picks at x). ``sft_runs`` runs it for many seeds at once with
n ≤ n_max and N ≤ N_max passed as arrays, so one compilation serves every (n, N): it draws n_max prompts and N_max
responses each from the table by inverse CDF (as ``Oracle(table)`` would) and keeps the first n prompts and the
first N draws of each (the first n prompts and N draws of a larger i.i.d. batch are an i.i.d. batch of size n, N).

The fitted policy is scored on every prompt of the task, two ways:

* ``sample``: one draw at temperature 1 from π̂ (the paper's Table 1 evaluation), E = Σ_y π̂(y|x)·value(y);
* ``argmax``: the response of largest π̂(y|x), ties to the larger π_base(y|x).

A prompt with no pick keeps the base's output (temperature-1 draws from π_base, or its greedy output): fine-tuning
from π_base moves nothing there, whereas the tabular MLE's uniform row is a convention of the class, not a decoder.

Tables are restricted to each prompt's support (``support_table``): responses of zero mass are never drawn nor
picked, and a π̂ row is zero off its picks, so the restriction changes no number and keeps the arrays small.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.classes.tabular import TabularClass
from sharpsim.core.policy import TabularPolicy
from sharpsim.core.sampling import normalized_cdf, search_cdf
from sharpsim.core.validation import check_positive_int
from sharpsim.tasks.self_rewards import _check_task
from sharpsim.tasks.task import Task


def support_table(task: Task, size: int) -> dict:
    """The task restricted to each prompt's support, padded with zero mass to ``size`` columns: ``probs``,
    ``correct`` (float), ``log_probs`` (−inf off the support) [X, size], and the greedy output's position
    ``greedy`` [X] (greedy decoding of π_base, read in the full table)."""
    _check_task(task)
    size = check_positive_int(size, "size")
    probs = np.asarray(task.probs)
    live = probs > 0
    largest = int(live.sum(axis=1).max())
    if size < largest:
        raise ValueError(f"size must be at least the largest support of the task ({largest} responses), got {size}")
    order = np.argsort(~live, axis=1, kind="stable")
    order = np.concatenate([order, np.broadcast_to(order[:, -1:], (len(order), max(0, size - order.shape[1])))],
                           axis=1)[:, :size]
    kept = np.take_along_axis(live, order, axis=1) & (np.arange(size) < live.sum(axis=1, keepdims=True))
    greedy = greedy_from_table(probs, task.policy.vocab_size, task.policy.horizon)
    position = np.argmax(order == greedy[:, None], axis=1)
    if not np.take_along_axis(kept, position[:, None], axis=1).all():
        raise ValueError("greedy decoding returned a response of zero mass under π_base")  # cannot happen for a Task
    gather = lambda array: np.where(kept, np.take_along_axis(array, order, axis=1), 0.0)  # noqa: E731
    with np.errstate(divide="ignore"):
        log_probs = np.where(kept, np.log(np.where(kept, np.take_along_axis(probs, order, axis=1), 1.0)), -np.inf)
    return {"probs": gather(probs), "correct": gather(np.asarray(task.correct, dtype=float)),
            "log_probs": log_probs, "greedy": position.astype(np.int64),
            "prompt_probs": np.asarray(task.prompt_probs)}


def greedy_from_table(probs, vocab_size: int, horizon: int) -> np.ndarray:
    """int [X]: greedy decoding's response index for every row of the exact law ``probs`` [X, |V|^H] (lexicographic
    order): at each position the token of largest prefix mass, the smallest token among ties, as ``greedy_decode``
    takes the argmax of the tree's conditionals. On the host, so a task's references need no compilation."""
    probs = np.asarray(probs, dtype=np.float64)
    rows = np.arange(probs.shape[0])
    prefix = np.zeros(probs.shape[0], dtype=np.int64)
    for position in range(horizon):
        children = probs.reshape(probs.shape[0], vocab_size ** (position + 1), -1).sum(axis=-1)
        children = children.reshape(probs.shape[0], vocab_size**position, vocab_size)[rows, prefix]
        prefix = prefix * vocab_size + np.argmax(children, axis=-1)
    return prefix


def bon_reference(probs, values, ns) -> np.ndarray:
    """[K, X]: E[values(pick) | x] for best-of-N under log π_base (ties to the first drawn) at every N of ``ns``, by
    the tie-class law P[pick = y] = (G^N − F^N)·π(y)/(G − F), F and G the π-mass strictly below and at most π(y)
    (``sharpsim.tasks.pick_law`` in numpy, for host-side references)."""
    probs = np.asarray(probs, dtype=np.float64)
    values = np.where(probs > 0, np.asarray(values, dtype=np.float64), 0.0)
    below = (probs[:, None, :] < probs[:, :, None]) & (probs[:, None, :] > 0)
    same = probs[:, None, :] == probs[:, :, None]
    f = np.einsum("xyz,xz->xy", below, probs)
    g = f + np.einsum("xyz,xz->xy", same, probs)
    share = np.where(probs > 0, probs / np.where(g > f, g - f, 1.0), 0.0)
    out = [((np.minimum(g, 1.0) ** n - np.minimum(f, 1.0) ** n) * share * values).sum(axis=1) for n in ns]
    return np.array(out)


def score_fit(fitted_probs, seen, probs, values, greedy, prompt_probs) -> dict:
    """E_x∼μ of ``values`` [X, S] under the fitted policy: ``sample`` (Σ_y π̂·values) and ``argmax`` (values at the
    largest π̂, ties to the larger π_base); prompts not ``seen`` score the base (Σ_y π_base·values, values at the
    greedy output). ``values`` is read only where π_base > 0 or π̂ > 0."""
    safe = lambda v, p: jnp.where(p > 0, v, 0.0)  # noqa: E731  (−inf log-probabilities off the support)
    top = fitted_probs == fitted_probs.max(axis=-1, keepdims=True)
    argmax = jnp.argmax(jnp.where(top, probs, -1.0), axis=-1)
    at = lambda index: jnp.take_along_axis(values, index[:, None], axis=-1)[:, 0]  # noqa: E731
    sample = jnp.where(seen, jnp.sum(fitted_probs * safe(values, fitted_probs), axis=-1),
                       jnp.sum(probs * safe(values, probs), axis=-1))
    decoded = jnp.where(seen, at(argmax), at(greedy))
    return {"sample": sample @ prompt_probs, "argmax": decoded @ prompt_probs}


def run_uniforms(key: jax.Array, seeds: int, max_prompts: int, max_samples: int) -> np.ndarray:
    """float [seeds, max_prompts, 1 + max_samples] in [0, 1): the randomness of ``seeds`` SFT runs (column 0 draws
    the prompt, the others its responses), from numpy's generator seeded by ``key`` (as ``reasoning_task`` does: the
    JAX generator would compile anew for every shape, a few seconds on a CPU)."""
    shape = tuple(check_positive_int(v, name) for v, name in ((seeds, "seeds"), (max_prompts, "max_prompts"),
                                                                (max_samples, "max_samples")))
    rng = np.random.default_rng(np.asarray(jax.random.bits(key, (4,), dtype=np.uint32)))
    return rng.random((shape[0], shape[1], 1 + shape[2]))


def _one_run(uniforms, table, num_prompts, num_samples):
    max_prompts, max_samples = uniforms.shape[0], uniforms.shape[1] - 1
    # inverse-CDF draws, as TabularPolicy.sample_prompts / sample_responses (and so Oracle(table)) make them
    prompts = search_cdf(normalized_cdf(table["prompt_probs"])[None], jnp.zeros((), jnp.int64), uniforms[:, 0])
    responses = search_cdf(normalized_cdf(table["probs"]), prompts[:, None], uniforms[:, 1:])  # [n_max, N_max]
    log_probs = jnp.take_along_axis(table["log_probs"][prompts], responses, axis=-1)
    # BoN over the first N draws: later draws cannot win, ties go to the first drawn (jnp.argmax)
    best = jnp.argmax(jnp.where(jnp.arange(max_samples) < num_samples, log_probs, -jnp.inf), axis=-1)
    picks = jnp.take_along_axis(responses, best[:, None], axis=-1)[:, 0]
    weights = (jnp.arange(max_prompts) < num_prompts).astype(jnp.float64)  # the first n prompts are the data
    base = TabularPolicy.tree_unflatten(None, (table["probs"], table["prompt_probs"]))
    model_class = TabularClass.like(base)
    fitted = model_class.fit(prompts, picks, weights)
    seen = jnp.zeros(model_class.num_prompts).at[prompts].add(weights) > 0
    out = {}
    for name, values in (("acc", table["correct"]), ("loglik", table["log_probs"])):
        scores = score_fit(fitted.probs, seen, table["probs"], values, table["greedy"], table["prompt_probs"])
        out.update({f"{name}_{k}": v for k, v in scores.items()})
    out["seen"] = seen.astype(jnp.float64) @ table["prompt_probs"]
    return out


@jax.jit
def _runs(uniforms, table, num_prompts, num_samples):
    return jax.vmap(_one_run, in_axes=(0, None, None, None))(uniforms, table, num_prompts, num_samples)


def sft_runs(uniforms, table: dict, num_prompts: int, num_samples: int) -> dict:
    """SFT-Sharpening (tabular class, log π_base picks) once per row of ``uniforms`` [seeds, n_max, 1 + N_max]
    (``run_uniforms``) on ``table`` (``support_table``), with n = ``num_prompts`` ≤ n_max prompts and
    N = ``num_samples`` ≤ N_max draws per prompt. Returns per seed: ``acc_sample``, ``acc_argmax``,
    ``loglik_sample``, ``loglik_argmax`` (E_x∼μ of correctness and of log π_base under the fitted policy, see
    ``score_fit``) and ``seen`` (μ-mass of prompts with a pick). Compiles once per (uniforms, table) shape."""
    uniforms = np.asarray(uniforms, dtype=np.float64)
    if uniforms.ndim != 3 or uniforms.shape[2] < 2 or not ((uniforms >= 0) & (uniforms < 1)).all():
        raise ValueError(f"uniforms must be an array [seeds, n_max, 1 + N_max] of numbers in [0, 1) with N_max >= 1, "
                         f"got shape {uniforms.shape}")
    max_prompts, max_samples = uniforms.shape[1], uniforms.shape[2] - 1
    num_prompts = check_positive_int(num_prompts, "num_prompts")
    num_samples = check_positive_int(num_samples, "num_samples")
    if num_prompts > max_prompts:
        raise ValueError(f"num_prompts must be at most n_max = {max_prompts} (uniforms.shape[1]), got {num_prompts}")
    if num_samples > max_samples:
        raise ValueError(f"num_samples must be at most N_max = {max_samples} (uniforms.shape[2] − 1), got "
                         f"{num_samples}")
    TabularPolicy(table["probs"], table["prompt_probs"])  # validates the rows once, outside the trace
    arrays = {k: jnp.asarray(v) for k, v in table.items()}
    out = _runs(jnp.asarray(uniforms), arrays, jnp.int64(num_prompts), jnp.int64(num_samples))
    return {k: np.asarray(v) for k, v in out.items()}
