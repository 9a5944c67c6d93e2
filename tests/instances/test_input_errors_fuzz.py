"""Issue 12, regressions of the fuzz findings in ``sharpsim.instances`` (and the optimizer count they share with
``best_achievable_log_mass``): huge parameters and loop counts are refused at once, naming the argument, instead of
overflowing into a message about ``theta`` or running for hours."""

import time

import numpy as np
import pytest

import sharpsim as ss
from sharpsim.classes.optimizer import MAX_STEPS
from sharpsim.instances.autoregressive import MAX_SCALE, max_cut_brute_force, not_closed_best_mass


def _path_graph(num_vertices):
    return np.eye(num_vertices, k=1) + np.eye(num_vertices, k=-1)


def test_maxcut_refuses_a_scale_whose_norm_overflows():
    with pytest.raises(ValueError, match=r"^scale must be at most 1e\+100 .* got 1e\+300"):
        ss.make("maxcut", adjacency=_path_graph(3), scale=1e300)


def test_maxcut_accepts_the_largest_scale():
    policy = ss.make("maxcut", adjacency=_path_graph(3), scale=MAX_SCALE)
    assert np.all(np.isfinite(np.asarray(policy.theta)))


def test_not_closed_refuses_a_bound_whose_norm_overflows():
    with pytest.raises(ValueError, match=r"^bound must be at most 1e\+100 .* got 1e\+300"):
        ss.make("not_closed", bound=1e300)


def test_max_cut_brute_force_names_adjacency_for_64_vertices():
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"^adjacency: max_cut_brute_force tries all 2\^n labelings; n=64 vertices"):
        max_cut_brute_force(_path_graph(64))
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize("num_steps", [10**9, 10**30])
def test_not_closed_best_mass_refuses_a_huge_num_steps_at_once(num_steps):
    policy = ss.make("not_closed")
    start = time.perf_counter()
    with pytest.raises(ValueError, match=rf"^num_steps must be an integer in \[1, {MAX_STEPS}\] .* got {num_steps}"):
        not_closed_best_mass(policy, 1.0, num_steps=num_steps)
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize("num_steps", [10**9, 10**30])
def test_best_achievable_log_mass_refuses_a_huge_num_steps_at_once(num_steps):
    policy = ss.make("not_closed")
    with pytest.raises(ValueError, match=rf"^num_steps must be an integer in \[1, {MAX_STEPS}\]"):
        ss.best_achievable_log_mass(policy, np.array([1, 0]), 1.0, num_steps=num_steps)
