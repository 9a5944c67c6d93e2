"""XPO's time per round against the number of rounds T: a run of T rounds should cost O(T), i.e. a flat time per
round and a log-log slope of total time on T near 1."""

from __future__ import annotations

import time

import jax
import numpy as np

import sharpsim as ss
from benchmarks.kernels import random_base
from benchmarks.timing import best_time


def xpo_time_per_round(quick: bool) -> list[dict]:
    rounds = (16, 64) if quick else (32, 128, 512, 2048)
    base = random_base(4, 16, seed=3)
    model_class = ss.TabularClass.like(base)
    key = jax.random.PRNGKey(3)
    first, seconds = [], []
    for num_rounds in rounds:
        def run():
            result, _ = ss.xpo_sharpen(key, ss.Oracle(base), model_class, num_rounds, 0.5, 0.1, num_steps=20,
                                       num_validation=16, reward_range=8.0, value_range=8.0)
            return result.policy.probs
        start = time.perf_counter()
        jax.block_until_ready(run())
        first.append(time.perf_counter() - start)  # compilation included
        seconds.append(best_time(run, repeats=2))  # a call with the same T again
    slope = float(np.polyfit(np.log(rounds), np.log(seconds), 1)[0])
    per_round = ", ".join(f"T = {t}: {s / t * 1e3:.3g} ms ({f:.2g} s first call)"
                          for t, s, f in zip(rounds, seconds, first))
    return [{"benchmark": "XPO time per round", "setting": "tabular class, |X| = 4, |Y| = 16, 20 Adam steps a round; "
             "a repeated call (first call with compilation in parentheses)",
             "ours": per_round, "baseline": "O(T): slope 1", "ratio": slope,
             "meaning": "log-log slope of run time on T (1 is linear)"}]
