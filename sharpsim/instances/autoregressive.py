"""Autoregressive instance families over V^H (Section 1; Proposition 3.1; Propositions E.1 and E.2 of Appendix E),
registered with ``@register_family`` so that ``make(name, **params)`` builds them.

| name | representation | what it shows |
|---|---|---|
| ``pivotal`` | tree | greedy decoding misses the sequence argmax (a likely first token with a flat future) |
| ``greedy_threshold`` | tree | π(y*) = 1/2 − η and greedy fails: Proposition 3.1's 1/2 is tight |
| ``not_closed`` | linear softmax, H = d = 2 | Proposition E.2: the class cannot put more than 1/2 on y* |
| ``maxcut`` | linear softmax, cubic features | Proposition E.1: the sequence argmax encodes a maximum cut |
| ``bitstring`` | Markov over {0,1}^H | planted target with exact coverage, for scaling in H |
| ``random_tree`` / ``random_markov`` | tree / Markov | Dirichlet conditionals with a temperature knob |

Token conventions: tokens are 0..|V|−1 (the paper's token i is our i − 1 in ``not_closed``); in
``maxcut`` token t stands for the sign 2t − 1 ∈ {−1, +1}.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.core.validation import as_float_array, check_allocation, check_in_interval, check_positive_int
from sharpsim.policies.autoregressive import AutoregressivePolicy, check_index_range, indices_to_sequences
from sharpsim.policies.tree import TreePolicy
from sharpsim.instances.registry import check_key, check_normal_float, register_family
from sharpsim.classes.autoregressive_linear import best_achievable_log_mass
from sharpsim.policies.linear_softmax import LinearSoftmaxARPolicy
from sharpsim.policies.markov import MarkovPolicy

NOT_CLOSED_TARGET = (1, 0)  # the paper's y* = (2, 1)


def _first_tokens(vocab_size: int, position: int) -> np.ndarray:
    """The first token of every prefix of length ``position`` ≥ 1, in lexicographic order."""
    return np.arange(vocab_size**position) // vocab_size ** (position - 1)


def _check_tree(family: str, num_prompts: int, vocab_size: int, horizon: int) -> None:
    """Refuse a tree policy whose conditionals [X, (|V|^H − 1)/(|V| − 1), |V|] would not fit in memory (Python
    ints: |V|^H never overflows)."""
    if horizon > 62 or vocab_size**horizon > 2**62:  # beyond int64 prefix indices (and any memory); |V| ≥ 2
        raise ValueError(f"{family} with vocab_size={vocab_size}, horizon={horizon} has |V|^H = {vocab_size}^{horizon} "
                         "sequences, beyond int64 indices (2^62); use a smaller horizon or a Markov family")
    nodes = (vocab_size**horizon - 1) // (vocab_size - 1)
    check_allocation((num_prompts, nodes, vocab_size),
                     f"{family} with num_prompts={num_prompts}, vocab_size={vocab_size}, horizon={horizon}")


@register_family("pivotal")
def pivotal(vocab_size: int = 2, horizon: int = 2, p_first: float = 0.6) -> TreePolicy:
    """One prompt. Token 0 comes first with probability p (> 1/2) and is followed by a uniform future;
    token 1 comes first with 1 − p and is followed by zeros only (other first tokens have mass 0):

        y* = (1, 0, …, 0),  π(y*) = 1 − p,   greedy = (0, 0, …, 0),  π(greedy) = p / |V|^(H−1).

    Needs 1/2 < p < |V|^(H−1) / (|V|^(H−1) + 1), so that greedy's first step is strict and y* is the unique
    argmax. Greedy decoding misses y*.
    """
    vocab_size = check_positive_int(vocab_size, "vocab_size", minimum=2)
    horizon = check_positive_int(horizon, "horizon", minimum=2)
    _check_tree("pivotal", 1, vocab_size, horizon)
    future = vocab_size ** (horizon - 1)
    p_first = check_in_interval(p_first, "p_first", 0.5, future / (future + 1.0), False, False)
    first = np.zeros(vocab_size)
    first[:2] = p_first, 1.0 - p_first
    levels = [first[None, None, :]]
    for position in range(1, horizon):
        starts_with_zero = (_first_tokens(vocab_size, position) == 0)[:, None]
        deterministic = np.eye(vocab_size)[np.zeros(vocab_size**position, int)]
        levels.append(np.where(starts_with_zero, 1.0 / vocab_size, deterministic)[None])
    return TreePolicy(levels)


def _default_threshold_vocab(eta: float) -> int:
    return max(2, int(np.floor((1 + 2 * eta) / (1 - 2 * eta))) + 1)


@register_family("greedy_threshold")
def greedy_threshold(eta: float = 0.05, vocab_size: int | None = None) -> TreePolicy:
    """Proposition 3.1 is tight: for any η ∈ (0, 1/2), a policy over V^2 with π(y*) = 1/2 − η where greedy fails.

        π_1(0) = 1/2 + η, π_1(1) = 1/2 − η;   π_2(·|0) uniform over V;   π_2(0|1) = 1;
        y* = (1, 0),  π(y*) = 1/2 − η;  greedy = (0, 0),  π(greedy) = (1/2 + η)/|V|.

    y* is the unique argmax iff |V| > (1 + 2η)/(1 − 2η); ``vocab_size`` defaults to the smallest such |V| (≥ 2).
    """
    eta = check_in_interval(eta, "eta", 0.0, 0.5, False, False)
    minimum = _default_threshold_vocab(eta)
    vocab_size = minimum if vocab_size is None else check_positive_int(vocab_size, "vocab_size", minimum=2)
    if vocab_size < minimum:
        raise ValueError(
            f"greedy_threshold with eta={eta} needs vocab_size > (1 + 2η)/(1 − 2η) = "
            f"{(1 + 2 * eta) / (1 - 2 * eta):.4g} for y* to be the unique argmax; got {vocab_size}"
        )
    check_allocation((vocab_size, vocab_size), f"greedy_threshold with eta={eta!r}, vocab_size={vocab_size} "
                     "(the default vocab_size grows like 1/(1 − 2η))")
    first = np.zeros(vocab_size)
    first[:2] = 0.5 + eta, 0.5 - eta
    second = np.full((vocab_size, vocab_size), 1.0 / vocab_size)
    second[1] = np.eye(vocab_size)[0]
    return TreePolicy([first[None, None, :], second[None]])


# --- Proposition E.2 -----------------------------------------------------------------------------------
def not_closed_features(prompt, tokens, position):
    """φ of Proposition E.2 (d = 2), with the paper's tokens 1, 2, 3.. as our 0, 1, 2..:
    φ_1(1) = φ_1(2) = e_1, φ_1(i ≥ 3) = e_2;  φ_2(2, 1) = e_1, φ_2(2, j ≠ 1) = e_2, φ_2(i ≠ 2, ·) = 0."""
    e1, e2 = jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0])
    first, second = tokens[0], tokens[1]
    at_first = jnp.where(first <= 1, e1, e2)
    at_second = jnp.where(first == 1, jnp.where(second == 0, e1, e2), jnp.zeros(2))
    return jnp.where(position == 0, at_first, at_second)


# Largest θ entry scale (``bound``, ``scale``) an instance accepts: its squared norm stays finite in float64.
MAX_SCALE = 1e100


def _check_scale(value: float, name: str) -> float:
    if value > MAX_SCALE:
        raise ValueError(f"{name} must be at most {MAX_SCALE:g} (beyond, the parameters' squared norm overflows "
                         f"float64), got {value!r}")
    return value


@register_family("not_closed")
def not_closed(vocab_size: int = 16, bound: float | None = None) -> LinearSoftmaxARPolicy:
    """Proposition E.2: X = {⊥}, V = [n], H = d = 2, θ*_1 = θ*_2 = B·e_1 with B = log n by default.

    With b = e^B: π(y*) = π(2, 1) = b/(2b + n − 2) · b/(b + n − 1) (≈ 1/6 at B = log n), the unique argmax;
    every other pair has O(1/n). Tokens 1 and 2 share the step-1 feature, so every member of the class has
    π_1(1) = π_1(2) and π(y*) ≤ 1/2 whatever the norm bound (``not_closed_best_mass`` checks it).
    ``bound`` lies in [0, ``MAX_SCALE``] (beyond, ‖θ‖² overflows float64; the softmax is saturated long before).
    """
    vocab_size = check_positive_int(vocab_size, "vocab_size", minimum=3)
    # every next-token distribution is a [|V|] row of logits over [|V|, d = 2] features
    check_allocation((vocab_size, 2), f"not_closed with vocab_size={vocab_size}")
    bound = float(np.log(vocab_size)) if bound is None else _check_scale(
        check_in_interval(bound, "bound", 0.0, np.inf, True, False), "bound")
    theta = np.array([[bound, 0.0], [bound, 0.0]])
    return LinearSoftmaxARPolicy(theta, not_closed_features, vocab_size, norm_bound=bound)


def not_closed_best_mass(policy: LinearSoftmaxARPolicy, norm_bound: float, num_steps: int = 3000) -> float:
    """max over the class Π_{φ,B',2} (B' = ``norm_bound``) of π(y*|⊥), by projected gradient ascent
    (``best_achievable_log_mass``); Proposition E.2 says it is ≤ 1/2 for every B'."""
    if not isinstance(policy, LinearSoftmaxARPolicy):
        raise TypeError(f"policy must be the LinearSoftmaxARPolicy of make('not_closed'), got {type(policy).__name__}")
    if policy.feature_map is not not_closed_features:
        raise ValueError(f"policy must be built by make('not_closed') (its feature map), got one with feature map "
                         f"{getattr(policy.feature_map, '__name__', policy.feature_map)!r}")
    log_mass, _ = best_achievable_log_mass(policy, jnp.asarray(NOT_CLOSED_TARGET), norm_bound, num_steps=num_steps)
    return float(np.exp(log_mass))


# --- Proposition E.1 -----------------------------------------------------------------------------------
def cubic_sign_features(prompt, tokens, position):
    """φ_h(⊥, y_{1:h}) of Proposition E.1 with y_i = 2·token − 1 ∈ {±1}: the coordinates y_i, y_i·y_j and
    y_i·y_j·y_k for i, j, k ≤ h (others 0), laid out as [H | H² (i·H + j) | H³ ((i·H + j)·H + k)]."""
    horizon = tokens.shape[0]
    signs = jnp.where(jnp.arange(horizon) <= position, 2.0 * tokens - 1.0, 0.0)
    pairs = jnp.outer(signs, signs)
    triples = pairs[:, :, None] * signs[None, None, :]
    return jnp.concatenate([signs, pairs.ravel(), triples.ravel()])


def _check_adjacency(adjacency) -> np.ndarray:
    adjacency = as_float_array(adjacency, "adjacency")
    if adjacency.ndim != 2 or adjacency.shape[0] != adjacency.shape[1] or adjacency.shape[0] < 2:
        raise ValueError(f"adjacency must be a square [n, n] matrix with n >= 2, got shape {adjacency.shape}")
    if not np.isin(adjacency, (0.0, 1.0)).all() or not np.array_equal(adjacency, adjacency.T):
        raise ValueError("adjacency must be a symmetric 0/1 matrix")
    if np.any(np.diag(adjacency)):
        raise ValueError("adjacency must have a zero diagonal (no self-loops)")
    if adjacency.sum() == 0:
        raise ValueError("adjacency has no edge: the graph needs at least one edge (with none, every cut ties)")
    return adjacency


def random_graph(key: jax.Array, num_vertices: int, edge_prob: float) -> np.ndarray:
    """G(n, p) adjacency; redrawn (deterministically from ``key``) until it has an edge."""
    num_vertices = check_positive_int(num_vertices, "num_vertices", minimum=2)
    edge_prob = check_in_interval(edge_prob, "edge_prob", 0.0, 1.0, False, True)
    check_key(key)
    check_allocation((num_vertices, num_vertices), f"random_graph with num_vertices={num_vertices}")
    while True:
        key, draw = jax.random.split(key)
        upper = np.triu(np.asarray(jax.random.bernoulli(draw, edge_prob, (num_vertices, num_vertices))), 1)
        if upper.any():
            return (upper | upper.T).astype(np.float64)


def cut_value(adjacency, sides) -> np.ndarray:
    """Number of edges across the cut for 0/1 vertex labels ``sides`` [..., n]."""
    adjacency = _check_adjacency(adjacency)
    sides = as_float_array(sides, "sides")
    if sides.ndim == 0 or sides.shape[-1] != adjacency.shape[0]:
        raise ValueError(f"sides must have a trailing axis of length n={adjacency.shape[0]} (one label per vertex), "
                         f"got shape {sides.shape}")
    if not np.isin(sides, (0.0, 1.0)).all():
        raise ValueError("sides must hold 0/1 vertex labels")
    return _cut_value(adjacency, sides)


def _cut_value(adjacency: np.ndarray, sides: np.ndarray) -> np.ndarray:
    signs = 2.0 * np.asarray(sides, dtype=np.float64) - 1.0
    return (adjacency.sum() / 2 - np.einsum("...i,ij,...j->...", signs, adjacency, signs) / 2) / 2


def max_cut_brute_force(adjacency) -> tuple[float, np.ndarray]:
    """(max-cut value, every maximizing 0/1 labeling [K, n]) by trying all 2^n labelings."""
    adjacency = _check_adjacency(adjacency)
    num_vertices = adjacency.shape[0]
    if num_vertices > 62:  # 2^n labelings beyond int64 (and any memory)
        raise ValueError(f"adjacency: max_cut_brute_force tries all 2^n labelings; n={num_vertices} vertices is beyond "
                         "2^62 (at most 62 vertices)")
    check_allocation((2**num_vertices, num_vertices),
                     f"adjacency with n={num_vertices} vertices (max_cut_brute_force's 2^n labelings)")
    # all 2^n labelings in lexicographic order (vertex 0 most significant), as itertools.product((0, 1), repeat=n)
    labelings = (np.arange(2**num_vertices)[:, None] >> np.arange(num_vertices - 1, -1, -1)[None, :]) & 1
    values = _cut_value(adjacency, labelings)
    best = values.max()
    return float(best), labelings[values == best]


@register_family("maxcut")
def maxcut(adjacency=None, key: jax.Array | None = None, num_vertices: int = 6, edge_prob: float = 0.5,
           scale: float = 1.0) -> LinearSoftmaxARPolicy:
    """Proposition E.1: max-cut of a graph G on n vertices as the sequence argmax over {±1}^H, H = n + 2, with
    the cubic features ``cubic_sign_features`` (d = H + H² + H³). θ_h = 0 for h ≤ n (uniform signs y_1..y_n);
    θ_{n+1} puts −s on the triple (i, j, n+1) of every edge {i, j}; θ_{n+2} puts s on y_{n+1}·y_{n+2} and on
    y_{n+2}. Then π_{n+1}(+1 | y) = σ(2s(2·cut(y) − |E|)), π_{n+2}(+1 | y_{n+1} = +1) = σ(4s), and

        π(y, +1, +1) = 2^(−n)·σ(2s(2·cut(y) − |E|))·σ(4s),   π(y, −1, ·) ≤ 2^(−n)/2.

    Every nonempty graph has max-cut > |E|/2 (Edwards), so with s ≥ 1 the argmax set is exactly
    {(y, +1, +1) : y a maximum cut} (the paper takes s = B = H; any s ≥ 1 works). Give ``adjacency`` or a
    ``key`` for G(num_vertices, edge_prob). ‖θ_h‖ ≤ s·max(√|E|, √2) ≤ s·H, recorded as ``norm_bound`` = s·H
    (the paper's B(H) = H at s = 1; graph-independent so same-size instances share compiled code).
    s ≤ ``MAX_SCALE`` (beyond, ‖θ‖² overflows float64; σ(2s) is 1 to float64 precision from s ≈ 20).
    """
    scale = _check_scale(check_in_interval(scale, "scale", 1.0, np.inf, True, False), "scale")
    if adjacency is None:
        if key is None:
            raise ValueError("maxcut needs an adjacency matrix or a key to draw a random graph")
        num_vertices = check_positive_int(num_vertices, "num_vertices", minimum=2)
        _check_maxcut_size(num_vertices)
        adjacency = random_graph(key, num_vertices, edge_prob)
    adjacency = _check_adjacency(adjacency)
    num_vertices = adjacency.shape[0]
    _check_maxcut_size(num_vertices)
    horizon = num_vertices + 2
    dim = horizon + horizon**2 + horizon**3
    theta = np.zeros((horizon, dim))
    cut_position, last = horizon - 2, horizon - 1
    for i, j in zip(*np.nonzero(np.triu(adjacency, 1))):
        theta[cut_position, horizon + horizon**2 + (i * horizon + j) * horizon + cut_position] = -scale
    theta[last, horizon + cut_position * horizon + last] = scale
    theta[last, last] = scale
    return LinearSoftmaxARPolicy(theta, cubic_sign_features, 2, norm_bound=scale * horizon)


def _check_maxcut_size(num_vertices: int) -> None:
    """θ of ``maxcut`` is [H, H + H² + H³] with H = n + 2."""
    horizon = num_vertices + 2
    check_allocation((horizon, horizon + horizon**2 + horizon**3), f"maxcut with num_vertices={num_vertices}")


# --- scaling and random families -------------------------------------------------------------------
@register_family("bitstring")
def bitstring(horizon: int = 16, coverage: float = 4.0, target=None, key: jax.Array | None = None,
              num_prompts: int = 1) -> MarkovPolicy:
    """Tokens independent across positions over {0,1}^H with a planted target y*(x): each token equals
    y*_h(x) with probability q = coverage^(−1/H) > 1/2, so

        π(y*(x)|x) = q^H = 1/coverage  (C_cov = coverage),   γ_margin = q/(1 − q) − 1  (flip one bit).

    ``target`` [X, H] or [H] 0/1; else random bits from ``key``; else all ones. Needs 1 ≤ coverage < 2^H.
    Greedy decoding and Viterbi both return y* at any H.
    """
    horizon = check_positive_int(horizon, "horizon")
    num_prompts = check_positive_int(num_prompts, "num_prompts")
    check_allocation((num_prompts, horizon, 2, 2), f"bitstring with num_prompts={num_prompts}, horizon={horizon}")
    # 2^H overflows a float beyond H = 1023, where every finite coverage is below it
    coverage = check_in_interval(coverage, "coverage", 1.0, 2.0**horizon if horizon < 1024 else np.inf, True, False)
    if key is not None:
        check_key(key)
    if target is None:
        target = (np.ones((num_prompts, horizon), int) if key is None
                  else np.asarray(jax.random.bernoulli(key, 0.5, (num_prompts, horizon))).astype(int))
    target = np.asarray(target)
    if target.shape not in ((num_prompts, horizon), (horizon,)) or not np.isin(target, (0, 1)).all():
        raise ValueError(f"target must be 0/1 with shape ({num_prompts}, {horizon}) or ({horizon},), got {target.shape}")
    target = np.broadcast_to(target, (num_prompts, horizon))
    q = coverage ** (-1.0 / horizon)
    rows = np.where(target[..., None] == np.arange(2), q, 1.0 - q)  # [X, H, 2]
    transitions = np.broadcast_to(rows[:, 1:, None, :], (num_prompts, horizon - 1, 2, 2))
    return MarkovPolicy(rows[:, 0], transitions)


@partial(jax.jit, static_argnums=(1, 2))
def _tempered_dirichlets(key, shapes, concentration, temperature):
    """Tempered Dirichlet arrays of the given shapes (all with the same last axis), drawn as one flat array
    so that one random-number kernel is compiled whatever the number of shapes."""
    sizes = [int(np.prod(shape[:-1])) for shape in shapes]
    flat = _tempered_dirichlet(key, (sum(sizes), shapes[0][-1]), concentration, temperature)
    offsets = np.cumsum([0] + sizes)
    return [flat[offsets[i] : offsets[i + 1]].reshape(shape) for i, shape in enumerate(shapes)]


def _tempered_dirichlet(key, shape, concentration, temperature):
    """Rows ∝ q^(1/T), q ∼ Dirichlet(concentration·1): normalized Gamma(concentration) draws, tempered in log
    space (tiny draws would underflow to exact zeros). Gamma(1) is Exp(1), drawn directly: XLA compiles
    jax.random.gamma's rejection loop slowly for every new shape."""
    if concentration == 1.0:
        log_draws = jnp.log(jax.random.exponential(key, shape, dtype=jnp.float64))
    else:
        gammas = jax.random.gamma(key, concentration, shape, dtype=jnp.float64)
        tiny = jnp.finfo(jnp.float64).tiny
        log_draws = jnp.log(jnp.maximum(gammas, tiny))
        if concentration < 1.0:  # draws below the smallest normal float: the same draw from loggamma, in log space
            log_draws = jnp.where(gammas >= tiny, log_draws, jax.random.loggamma(key, concentration, shape, jnp.float64))
    probs = jax.nn.softmax(log_draws / temperature, axis=-1)
    # a temperature so small that log q / T overflows gives a NaN row; its limit is the row's argmax, reached by
    # shifting the row by its maximum first (rows without NaN are kept as computed)
    shifted = (log_draws - jnp.max(log_draws, axis=-1, keepdims=True)) / temperature
    overflowed = jnp.any(jnp.isnan(probs), axis=-1, keepdims=True)
    return jnp.where(overflowed, jax.nn.softmax(shifted, axis=-1), probs)


def _random_params(key, num_prompts, vocab_size, horizon, concentration, temperature):
    check_key(key)
    return (check_positive_int(num_prompts, "num_prompts"), check_positive_int(vocab_size, "vocab_size", minimum=2),
            check_positive_int(horizon, "horizon"),
            check_normal_float(check_in_interval(concentration, "concentration", 0.0, np.inf, False, False),
                               "concentration"),
            check_normal_float(check_in_interval(temperature, "temperature", 0.0, np.inf, False, False),
                               "temperature"))


@register_family("random_tree")
def random_tree(key: jax.Array, num_prompts: int = 8, vocab_size: int = 2, horizon: int = 3,
                temperature: float = 1.0, concentration: float = 1.0) -> TreePolicy:
    """Every conditional π_h(·|y_{<h}, x) ∝ q^(1/T), q ∼ Dirichlet(concentration·1) independently; μ uniform.
    Small T sharpens every conditional (π(y*) → 1), large T flattens (π(y*) → |V|^(−H))."""
    num_prompts, vocab_size, horizon, concentration, temperature = _random_params(
        key, num_prompts, vocab_size, horizon, concentration, temperature)
    _check_tree("random_tree", num_prompts, vocab_size, horizon)
    shapes = tuple((num_prompts, vocab_size**h, vocab_size) for h in range(horizon))
    return TreePolicy(_tempered_dirichlets(key, shapes, concentration, temperature))


@register_family("random_markov")
def random_markov(key: jax.Array, num_prompts: int = 8, vocab_size: int = 2, horizon: int = 8,
                  temperature: float = 1.0, concentration: float = 1.0) -> MarkovPolicy:
    """Markov policy whose initial and transition rows are ∝ Dirichlet(concentration·1)^(1/T); μ uniform."""
    num_prompts, vocab_size, horizon, concentration, temperature = _random_params(
        key, num_prompts, vocab_size, horizon, concentration, temperature)
    check_allocation((num_prompts, horizon, vocab_size, vocab_size),
                     f"random_markov with num_prompts={num_prompts}, vocab_size={vocab_size}, horizon={horizon}")
    shapes = ((num_prompts, vocab_size), (num_prompts, horizon - 1, vocab_size, vocab_size))
    return MarkovPolicy(*_tempered_dirichlets(key, shapes, concentration, temperature))


def sequences_of(policy) -> np.ndarray:
    """All |V|^H token sequences of ``policy`` in the enumeration order (for brute-force checks)."""
    if not isinstance(policy, AutoregressivePolicy):
        raise TypeError(f"policy must be an autoregressive policy (tree, Markov, linear softmax), got "
                        f"{type(policy).__name__}")
    if policy.horizon > 62:  # |V| ≥ 2, so |V|^H > 2^62 (checked before the power, which has H·log2|V| bits)
        raise ValueError(f"sequences_of would enumerate |V|^H = {policy.vocab_size}^{policy.horizon} sequences, beyond "
                         "int64 indices (2^62); use a smaller horizon")
    check_index_range(policy.vocab_size, policy.horizon)
    check_allocation((policy.num_responses, policy.horizon),
                     f"sequences_of with vocab_size={policy.vocab_size}, horizon={policy.horizon}")
    return np.asarray(indices_to_sequences(jnp.arange(policy.num_responses), policy.vocab_size, policy.horizon))
