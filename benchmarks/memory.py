"""Peak memory of the large-policy and many-seed paths, each measured in a fresh child process (the rise of its peak
resident set size over the measurement, VmHWM reset through /proc/self/clear_refs: Linux), in units of one array of
the computation."""

from __future__ import annotations

import json
import subprocess
import sys

CHILD = r"""
import json, sys
import numpy as np
import jax, jax.numpy as jnp
import sharpsim as ss


def status(field):
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) * 1024 for line in handle if line.startswith(field))


def reset_peak():
    # writing 5 to clear_refs resets the peak resident set size (VmHWM) to the current one (Linux >= 4.0)
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")
    return status("VmRSS:")


kind, a, b, c = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
if kind == "policy":
    ss.TabularPolicy(np.full((2, 3), 1 / 3))  # warm the code paths on a tiny policy
    before = reset_peak()
    probs = np.empty((a, b))
    np.random.default_rng(0).random(out=probs)
    probs /= probs.sum(axis=1, keepdims=True)  # in place: the input is one array
    policy = ss.TabularPolicy(probs)
    draws, _ = ss.Oracle(policy).sample(jax.random.PRNGKey(0), jnp.arange(a), 4)
    jax.block_until_ready(draws.responses)
    array = a * b * 8
else:
    base = ss.TabularPolicy(np.full((b, 64), 1 / 64))
    run = jax.jit(lambda oracle, prompts, keys: jax.vmap(
        lambda k: ss.best_of_n(k, oracle, prompts, c)[0].log_probs)(keys))
    small = jax.random.split(jax.random.PRNGKey(1), a)
    jax.block_until_ready(run(ss.Oracle(base), jnp.arange(b), small))  # compile outside the measurement
    keys = jax.random.split(jax.random.PRNGKey(0), a)
    before = reset_peak()
    jax.block_until_ready(run(ss.Oracle(base), jnp.arange(b), keys))
    array = a * b * c * 8
print(json.dumps({"peak_increase": status("VmHWM:") - before, "array": array}))
"""


def _child(kind: str, *sizes: int) -> dict:
    output = subprocess.run([sys.executable, "-c", CHILD, kind, *map(str, sizes)], capture_output=True, text=True,
                            check=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


def peak_memory(quick: bool) -> list[dict]:
    rows = []
    policy = (100, 10**5) if quick else (1000, 10**5)
    measured = _child("policy", *policy, 0)
    rows.append({"benchmark": "peak memory: large policy", "setting": f"TabularPolicy {policy[0]} × {policy[1]}, "
                 "built and sampled (4 draws a prompt)",
                 "ours": f"+{measured['peak_increase'] / 2**20:.0f} MiB", "baseline":
                 f"one array {measured['array'] / 2**20:.0f} MiB", "ratio": measured["peak_increase"] /
                 measured["array"], "meaning": "peak over the start, in arrays, the input included (2 is the target)"})
    seeds = (1024, 64, 64) if quick else (8192, 64, 64)
    measured = _child("seeds", *seeds)
    rows.append({"benchmark": "peak memory: many seeds", "setting": f"best-of-N, {seeds[0]} seeds × |X| = "
                 f"{seeds[1]} × N = {seeds[2]}, |Y| = 64",
                 "ours": f"+{measured['peak_increase'] / 2**20:.0f} MiB", "baseline":
                 f"one [seeds, X, N] float64 array {measured['array'] / 2**20:.0f} MiB",
                 "ratio": measured["peak_increase"] / measured["array"], "meaning": "peak over the start, in arrays"})
    return rows
