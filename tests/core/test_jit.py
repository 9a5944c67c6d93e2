"""counted_jit counts traces, not calls."""

import jax.numpy as jnp

from sharpsim.core.jit import counted_jit


def test_counted_jit_counts_traces_not_calls():
    @counted_jit
    def double(x):
        return 2 * x

    for value in (1.0, 2.0, 3.0):
        double(jnp.asarray(value))
    assert double.trace_count == 1
    double(jnp.ones(3))  # a new shape is a new trace
    assert double.trace_count == 2
