"""The model class of the lower bound (Theorems 3.1, 3.1′ and D.2; Appendix H), implicit and never materialized.

Parameters d (rare prompts), M (candidate responses per rare prompt), Δ ∈ (0, 1) (the rare prompts' total mass)
and γ ∈ (0, 1). Prompts X = {x_0, …, x_d}, responses Y = {y_0, …, y_M} (index 0 is x_0 / y_0; rare prompt x_i is
index i, response y_j is index j), and

    μ   = (1 − Δ) δ_{x_0} + (Δ/d) Σ_{i=1}^d δ_{x_i},
    P_0 = δ_{y_0},
    P_j = a δ_{y_j} + Σ_{k∈[M]∖{j}} b δ_{y_k},   a = 1/((1 − γ)M),   b = (1/M)(1 − γ/((M − 1)(1 − γ))),

so a + (M − 1)b = 1. The class is Π = {π^I : I = (j_1, …, j_d) ∈ [M]^d} with π^I(x_0) = P_0 and
π^I(x_i) = P_{j_i}: log|Π| = d log M, and y^I_γ(x_i) = {y_{j_i}} is a singleton because b < (1 − γ)a = 1/M exactly
when γ > 0. Every member has the same coverage, C_cov,γ,p(π^I) = ((1 − Δ) + (M(1 − γ))^p Δ)^(1/p).

``HardClass`` costs O(dM) memory whatever |Π| = M^d. ``top_mass`` (default a) generalizes it to the class of
per-prompt laws with mass ``top_mass`` on a hidden response and the rest spread evenly over the other M − 1
candidates. With ``top_mass`` = 1 − (1 − a)^N it is {π^BoN_N : π ∈ Π}, the class for which SFT-Sharpening is
realizable (Assumption 4.1; ``bon_class``), and with the AdaBoN pick's top mass it is the class of Assumption D.1
(``adaptive_bon_class``). Its MLE (``fit``) is the product MLE of ``classes.ProductClass`` on the materialized rows.

Code conventions: the hidden index is 0-based, ``index[i − 1] = j_i − 1`` ∈ {0, …, M − 1}, so the argmax of rare
prompt i is response ``index[i − 1] + 1``. The members as samplers (``HardPolicy``), the instance family
``make("hard", ...)`` and the theorem's parameter choice (``hard_parameters``) are in ``instances/hard.py``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.classes.finite import FiniteFit
from sharpsim.classes.tabular import check_targets, target_counts
from sharpsim.core.policy import TabularPolicy
from sharpsim.core.pytree import validated_pytree
from sharpsim.core.validation import (
    as_float_array,
    check_allocation,
    check_in_interval,
    check_positive_int,
    is_concrete,
)

if TYPE_CHECKING:
    from sharpsim.instances.hard import HardPolicy


MAX_CANDIDATES = 2**62  # response and prompt indices are int64


def minimum_candidates(gamma: float) -> int:
    """The smallest M for which P_j is a distribution: a = 1/((1 − γ)M) ≤ 1 and b ≥ 0, i.e. M ≥ 1/(1 − γ), M ≥ 2."""
    return max(2, math.ceil(1.0 / (1.0 - gamma) - 1e-12))


def _check_parameters(num_rare, num_candidates, delta, gamma):
    num_rare = check_positive_int(num_rare, "num_rare")
    gamma = check_in_interval(gamma, "gamma", 0.0, 1.0, False, False)
    num_candidates = check_positive_int(num_candidates, "num_candidates")
    minimum = minimum_candidates(gamma)
    if num_candidates < minimum:
        raise ValueError(
            f"num_candidates must be >= {minimum} for gamma={gamma:g} (so that a = 1/((1-gamma)M) <= 1), "
            f"got {num_candidates}"
        )
    for name, value in (("num_rare", num_rare), ("num_candidates", num_candidates)):
        if value >= MAX_CANDIDATES:
            raise ValueError(f"{name} must be < 2^62 (indices are int64), got {value}")
    delta = check_in_interval(delta, "delta", 0.0, 1.0, False, False)
    return num_rare, num_candidates, delta, gamma


def _base_top_mass(num_candidates: int, gamma: float) -> float:
    return 1.0 / ((1.0 - gamma) * num_candidates)


@validated_pytree(("num_rare", "num_candidates", "delta", "top_mass"), ("gamma", "max_rare", "max_candidates"))
@dataclass(frozen=True, eq=False)
class HardClass:
    """Π = {π^I : I ∈ [M]^d} of Appendix H, implicit (see the module docstring).

    ``num_rare`` = d, ``num_candidates`` = M, ``delta`` = Δ and ``top_mass`` are pytree leaves, so one compiled
    function serves a whole sweep over (d, M, Δ): arrays are padded to the static ``max_rare`` ≥ d and
    ``max_candidates`` ≥ M (defaults d and M). Padded rare prompts have μ = 0 and padded candidates have zero
    mass (their index entries and scores are meaningless: read only the first d entries of an index).
    """

    num_rare: jax.Array
    num_candidates: jax.Array
    delta: jax.Array
    top_mass: jax.Array
    gamma: float = 0.5
    max_rare: int = 1
    max_candidates: int = 2

    def __init__(self, num_rare, num_candidates, delta, gamma=0.5, top_mass=None, max_rare=None,
                 max_candidates=None):
        if is_concrete(num_rare, num_candidates, delta, top_mass):
            num_rare, num_candidates, delta, gamma = _check_parameters(num_rare, num_candidates, delta, gamma)
            max_rare = num_rare if max_rare is None else check_positive_int(max_rare, "max_rare", num_rare)
            max_candidates = num_candidates if max_candidates is None else check_positive_int(
                max_candidates, "max_candidates", num_candidates)
            if max_candidates >= MAX_CANDIDATES:
                raise ValueError(f"max_candidates must be < 2^62 (indices are int64), got {max_candidates}")
            # every member carries an index [max_rare] and μ [max_rare + 1]
            check_allocation((max_rare + 1,), f"HardClass with num_rare={num_rare}, max_rare={max_rare}")
            if top_mass is not None:
                top_mass = check_in_interval(top_mass, "top_mass", 1.0 / num_candidates, 1.0, False, True)
        elif max_rare is None or max_candidates is None:
            raise ValueError("a HardClass built from traced sizes needs static max_rare and max_candidates")
        if top_mass is None:
            top_mass = _base_top_mass(num_candidates, gamma)
        for name, value in (("num_rare", jnp.asarray(num_rare, jnp.int64)),
                            ("num_candidates", jnp.asarray(num_candidates, jnp.int64)),
                            ("delta", jnp.asarray(delta, jnp.float64)),
                            ("top_mass", jnp.asarray(top_mass, jnp.float64)),
                            ("gamma", float(gamma)), ("max_rare", int(max_rare)),
                            ("max_candidates", int(max_candidates))):
            object.__setattr__(self, name, value)

    # --- sizes ---------------------------------------------------------------------------------------
    @property
    def num_prompts(self) -> int:
        """|X| of the (padded) arrays: max_rare + 1."""
        return self.max_rare + 1

    @property
    def num_responses(self) -> int:
        """|Y| of the (padded) arrays: max_candidates + 1."""
        return self.max_candidates + 1

    @property
    def is_padded(self) -> bool:
        return not (int(self.num_rare) == self.max_rare and int(self.num_candidates) == self.max_candidates)

    @property
    def log_size(self) -> float:
        """log|Π| = d log M (x_0 has a single row)."""
        return int(self.num_rare) * math.log(int(self.num_candidates))

    @property
    def other_mass(self) -> jax.Array:
        """b: the mass of each of the M − 1 non-argmax candidates of a rare prompt."""
        return (1.0 - self.top_mass) / (self.num_candidates - 1)

    @property
    def rare_mask(self) -> jax.Array:
        """bool [max_rare]: the real rare prompts (i ≤ d)."""
        return jnp.arange(self.max_rare) < self.num_rare

    @property
    def candidate_mask(self) -> jax.Array:
        """bool [max_candidates]: the real candidates (j ≤ M)."""
        return jnp.arange(self.max_candidates) < self.num_candidates

    @property
    def prompt_probs(self) -> jax.Array:
        """μ = (1 − Δ) δ_{x_0} + (Δ/d) Σ_i δ_{x_i} (zero on padded prompts)."""
        rare = jnp.where(self.rare_mask, self.delta / self.num_rare, 0.0)
        return jnp.concatenate([jnp.reshape(1.0 - self.delta, (1,)), rare])

    def coverage(self, p=1) -> float:
        """C_cov,γ,p of every member of the *base* class (Appendix H): ((1 − Δ) + (M(1 − γ))^p Δ)^(1/p)."""
        p = check_in_interval(p, "p", 1.0, np.inf, True, False)
        delta = float(self.delta)
        base = int(self.num_candidates) * (1.0 - self.gamma)
        if p * math.log(base) < 700.0:
            return ((1.0 - delta) + base ** p * delta) ** (1.0 / p)
        # (M(1 − γ))^p would overflow: log C = log(M(1 − γ)) + log(Δ + (1 − Δ)(M(1 − γ))^−p)/p
        return math.exp(math.log(base) + math.log(delta + (1.0 - delta) * math.exp(-p * math.log(base))) / p)

    # --- members -------------------------------------------------------------------------------------
    def sample_index(self, key: jax.Array) -> jax.Array:
        """I ∼ Uniform([M]^d), 0-based: int [max_rare] with entries in {0, …, M − 1}."""
        return jax.random.randint(key, (self.max_rare,), 0, self.num_candidates, dtype=jnp.int64)

    def _check_index(self, index) -> None:
        """A concrete 0-based member index must be an integer array [max_rare] with its first d entries in [0, M)."""
        if not is_concrete(index, self.num_candidates, self.num_rare):
            return
        array = np.asarray(index)
        if array.shape != (self.max_rare,) or not np.issubdtype(array.dtype, np.integer):
            raise ValueError(f"index must be an integer array of shape ({self.max_rare},), got "
                             f"{array.dtype} {array.shape}")
        real = array[: int(self.num_rare)]
        if real.min() < 0 or real.max() >= int(self.num_candidates):
            raise ValueError(f"index entries must lie in [0, {int(self.num_candidates)}), got {real.tolist()}")

    def member(self, index) -> "HardPolicy":
        """π^I for a 0-based index [max_rare] (validated when concrete)."""
        self._check_index(index)
        from sharpsim.instances.hard import HardPolicy  # the member's sampler lives with the instance family

        return HardPolicy(self, jnp.asarray(index, jnp.int64))

    def random_member(self, key: jax.Array) -> "HardPolicy":
        return self.member(self.sample_index(key))

    def check_table_fits(self, name: str) -> None:
        """Refuse a [max_rare + 1, max_candidates + 1] table (counts, member tables) that would not fit in memory."""
        check_allocation((self.num_prompts, self.num_responses),
                         f"{name} with max_rare={self.max_rare}, max_candidates={self.max_candidates}")

    def member_table(self, index) -> TabularPolicy:
        """π^I for a 0-based index [max_rare] as the [d + 1, M + 1] table (the referee's view; validated when
        concrete)."""
        if is_concrete(index):
            self._check_index(index)
            self.check_table_fits("HardClass.member_table")
        real = jnp.concatenate([jnp.zeros(1, bool), self.candidate_mask])
        rare = jnp.where(real[None, :], self.other_mass, 0.0) * jnp.ones((self.max_rare, 1))
        rare = rare.at[jnp.arange(self.max_rare), jnp.asarray(index) + 1].set(self.top_mass)
        first = jnp.zeros((1, self.num_responses)).at[0, 0].set(1.0)
        return TabularPolicy.tree_unflatten(None, (jnp.concatenate([first, rare]), self.prompt_probs))

    def rows(self) -> jax.Array:
        """The materialized candidate rows [d + 1, M, M + 1] of ``classes.ProductClass`` (small, unpadded only):
        x_0's M candidates are all P_0; rare prompt i's candidate k is P_{k+1}."""
        if self.is_padded:
            raise ValueError("rows() materializes the class only without padding (max_rare = d, max_candidates = M)")
        check_allocation((self.num_prompts, self.max_candidates, self.num_responses),
                         f"HardClass.rows with num_rare={self.max_rare}, num_candidates={self.max_candidates}")
        size = self.max_candidates
        candidates = jnp.full((size, size), self.other_mass)
        candidates = candidates.at[jnp.diag_indices(size)].set(self.top_mass)
        candidates = jnp.concatenate([jnp.zeros((size, 1)), candidates], axis=1)
        first = jnp.zeros((1, size, self.num_responses)).at[:, :, 0].set(1.0)
        rare = jnp.broadcast_to(candidates, (self.max_rare, *candidates.shape))
        return jnp.concatenate([first, rare], axis=0)

    # --- the realizable classes of SFT / adaptive SFT (Assumptions 4.1, D.1) -------------------------
    def bon_top_mass(self, num_samples) -> jax.Array:
        """Mass of π^BoN_N on the hidden argmax: 1 − (1 − a)^N (BoN misses only if y_{j_i} is never drawn)."""
        num_samples = _check_at_least(num_samples, "num_samples", 1.0, closed=True, integer=True)
        return 1.0 - (1.0 - _base_top_mass(self.num_candidates, self.gamma)) ** num_samples

    def adaptive_bon_top_mass(self, mu) -> jax.Array:
        """Mass of the AdaBoN_μ pick (Eq. 10) on the hidden argmax: 1 − (1 − a)^⌈μ/b⌉. Before y_{j_i} appears the
        running maximum is b, so the rule stops at ⌈μ/b⌉ unless y_{j_i} appeared by then (after which it stops
        at max(T, ⌈μ/a⌉) with the argmax picked)."""
        mu = _check_at_least(mu, "mu", 0.0, closed=False)
        a = _base_top_mass(self.num_candidates, self.gamma)
        b = (1.0 - a) / (self.num_candidates - 1)
        return 1.0 - (1.0 - a) ** jnp.ceil(mu / b * (1.0 - 1e-12))

    def with_top_mass(self, top_mass) -> "HardClass":
        if top_mass is None:
            raise TypeError("top_mass must be a number in (1/M, 1], got None")
        return HardClass(self.num_rare, self.num_candidates, self.delta, self.gamma, top_mass, self.max_rare,
                         self.max_candidates)

    def bon_class(self, num_samples) -> "HardClass":
        """{π^BoN_N : π ∈ Π} (Assumption 4.1 holds for SFT with N samples per prompt)."""
        return self.with_top_mass(self.bon_top_mass(num_samples))

    def adaptive_bon_class(self, mu) -> "HardClass":
        """{π^AdaBoN_μ : π ∈ Π} (Assumption D.1 holds for adaptive SFT with stopping parameter μ)."""
        return self.with_top_mass(self.adaptive_bon_top_mass(mu))

    # --- maximum likelihood --------------------------------------------------------------------------
    def log_likelihoods(self, prompts, responses, weights=None) -> jax.Array:
        """[max_rare, max_candidates]: for rare prompt i and candidate k, Σ_y c(x_i, y) log row_k(y) with
        0·log 0 = 0, i.e. c_k log a + (c − c_k − c_0) log b + c_0 log 0 (c_0: targets y_0, impossible at a rare
        prompt); −∞ for padded candidates."""
        check_targets(prompts, responses, weights, self.num_prompts, self.num_responses)
        if is_concrete(prompts, responses, weights):
            self.check_table_fits("HardClass.fit")
        counts = target_counts(prompts, responses, weights, self.num_prompts, self.num_responses)[1:]
        on_candidate = counts[:, 1:]
        elsewhere = jnp.sum(on_candidate, axis=-1, keepdims=True) - on_candidate
        impossible = (counts[:, :1] > 0) | ~self.candidate_mask[None, :]
        scores = _xlogy(on_candidate, self.top_mass) + _xlogy(elsewhere, self.other_mass)
        return jnp.where(impossible, -jnp.inf, scores)

    def fit(self, prompts, responses, weights=None) -> FiniteFit:
        """MLE over Π: per rare prompt the candidate with the highest log-likelihood (the most frequent target
        when a > b), lowest index among ties (so an unseen prompt gets candidate 0, as ``ProductClass``).
        ``index`` is the 0-based [max_rare] index; the log-likelihood includes x_0's (−∞ if a target at x_0 is
        ≠ y_0)."""
        scores = self.log_likelihoods(prompts, responses, weights)
        best = jnp.argmax(scores, axis=-1)
        counts = target_counts(prompts, responses, weights, self.num_prompts, self.num_responses)
        common = jnp.where(jnp.sum(counts[0, 1:]) > 0, -jnp.inf, 0.0)
        chosen = jnp.take_along_axis(scores, best[:, None], axis=1)[:, 0]
        total = common + jnp.sum(jnp.where(self.rare_mask, chosen, 0.0))
        return FiniteFit(self.member_table(best), best, total)

    def __repr__(self) -> str:
        return (f"HardClass(num_rare={self.num_rare}, num_candidates={self.num_candidates}, gamma={self.gamma}, "
                f"max_rare={self.max_rare}, max_candidates={self.max_candidates})")


def _check_at_least(value, name: str, low: float, closed: bool, integer: bool = False):
    """Concrete ``value`` must be finite and ≥ ``low`` (> when not
    ``closed``), and whole when ``integer``; a single number (Python ints of any size pass as they are). Returns
    ``value`` (traced values unchecked)."""
    if not is_concrete(value):
        return value
    bound = f"{'an integer' if integer else 'a finite number'} {'>=' if closed else '>'} {low:g}"
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, (np.ndarray, jax.Array)) and value.dtype == bool):
        raise TypeError(f"{name} must be {bound}, got {value!r}")
    if isinstance(value, numbers.Integral):
        if not (value >= low if closed else value > low):
            raise ValueError(f"{name} must be {bound}, got {value}")
        return value
    array = as_float_array(value, name)
    if array.ndim != 0:
        raise ValueError(f"{name} must be a single number (vmap over a grid), got shape {array.shape}")
    if integer and not np.issubdtype(np.asarray(value).dtype, np.integer):
        raise TypeError(f"{name} must be {bound}, got {value!r} (dtype {np.asarray(value).dtype})")
    if not np.all(np.isfinite(array) & (array >= low if closed else array > low)):
        raise ValueError(f"{name} must be {bound}, got {value!r}")
    return value


def _xlogy(count, prob):
    """count · log prob with 0 · log 0 = 0."""
    return jnp.where(count > 0, count * jnp.log(jnp.where(count > 0, prob, 1.0)), 0.0)
