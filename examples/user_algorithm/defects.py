"""Three planted defects in the user's algorithm, each caught by a named check (README.md shows the reports):

* ``make_reads_base``: votes with π_base's exact answer distribution, read from the instance it was built for,
  instead of the samples' votes (information taken around the oracle): ``check_algorithm`` fails ``oracle_only``;
* ``make_under_reports``: reports one sample per training pair (n) instead of the n·N it drew: ``check_algorithm``
  fails ``queries_reported``;
* ``too_few_samples_claim``: the correct algorithm with a claim that misses its rate, N = C_cov/10 samples per
  prompt: ``check_guarantee`` fails ``guarantee`` and prints a shrunk counterexample.
"""

from __future__ import annotations

import importlib.util
import math
import pathlib
import sys

import jax
import jax.numpy as jnp
import numpy as np

import sharpsim as ss


def _load(name: str):
    """A sibling file of this folder as a module (the folder is not a package: it is run by path)."""
    path = pathlib.Path(__file__).with_name(f"{name}.py")
    module_name = f"user_algorithm_{name}"
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, path)
        sys.modules[module_name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[module_name])
    return sys.modules[module_name]


algorithm, claims = _load("algorithm"), _load("claim")


def make_reads_base(instance, num_prompts: int = 64, num_samples: int = 8):
    """Defect 1: the majority answer is taken from π_base's answer marginal (read from ``instance``), not voted."""
    table = ss.as_tabular(instance)
    vocab = int(instance.vocab_size)
    answer_probs = np.stack([np.bincount(np.arange(table.num_responses) % vocab, weights=row, minlength=vocab)
                             for row in np.asarray(table.probs)])
    model_class = ss.TabularClass.like(instance)

    def reads_base(key, oracle):
        start = oracle
        key_prompts, key_samples = jax.random.split(key)
        prompts, oracle = oracle.draw_prompts(key_prompts, num_prompts)
        batch, oracle = oracle.sample(key_samples, prompts, num_samples)
        majority = jnp.argmax(jnp.asarray(answer_probs)[prompts], axis=-1)
        score = jnp.where(batch.responses[..., -1] == majority[:, None], batch.log_probs, -jnp.inf)
        picks = jnp.take_along_axis(batch.responses, jnp.argmax(score, -1)[:, None, None], axis=1).squeeze(1)
        policy = algorithm.fit_picks(model_class, oracle, prompts, picks)
        return ss.Result(policy, jax.tree_util.tree_map(jnp.subtract, oracle.queries, start.queries)), oracle

    return reads_base


def make_under_reports(instance, num_prompts: int = 64, num_samples: int = 8):
    """Defect 2: the correct run, but ``result.queries`` counts one sample per training pair."""
    honest = algorithm.make_algorithm(instance, num_prompts, num_samples)

    def under_reports(key, oracle):
        result, oracle = honest(key, oracle)
        queries = ss.QueryCount(result.queries.prompts, result.queries.prompts, result.queries.evaluations)
        return ss.Result(result.policy, queries), oracle

    return under_reports


def too_few_samples_claim(eps, delta, rho, quantities) -> dict:
    """Defect 3: the claim's prompts, but N = C_cov/10 samples per prompt (rounded up)."""
    allocation = claims.claim(eps, delta, rho, quantities)
    return dict(allocation, num_samples=max(1, math.ceil(quantities["coverage"] / 10)))


make_algorithm = algorithm.make_algorithm  # the correct builder, for `sharpsim check defects.py:make_algorithm`
example_instance = algorithm.example_instance
