"""Peak memory of the large-policy and many-seed paths, each measured in a fresh child process (the rise of its peak
resident set size over a phase, VmHWM reset through /proc/self/clear_refs: Linux), in units of one array of the
computation. Compilation happens before a phase starts (a warm-up on a tiny policy, an ahead-of-time compile of the
many-seed program), so a phase measures the run alone."""

from __future__ import annotations

import json
import subprocess
import sys

CHILD = r"""
import gc, json, sys
import numpy as np
import jax, jax.numpy as jnp
import sharpsim as ss
from sharpsim.algorithms.best_of_n import best_of_n_over_seeds


def status(field):
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) * 1024 for line in handle if line.startswith(field))


def reset_peak():
    # writing 5 to clear_refs resets the peak resident set size (VmHWM) to the current one (Linux >= 4.0)
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")
    return status("VmRSS:")


def rise(before):
    return status("VmHWM:") - before


kind, a, b, c = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
if kind == "policy":
    warm = ss.TabularPolicy(np.full((2, 3), 1 / 3))  # compile the code paths on a tiny policy
    ss.Oracle(warm).sample(jax.random.PRNGKey(0), jnp.arange(2), 4)
    before = reset_peak()
    probs = np.empty((a, b))
    np.random.default_rng(0).random(out=probs)
    probs /= probs.sum(axis=1, keepdims=True)  # in place: the input is one array
    policy = ss.TabularPolicy(probs)
    jax.block_until_ready(policy.probs)  # the copy into JAX may complete asynchronously
    built = rise(before)
    del probs  # the caller's input dropped: the policy holds its own table
    gc.collect()  # JAX's transfer of a numpy input keeps a reference that only a collection releases
    before = reset_peak()
    oracle = ss.Oracle(policy)
    draws, _ = oracle.sample(jax.random.PRNGKey(0), jnp.arange(a), 4)
    jax.block_until_ready(draws.responses)
    first = rise(before)
    before = reset_peak()
    draws, _ = oracle.sample(jax.random.PRNGKey(1), jnp.arange(a), 4)
    jax.block_until_ready(draws.responses)
    print(json.dumps({"built": built, "first_sample": first, "second_sample": rise(before), "array": a * b * 8}))
else:
    base = ss.TabularPolicy(np.full((b, 64), 1 / 64))
    oracle, prompts = ss.Oracle(base), jnp.arange(b)
    keys = jax.random.split(jax.random.PRNGKey(0), a)
    run = jax.jit(lambda keys, oracle, prompts: best_of_n_over_seeds(keys, oracle, prompts, c).log_probs)
    compiled = run.lower(keys, oracle, prompts).compile()  # compile outside the measurement
    before = reset_peak()
    jax.block_until_ready(compiled(keys, oracle, prompts))
    print(json.dumps({"peak_increase": rise(before), "array": a * b * c * 8}))
"""


def _child(kind: str, *sizes: int) -> dict:
    output = subprocess.run([sys.executable, "-c", CHILD, kind, *map(str, sizes)], capture_output=True, text=True,
                            check=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


def _mib(size: float) -> str:
    return f"{size / 2**20:.0f} MiB"


def peak_memory(quick: bool) -> list[dict]:
    rows = []
    policy = (100, 10**5) if quick else (1000, 10**5)
    measured = _child("policy", *policy, 0)
    array = measured["array"]
    setting = f"TabularPolicy {policy[0]} × {policy[1]} from a float64 numpy table"
    rows.append({"benchmark": "peak memory: large policy, built", "setting": setting,
                 "ours": f"+{_mib(measured['built'])}", "baseline": f"one array {_mib(array)}",
                 "ratio": measured["built"] / array,
                 "meaning": "peak over the start in arrays, the input included (2: the input and the policy's table)"})
    rows.append({"benchmark": "peak memory: large policy, sampled", "setting": setting + ", input dropped, then 4 "
                 f"draws a prompt twice (the second call +{_mib(measured['second_sample'])}: the CDF is kept)",
                 "ours": f"+{_mib(measured['first_sample'])}", "baseline": f"one array {_mib(array)}",
                 "ratio": measured["first_sample"] / array,
                 "meaning": "peak over the built policy in arrays (1: its CDF, computed once and kept)"})
    for seeds in ([(1000, 100, 10), (10, 100, 1000)] if quick else [(10**4, 1000, 10), (100, 1000, 1000)]):
        measured = _child("seeds", *seeds)
        rows.append({"benchmark": "peak memory: many seeds", "setting": f"best_of_n_over_seeds, {seeds[0]} seeds × "
                     f"{seeds[1]} prompts × N = {seeds[2]}, |Y| = 64 (seed batches of ≤ 256 MiB of draws)",
                     "ours": f"+{_mib(measured['peak_increase'])}",
                     "baseline": f"one [seeds, X, N] float64 array {_mib(measured['array'])}",
                     "ratio": measured["peak_increase"] / measured["array"], "meaning": "peak over the start, in arrays"})
    return rows
