"""The hard instance family of the lower bound (Theorems 3.1, 3.1′ and D.2; Appendix H).

The class Π = {π^I : I ∈ [M]^d} and its parameters (d rare prompts, M candidates, rare mass Δ, γ) are defined in
``classes/hard.py`` (``HardClass``). This module provides

* ``HardPolicy``: the member π^I as a sampler (O(1) per draw, no table) with ``to_tabular()`` for the referee;
* ``make("hard", ...)`` (registered here): a member drawn uniformly by ``key`` (or the given ``index``);
* ``hard_parameters(coverage, eps, num_rare)``: the theorem's choice Δ = 16ε (Appendix H; the paper takes γ = 1/2)
  and the M for which C_cov,γ,p is closest to ``coverage`` (M ≍ 1 + C ε^(−1/p)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from sharpsim.classes.hard import HardClass, minimum_candidates
from sharpsim.core.policy import TabularPolicy
from sharpsim.core.pytree import validated_pytree
from sharpsim.core.validation import check_allocation, check_in_interval, check_positive_int, is_concrete
from sharpsim.instances.registry import check_key, register_family
from sharpsim.policies.autoregressive import check_prompts

DELTA_PER_EPS = 16.0  # Appendix H: Δ = 16ε, so an ε-sharp learner must get all but 1/16 of the rare prompts right


@validated_pytree(("model_class", "index"), ())
@dataclass(frozen=True, eq=False)
class HardPolicy:
    """The member π^I of a ``HardClass`` (its ``top_mass`` on y_{j_i} at rare prompt x_i), as an O(1) sampler
    offering the oracle interface (``sample_prompts``, ``sample_responses``, ``log_prob``) and ``to_tabular``.
    ``index`` [max_rare] is 0-based; entries past d are ignored (their prompts have μ = 0)."""

    model_class: HardClass
    index: jax.Array

    def __post_init__(self):
        if not isinstance(self.model_class, HardClass):
            raise TypeError(f"model_class must be a HardClass, got {type(self.model_class).__name__}")
        self.model_class._check_index(self.index)  # the class owns the index convention

    @property
    def num_prompts(self) -> int:
        return self.model_class.num_prompts

    @property
    def num_responses(self) -> int:
        return self.model_class.num_responses

    @property
    def prompt_probs(self) -> jax.Array:
        return self.model_class.prompt_probs

    def argmax_responses(self) -> jax.Array:
        """int [max_rare + 1]: y^I_γ(x) as a response index (0 for x_0, index[i − 1] + 1 for x_i)."""
        return jnp.concatenate([jnp.zeros(1, jnp.int64), self.index + 1])

    def sample_prompts(self, key: jax.Array, num_prompts: int) -> jax.Array:
        """x ∼ μ: x_0 w.p. 1 − Δ, else a uniform rare prompt."""
        num_prompts = check_positive_int(num_prompts, "num_prompts")
        check_allocation((num_prompts,), f"HardPolicy.sample_prompts with num_prompts={num_prompts}")
        key_rare, key_which = jax.random.split(key)
        rare = jax.random.uniform(key_rare, (num_prompts,)) < self.model_class.delta
        which = jax.random.randint(key_which, (num_prompts,), 1, self.model_class.num_rare + 1, dtype=jnp.int64)
        return jnp.where(rare, which, 0)

    def sample_responses(self, key: jax.Array, prompts: jax.Array, num_samples: int) -> jax.Array:
        """y ∼ π^I(·|x): y_0 at x_0; at x_i the argmax w.p. top_mass, else a uniform one of the M − 1 others."""
        num_samples = check_positive_int(num_samples, "num_samples")
        if is_concrete(prompts):
            check_prompts(prompts, self.num_prompts)
        prompts = jnp.asarray(prompts)
        shape = (*prompts.shape, num_samples)
        check_allocation(shape, f"HardPolicy.sample_responses with num_samples={num_samples}")
        key_top, key_other = jax.random.split(key)
        top = jax.random.uniform(key_top, shape) < self.model_class.top_mass
        argmax = self.argmax_responses()[prompts][..., None]
        other = jax.random.randint(key_other, shape, 1, self.model_class.num_candidates, dtype=jnp.int64)
        other = other + (other >= argmax)  # uniform over {1..M} without the argmax
        responses = jnp.where(top, argmax, other)
        return jnp.where(prompts[..., None] == 0, 0, responses)

    def log_prob(self, prompts: jax.Array, responses: jax.Array) -> jax.Array:
        if is_concrete(prompts, responses):
            check_prompts(prompts, self.num_prompts)
            array = np.asarray(responses)
            if not np.issubdtype(array.dtype, np.integer):
                raise TypeError(f"responses must be integer response indices, got dtype {array.dtype}")
            if array.size and (array.min() < 0 or array.max() >= self.num_responses):
                raise ValueError(f"responses must lie in [0, {self.num_responses}); got values in "
                                 f"[{array.min()}, {array.max()}]")
        prompts, responses = jnp.asarray(prompts), jnp.asarray(responses)
        prompts, responses = jnp.broadcast_arrays(prompts, responses)
        argmax = self.argmax_responses()[prompts]
        real = (responses >= 1) & (responses <= self.model_class.num_candidates)
        rare = jnp.where(responses == argmax, jnp.log(self.model_class.top_mass),
                         jnp.where(real, jnp.log(self.model_class.other_mass), -jnp.inf))
        common = jnp.where(responses == 0, 0.0, -jnp.inf)
        return jnp.where(prompts == 0, common, rare)

    def to_tabular(self) -> TabularPolicy:
        """The [d + 1, M + 1] table (the referee's view)."""
        self.model_class.check_table_fits("HardPolicy.to_tabular")
        return self.model_class.member_table(self.index)


def hard_parameters(coverage, eps, num_rare, gamma=0.5, p=1) -> dict:
    """The theorem's instance for (C, ε, d): Δ = 16ε and the M ≥ max(8, ⌈1/(1 − γ)⌉) whose
    C_cov,γ,p = ((1 − Δ) + (M(1 − γ))^p Δ)^(1/p) is closest to ``coverage`` (M ≍ 1 + C ε^(−1/p)).

    Needs ε < 1/16 (so that Δ < 1). Returns dict(num_rare, num_candidates, delta, gamma).
    """
    eps = check_in_interval(eps, "eps", 0.0, 1.0 / DELTA_PER_EPS, False, False)
    coverage = check_in_interval(coverage, "coverage", 1.0, np.inf, True, False)
    gamma = check_in_interval(gamma, "gamma", 0.0, 1.0, False, False)
    p = check_in_interval(p, "p", 1.0, np.inf, True, False)
    num_rare = check_positive_int(num_rare, "num_rare")
    delta = DELTA_PER_EPS * eps
    log_coverage_p = p * math.log(coverage)
    if log_coverage_p < 700.0:
        exact = ((coverage ** p - (1.0 - delta)) / delta) ** (1.0 / p) / (1.0 - gamma) if coverage ** p > 1 - delta else 0
    else:  # C^p would overflow: the same M in log space, log M = log C + (log(1 − (1 − Δ)C^−p) − log Δ)/p − log(1 − γ)
        log_excess = math.log1p(-(1.0 - delta) * math.exp(-log_coverage_p)) - math.log(delta)
        log_m = math.log(coverage) + log_excess / p - math.log1p(-gamma)
        exact = math.exp(log_m) if log_m < 709.0 else math.inf
    if not math.isfinite(exact):
        raise ValueError(
            f"hard_parameters(coverage={coverage!r}, eps={eps!r}, p={p!r}, gamma={gamma!r}) needs a number of "
            "candidates M beyond the float64 range; lower coverage or raise eps"
        )
    num_candidates = max(8, minimum_candidates(gamma), int(round(exact)))
    return {"num_rare": num_rare, "num_candidates": num_candidates, "delta": delta, "gamma": gamma}


@register_family("hard")
def hard(num_rare: int = 4, num_candidates: int = 16, delta: float = 0.25, gamma: float = 0.5, key=None,
         index=None) -> HardPolicy:
    """A member π^I of Appendix H's class (see the module docstring): I uniform on [M]^d drawn with ``key``
    (default PRNGKey(0)), or the given 0-based ``index`` [d]. ``.model_class`` is the implicit class Π,
    ``.to_tabular()`` the table; C_cov,γ,p = ((1 − Δ) + (M(1 − γ))^p Δ)^(1/p) (``model_class.coverage(p)``).
    """
    model_class = HardClass(num_rare, num_candidates, delta, gamma)
    if index is not None:
        if key is not None:
            raise ValueError("give either key (a random member) or index (a chosen member), not both")
        return model_class.member(index)
    if key is not None:
        check_key(key)
    return model_class.random_member(jax.random.PRNGKey(0) if key is None else key)
