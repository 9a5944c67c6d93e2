"""The Monte-Carlo kernels against their baselines, each pair timed in this process on the same instance.

* best-of-N over seeds against the raw float64 RNG rate, a Gumbel-max ``jax.random.categorical`` per seed and a
  numpy per-seed loop (inverse-CDF sampling per prompt);
* SFT-Sharpening over seeds (vmapped, and in lax.map batches of seeds) against a numpy per-seed loop with the same
  output (the sharpening error of each seed's fit, whose means must agree within their intervals);
* the exact SFT success law against the Monte Carlo that reaches the same accuracy (standard error 1e-3).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

import sharpsim as ss
from benchmarks.timing import best_time

DELTA = 0.25


def random_base(num_prompts: int, num_responses: int, seed: int = 0) -> ss.TabularPolicy:
    """π_base(·|x) ∼ Dirichlet(1/2) per prompt (a unique argmax almost surely), μ uniform."""
    rng = np.random.default_rng(seed)
    return ss.TabularPolicy(rng.dirichlet(np.full(num_responses, 0.5), size=num_prompts))


def _numpy_draws(rng, cdf, prompts, num_samples):
    """Inverse-CDF sampling, one ``searchsorted`` per prompt (the plain numpy way)."""
    draws = np.empty((len(prompts), num_samples), dtype=np.int64)
    for row, prompt in enumerate(prompts):
        draws[row] = np.minimum(np.searchsorted(cdf[prompt], rng.random(num_samples), side="right"),
                                cdf.shape[1] - 1)
    return draws


def best_of_n_rates(quick: bool) -> list[dict]:
    num_prompts, num_responses, num_samples = 64, 1024, 64
    seeds = 32 if quick else 256
    base = random_base(num_prompts, num_responses)
    log_probs = np.log(np.asarray(base.probs))
    prompts = jnp.arange(num_prompts)
    keys = jax.random.split(jax.random.PRNGKey(0), seeds)
    samples = seeds * num_prompts * num_samples

    @jax.jit  # everything an argument: closed-over arrays would be constant-folded at compile time
    def sharpsim_bon(oracle, prompts, keys):
        return jax.vmap(lambda key: ss.best_of_n(key, oracle, prompts, num_samples)[0].log_probs)(keys)

    @jax.jit
    def raw_uniforms(key):
        return jax.random.uniform(key, (seeds, num_prompts, num_samples), dtype=jnp.float64)

    gumbel_seeds = max(2, seeds // 16)  # Gumbel-max draws |Y| numbers per sample: fewer seeds, same rate

    @jax.jit
    def gumbel_bon(table, keys):
        def one(key):
            draws = jax.random.categorical(key, table, axis=-1, shape=(num_samples, num_prompts))
            return jnp.max(jnp.take_along_axis(table, draws.T, axis=-1), axis=-1)
        return jax.lax.map(one, keys)

    oracle = ss.Oracle(base)
    ours = best_time(lambda: sharpsim_bon(oracle, prompts, keys))
    raw = best_time(lambda: raw_uniforms(keys[0]))
    gumbel = best_time(lambda: gumbel_bon(jnp.asarray(log_probs), keys[:gumbel_seeds]))
    cdf = np.cumsum(np.asarray(base.probs), axis=1)
    numpy_seeds = max(2, seeds // 8)

    def numpy_loop():
        rng = np.random.default_rng(0)
        return [log_probs[np.arange(num_prompts)[:, None], _numpy_draws(rng, cdf, range(num_prompts),
                                                                        num_samples)].max(axis=1)
                for _ in range(numpy_seeds)]

    numpy_time = best_time(numpy_loop, repeats=1)
    rate = samples / ours
    ours_mean = float(np.mean(sharpsim_bon(oracle, prompts, keys)))
    numpy_mean = float(np.mean(numpy_loop()))
    setting = f"|X| = {num_prompts}, |Y| = {num_responses}, N = {num_samples}, {seeds} seeds"
    return [
        {"benchmark": "best-of-N Monte Carlo", "setting": setting, "ours": f"{rate:.3g} samples/s",
         "baseline": f"raw float64 uniforms {seeds * num_prompts * num_samples / raw:.3g}/s",
         "ratio": rate / (samples / raw), "meaning": "fraction of the raw RNG rate"},
        {"benchmark": "best-of-N Monte Carlo", "setting": setting, "ours": f"{rate:.3g} samples/s",
         "baseline": f"Gumbel-max categorical {gumbel_seeds * num_prompts * num_samples / gumbel:.3g} samples/s",
         "ratio": rate / (gumbel_seeds * num_prompts * num_samples / gumbel), "meaning": "speed-up"},
        {"benchmark": "best-of-N Monte Carlo", "setting": setting, "ours": f"{rate:.3g} samples/s",
         "baseline": f"numpy per-seed loop {numpy_seeds * num_prompts * num_samples / numpy_time:.3g} samples/s "
                     f"(mean max log-likelihood {numpy_mean:.4f} vs ours {ours_mean:.4f})",
         "ratio": rate / (numpy_seeds * num_prompts * num_samples / numpy_time), "meaning": "speed-up"},
    ]


def _numpy_sft_errors(base, num_prompts, num_samples, seeds, seed=1):
    """SFT-Sharpening with the tabular class, seed by seed: prompts ∼ μ, N draws each, the most likely draw, the
    empirical distribution of the picks per prompt (uniform where unseen), its sharpening error at δ."""
    probs, mu = np.asarray(base.probs), np.asarray(base.prompt_probs)
    size_x, size_y = probs.shape
    log_probs, cdf, argmax = np.log(probs), np.cumsum(probs, axis=1), probs.argmax(axis=1)
    rng = np.random.default_rng(seed)
    errors = np.empty(seeds)
    for s in range(seeds):
        prompts = rng.choice(size_x, num_prompts, p=mu)
        draws = _numpy_draws(rng, cdf, prompts, num_samples)
        picks = draws[np.arange(num_prompts), np.argmax(log_probs[prompts[:, None], draws], axis=1)]
        counts = np.zeros((size_x, size_y))
        np.add.at(counts, (prompts, picks), 1.0)
        totals = counts.sum(axis=1)
        fitted = np.where(totals[:, None] > 0, counts / np.maximum(totals, 1.0)[:, None], 1.0 / size_y)
        errors[s] = mu[fitted[np.arange(size_x), argmax] < 1 - DELTA].sum()
    return errors


SFT_SEED_BATCH = 16  # seeds per lax.map batch: a batch's [seeds, X, Y] count tables stay in cache


def sft_against_numpy(quick: bool) -> list[dict]:
    """Two sharpsim forms of one computation: ``jax.vmap`` over all seeds, and ``jax.lax.map`` in batches of
    ``SFT_SEED_BATCH`` seeds (the many-seed form of ``sharpsim.measure``), which keeps the per-seed count tables
    small instead of one [seeds, X, Y] array; both give the same errors, seed for seed."""
    num_x, num_y, num_prompts, num_samples = 64, 1024, 256, 64
    seeds = 32 if quick else 256
    base = random_base(num_x, num_y)
    model_class = ss.TabularClass.like(base)
    keys = jax.random.split(jax.random.PRNGKey(1), seeds)

    def error_of(oracle, base):
        def one(key):
            result, _ = ss.sft_sharpen(key, oracle, model_class, num_prompts, num_samples)
            return ss.sharpening_error(result.policy, base, DELTA)
        return one

    @jax.jit  # the base is an argument, not a closure: a closed-over table is constant-folded at length
    def vmapped(oracle, base, keys):
        return jax.vmap(error_of(oracle, base))(keys)

    @jax.jit
    def batched(oracle, base, keys):
        return jax.lax.map(error_of(oracle, base), keys, batch_size=min(SFT_SEED_BATCH, seeds))

    oracle = ss.Oracle(base)
    vmap_time = best_time(lambda: vmapped(oracle, base, keys))
    batched_time = best_time(lambda: batched(oracle, base, keys))
    numpy_time = best_time(lambda: _numpy_sft_errors(base, num_prompts, num_samples, seeds), repeats=3)
    ours_errors = np.asarray(vmapped(oracle, base, keys))
    if not np.array_equal(ours_errors, np.asarray(batched(oracle, base, keys))):
        raise AssertionError("the vmapped and the batched SFT runs must give the same errors, seed for seed")
    numpy_errors = _numpy_sft_errors(base, num_prompts, num_samples, seeds)
    spread = 1.96 * math.hypot(ours_errors.std() / math.sqrt(seeds), numpy_errors.std() / math.sqrt(seeds))
    setting = f"|X| = {num_x}, |Y| = {num_y}, n = {num_prompts}, N = {num_samples}, {seeds} seeds"
    agreement = (f"mean error {numpy_errors.mean():.4f} vs ours {ours_errors.mean():.4f}, difference "
                 f"{abs(numpy_errors.mean() - ours_errors.mean()):.4f} against a 95% bound {spread:.4f}")
    return [{"benchmark": "SFT-Sharpening over seeds", "ours": f"{ours:.3g} s ({form})", "setting": setting,
             "baseline": f"numpy per-seed loop {numpy_time:.3g} s ({agreement})",
             "ratio": numpy_time / ours, "meaning": "speed-up"}
            for ours, form in ((vmap_time, "jax.vmap over seeds"),
                               (batched_time, f"jax.lax.map, {SFT_SEED_BATCH} seeds a batch"))]


def exact_law_against_monte_carlo(quick: bool) -> list[dict]:
    num_x, num_y, num_prompts, num_samples, eps = 4, 16, 64, 8, 0.25
    base = random_base(num_x, num_y, seed=2)
    exact = best_time(lambda: ss.exact_sft_success_probability(base, num_prompts, num_samples, DELTA, eps))
    probability = float(ss.exact_sft_success_probability(base, num_prompts, num_samples, DELTA, eps))
    target_error = 1e-3
    needed = max(1, math.ceil(probability * (1 - probability) / target_error**2))
    timed_seeds = 64 if quick else 512
    model_class = ss.TabularClass.like(base)
    keys = jax.random.split(jax.random.PRNGKey(2), timed_seeds)

    @jax.jit
    def monte_carlo(oracle, base, keys):
        def one(key):
            result, _ = ss.sft_sharpen(key, oracle, model_class, num_prompts, num_samples)
            return ss.sharpening_error(result.policy, base, DELTA) <= eps
        return jax.vmap(one)(keys)

    per_seed = best_time(lambda: monte_carlo(ss.Oracle(base), base, keys)) / timed_seeds
    return [{"benchmark": "exact SFT law vs Monte Carlo", "ours": f"{exact * 1e3:.3g} ms (P = {probability:.4f})",
             "setting": f"|X| = {num_x}, |Y| = {num_y}, n = {num_prompts}, N = {num_samples}, ε = {eps}, δ = {DELTA}",
             "baseline": f"Monte Carlo at standard error {target_error:g}: {needed} seeds, {needed * per_seed:.3g} s",
             "ratio": needed * per_seed / exact, "meaning": "speed-up at equal accuracy"}]
