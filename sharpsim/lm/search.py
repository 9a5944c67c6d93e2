"""The exact sequence argmax of an autoregressive policy by best-first search over prefixes, and what it gives:
C_cov (Eq. 6), the margin (Assumption 4.2) and the coverage profile P_x[π(y*(x)|x) ≥ 1/N] (Proposition C.1's
best-of-N succeeds at x about when N·π(y*(x)|x) is large), without enumerating V^H (Proposition E.1: the argmax is
NP-hard in general, so the search is exact but its cost is not bounded; hence the node cap).

Why it is exact: π(y_{1:h}|x) ≥ π(y|x) for every completion y of a prefix y_{1:h} (each further conditional is
≤ 1; in floating point log-conditionals are ≤ 0, so the sums only decrease). The search keeps a frontier of prefixes
ordered by mass, always expands the heaviest, records complete sequences, and prunes any prefix whose mass is below
the k-th best complete sequence found. It stops when no frontier prefix is heavier than that sequence: then the
k sequences found are the k most likely, in order (ties broken by discovery order; equal masses are kept).

The node cap. ``max_nodes`` bounds the prefixes expanded per prompt (each expansion is one forward pass). A prompt
that hits it is reported in ``ArgmaxSearch.capped``, its sequences are the best found so far (lower bounds on the
top masses) and ``frontier_bound`` is an upper bound on the mass of anything it missed; ``on_cap`` chooses a
``RuntimeWarning`` (default), a ``RuntimeError`` or silence. The coverage functions below refuse a capped search
(``ValueError``), since their answers would not be exact.

Works for any ``AutoregressivePolicy`` (tree, Markov, linear softmax, ``TransformerPolicy``): the conditionals come
from its ``next_token_log_probs``, batched across prompts and prefixes in one compiled call per round.
"""

from __future__ import annotations

import heapq
import warnings
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.core.validation import check_allocation, check_positive_int
from sharpsim.policies.autoregressive import AutoregressivePolicy, check_prompts

__all__ = ["ArgmaxSearch", "argmax_search", "lm_coverage_coefficient", "lm_coverage_profile", "lm_margin"]

DEFAULT_MAX_NODES = 10_000
_ON_CAP = ("warn", "raise", "ignore")
_SMALL_BLOCK, _LARGE_BLOCK = 32, 512  # rows per compiled call


@dataclass(frozen=True)
class ArgmaxSearch:
    """The result of ``argmax_search`` over prompts [n] (numpy arrays).

    ``sequences`` int [n, k, H] and ``log_probs`` float64 [n, k]: the k most likely sequences per prompt, best first
    (−1 and −inf where fewer than k sequences have positive mass). ``nodes`` int [n]: prefixes expanded.
    ``capped`` bool [n]: the node cap stopped the search there (results not exact). ``frontier_bound`` float64 [n]:
    the largest log-mass left on the frontier (−inf when the search finished; an upper bound on any sequence not
    returned)."""

    prompts: np.ndarray
    sequences: np.ndarray
    log_probs: np.ndarray
    nodes: np.ndarray
    capped: np.ndarray
    frontier_bound: np.ndarray

    @property
    def argmax(self) -> np.ndarray:
        """int [n, H]: y*(x)."""
        return self.sequences[:, 0]

    @property
    def argmax_log_prob(self) -> np.ndarray:
        """float64 [n]: log π(y*(x)|x)."""
        return self.log_probs[:, 0]


def _check_policy(policy) -> None:
    if not isinstance(policy, AutoregressivePolicy):
        raise TypeError(f"policy must be an AutoregressivePolicy (tree, Markov, linear softmax or transformer), "
                        f"got {type(policy).__name__}")


@jax.jit
def _conditionals(policy, prompts, tokens, positions):
    return jax.vmap(policy._next_token_log_probs)(prompts, tokens, positions)


def _evaluate(policy, prompts, tokens, positions) -> np.ndarray:
    """float64 [m, |V|]: log π_h(·|prefix, x) for m rows, in blocks of two fixed sizes (two compilations)."""
    rows = len(prompts)
    size = _SMALL_BLOCK if rows <= _SMALL_BLOCK else _LARGE_BLOCK
    padded = -(-rows // size) * size
    pad = padded - rows
    prompts = np.concatenate([prompts, np.zeros(pad, np.int64)])
    tokens = np.concatenate([tokens, np.zeros((pad, tokens.shape[1]), np.int64)])
    positions = np.concatenate([positions, np.zeros(pad, np.int64)])
    blocks = [np.asarray(_conditionals(policy, jnp.asarray(prompts[start:start + size]),
                                       jnp.asarray(tokens[start:start + size]),
                                       jnp.asarray(positions[start:start + size])), dtype=np.float64)
              for start in range(0, padded, size)]
    return np.concatenate(blocks)[:rows]


def argmax_search(policy, prompts=None, *, top_k: int = 1, max_nodes: int = DEFAULT_MAX_NODES,
                  on_cap: str = "warn", expand_per_round: int = 1) -> ArgmaxSearch:
    """The ``top_k`` most likely sequences of ``policy`` at each of ``prompts`` (default: every prompt), exact
    unless the node cap ``max_nodes`` (prefixes expanded per prompt) is hit; see the module docstring.

    ``expand_per_round``: heaviest frontier prefixes expanded per prompt and round (more per round means fewer
    compiled calls but possibly more expansions; the result is exact either way)."""
    _check_policy(policy)
    top_k = check_positive_int(top_k, "top_k")
    # no search expands 2^62 prefixes: the cap keeps the node counts in int64
    max_nodes = min(check_positive_int(max_nodes, "max_nodes"), 2**62)
    expand_per_round = min(check_positive_int(expand_per_round, "expand_per_round"), 2**62)
    if not isinstance(on_cap, str) or on_cap not in _ON_CAP:
        raise ValueError(f"on_cap must be one of {_ON_CAP}, got {on_cap!r}")
    if prompts is None:
        prompts = np.arange(policy.num_prompts)
    else:
        prompts = np.asarray(check_prompts(prompts, policy.num_prompts))
    if prompts.ndim != 1:
        raise ValueError(f"prompts must be a 1-d array of prompt indices, got shape {prompts.shape}")
    check_allocation((max(len(prompts), 1), top_k, policy.horizon + 1), "top_k (the sequences returned per prompt)")
    horizon = policy.horizon
    n = len(prompts)
    frontiers = [[(0.0, ())] for _ in range(n)]  # heaps of (−log-mass, prefix)
    found = [[] for _ in range(n)]  # sorted lists of (−log-mass, sequence), at most top_k
    nodes = np.zeros(n, np.int64)
    capped = np.zeros(n, bool)

    def threshold(i):
        return -found[i][-1][0] if len(found[i]) == top_k else -np.inf

    active = set(range(n))
    while active:
        rows, prefixes, masses = [], [], []
        for i in sorted(active):
            frontier, bar = frontiers[i], threshold(i)
            while frontier and -frontier[0][0] < bar:  # pruned: no completion can beat the k-th best found
                heapq.heappop(frontier)
            if not frontier:
                active.discard(i)
                continue
            if nodes[i] >= max_nodes:
                capped[i] = True
                active.discard(i)
                continue
            for _ in range(min(expand_per_round, max_nodes - nodes[i])):
                if not frontier or -frontier[0][0] < bar:
                    break
                negative, prefix = heapq.heappop(frontier)
                rows.append(i), prefixes.append(prefix), masses.append(-negative)
                nodes[i] += 1
        if not rows:
            break
        tokens = np.zeros((len(rows), horizon), np.int64)
        for row, prefix in enumerate(prefixes):
            tokens[row, :len(prefix)] = prefix
        positions = np.asarray([len(prefix) for prefix in prefixes], np.int64)
        conditionals = _evaluate(policy, prompts[rows], tokens, positions)
        for row, i in enumerate(rows):
            children = masses[row] + conditionals[row]
            prefix = prefixes[row]
            complete = len(prefix) + 1 == horizon
            for token in np.argsort(-children, kind="stable"):
                mass = float(children[token])
                if mass == -np.inf or mass < threshold(i):
                    break  # sorted: every later child is lighter
                child = prefix + (int(token),)
                if complete:
                    _insert(found[i], (-mass, child), top_k)
                else:
                    heapq.heappush(frontiers[i], (-mass, child))
    return _result(prompts, found, frontiers, nodes, capped, top_k, horizon, on_cap, max_nodes)


def _insert(best: list, item: tuple, top_k: int) -> None:
    # stable among equal masses: a later equal-mass sequence goes after the earlier ones
    position = len(best)
    while position > 0 and best[position - 1][0] > item[0]:
        position -= 1
    best.insert(position, item)
    del best[top_k:]


def _result(prompts, found, frontiers, nodes, capped, top_k, horizon, on_cap, max_nodes) -> ArgmaxSearch:
    n = len(prompts)
    sequences = np.full((n, top_k, horizon), -1, np.int64)
    log_probs = np.full((n, top_k), -np.inf)
    bound = np.full(n, -np.inf)
    for i in range(n):
        for j, (negative, sequence) in enumerate(found[i]):
            sequences[i, j], log_probs[i, j] = sequence, -negative
        if capped[i] and frontiers[i]:
            bound[i] = -frontiers[i][0][0]
    if capped.any() and on_cap != "ignore":
        message = (f"argmax_search hit its node cap max_nodes={max_nodes} at {int(capped.sum())} of {n} prompts "
                   f"(first: prompt {int(prompts[np.argmax(capped)])}); their results are the best found so far, "
                   "not exact (see ArgmaxSearch.capped and frontier_bound); raise max_nodes")
        if on_cap == "raise":
            raise RuntimeError(message)
        warnings.warn(message, RuntimeWarning, stacklevel=3)
    return ArgmaxSearch(prompts, sequences, log_probs, nodes, capped, bound)


# --- coverage of a learned model ------------------------------------------------------------------------
def _complete_search(policy, search, top_k: int, max_nodes: int) -> ArgmaxSearch:
    """The search over every prompt of ``policy`` (run here when ``search`` is None), refused if capped."""
    _check_policy(policy)
    max_nodes = check_positive_int(max_nodes, "max_nodes")
    if search is None:
        search = argmax_search(policy, top_k=top_k, max_nodes=max_nodes, on_cap="ignore")
    elif not isinstance(search, ArgmaxSearch):
        raise TypeError(f"search must be an ArgmaxSearch (from argmax_search), got {type(search).__name__}")
    if not np.array_equal(search.prompts, np.arange(policy.num_prompts)):
        raise ValueError(f"search must cover every prompt 0..{policy.num_prompts - 1} in order (argmax_search "
                         "with prompts=None)")
    if search.log_probs.shape[1] < top_k:
        raise ValueError(f"search has top_k={search.log_probs.shape[1]}; this quantity needs top_k >= {top_k}")
    if search.capped.any():
        raise ValueError(f"search hit its node cap at {int(search.capped.sum())} prompts, so π(y*|x) is not exact "
                         "there; rerun argmax_search with a larger max_nodes")
    return search


def lm_coverage_coefficient(policy, search: ArgmaxSearch | None = None, *,
                            max_nodes: int = DEFAULT_MAX_NODES) -> float:
    """C_cov = E_{x∼μ}[1/π(y*(x)|x)] (Eq. 6) with y*(x) the most likely sequence found by ``argmax_search``
    (exact; a tie of the top two is reported by ``lm_margin`` = 0, and then C_cov here counts one of them)."""
    search = _complete_search(policy, search, 1, max_nodes)
    mu = np.asarray(policy.prompt_probs, np.float64)
    support = mu > 0
    return float(np.sum(mu[support] * np.exp(-search.argmax_log_prob[support])))


def lm_margin(policy, search: ArgmaxSearch | None = None, *, max_nodes: int = DEFAULT_MAX_NODES) -> float:
    """γ_margin = min_{x ∈ supp μ} π(y*(x)|x)/π(y_2(x)|x) − 1 (Assumption 4.2), y_2 the runner-up; ``inf`` when
    every prompt has a single sequence of positive mass. Needs a search with top_k ≥ 2."""
    search = _complete_search(policy, search, 2, max_nodes)
    support = np.asarray(policy.prompt_probs) > 0
    gaps = search.log_probs[support, 0] - search.log_probs[support, 1]
    return float(np.min(np.expm1(gaps))) if gaps.size else np.inf


def lm_coverage_profile(policy, num_samples, search: ArgmaxSearch | None = None, *,
                        max_nodes: int = DEFAULT_MAX_NODES) -> np.ndarray:
    """float64 [len(num_samples)]: P_{x∼μ}[π(y*(x)|x) ≥ 1/N] for each N in ``num_samples`` (integers ≥ 1)."""
    values = np.atleast_1d(np.asarray(num_samples))
    if values.ndim != 1 or values.size == 0 or not np.issubdtype(values.dtype, np.integer) or (values < 1).any():
        raise ValueError(f"num_samples must be integers N >= 1 (a scalar or a 1-d list), got {num_samples!r}")
    search = _complete_search(policy, search, 1, max_nodes)
    mu = np.asarray(policy.prompt_probs, np.float64)
    # π ≥ 1/N ⇔ log π ≥ −log N
    covered = search.argmax_log_prob[None, :] >= -np.log(values.astype(np.float64))[:, None]
    return covered.astype(np.float64) @ mu
