"""``sharpsim explore``: the table, the cheapest map, user methods, argument errors and resume."""

from __future__ import annotations

import math
from pathlib import Path

import jax
import numpy as np
import pandas as pd
import pytest

import sharpsim as ss
from sharpsim import theory
from sharpsim.explore import check_spec, parse_axis, resolve_methods, run_explore, tidy_table
from sharpsim.explore.axes import paddings
from sharpsim.explore.figure import cheapest_index
from sharpsim.explore.regime_map import NAME, explore_layout, summarize_rows
from sharpsim.measure.allocation import allocation_threshold
from sharpsim.measure.sft_search import samples_grid, search_sft_optimum
from sharpsim.runner.sweep import cell_id, cell_key

USER = str(Path(__file__).with_name("user_methods.py")) + ":first_seen"
FAMILY_PARAMS = {"num_prompts": 4, "num_responses": 16, "eps": 0.5}
SEEDS = 12


@pytest.fixture(scope="module")
def explored(tmp_path_factory):
    """A tiny map (needle, C_cov ∈ {1.25, 2}, δ ∈ {0.25}) with SFT, the lower bound and a user method
    given by path:FUNCTION, run once; then run again into the same folder."""
    spec = check_spec("needle", ("coverage", [1.25, 2.0]), ("delta", [0.25]), FAMILY_PARAMS)
    methods = resolve_methods(["sft", "lower_bound", USER], "needle")
    layout = explore_layout(tmp_path_factory.mktemp("explore"), name="tiny")
    first = run_explore(spec, methods, layout, seeds=SEEDS, progress=False)
    second = run_explore(spec, methods, layout, seeds=SEEDS, progress=False)
    return spec, methods, layout, first, second


@pytest.mark.slow  # shares a module fixture that runs a small map (about 45 s)
def test_the_map_writes_its_table_and_figure_and_resumes(explored):
    spec, methods, layout, first, second = explored
    assert first.computed_cells == 2 * 3 and second.computed_cells == 0 and second.stored_cells == 6
    table = pd.read_csv(layout.results_dir / "map.csv")
    assert len(table) == 6 and set(table["method"]) == {"sft", "lower_bound", USER}
    assert layout.figure_path.is_file() and layout.figure_path.stat().st_size > 10_000
    assert layout.figure_path == layout.results_dir.parents[2] / "figures" / NAME / "tiny.png"


@pytest.mark.slow  # shares a module fixture that runs a small map (about 45 s)
def test_sft_m_star_is_the_measure_functions_value(explored):
    """The table's SFT m* against ``search_sft_optimum`` + ``allocation_threshold`` called directly at the cell."""
    spec, methods, layout, first, _ = explored
    table = pd.read_csv(layout.results_dir / "map.csv")
    for coverage in spec.x_values[1:]:  # one instance is enough (each search takes seconds)
        params = {"coverage": coverage, "delta": 0.25, "method": "sft"}
        key = cell_key(0, cell_id(NAME, params, SEEDS, 0))
        policy = ss.make("needle", num_prompts=4, num_responses=16, coverage=coverage)
        eps, delta, rho = 0.5, 0.25, 0.1
        prescribed = float(theory.thm_4_1_num_samples(float(ss.coverage_coefficient(policy)), eps, delta))
        rows = search_sft_optimum(policy, ss.TabularClass.like(policy), jax.random.split(key, SEEDS), eps, delta,
                                  rho, samples_grid(prescribed, below=max(16.0, prescribed)),
                                  paddings(spec)["sft_prompts"])
        want = allocation_threshold(pd.DataFrame(rows), 1 - rho, ["num_samples"])
        got = table[(table["method"] == "sft") & (table["coverage"] == coverage)].iloc[0]
        assert (got["m_star"], got["m_low"], got["m_high"]) == (want["m_star"], want["m_low"], want["m_high"])
        assert got["num_samples_star"] == want["num_samples_star"]
        # the exact referee agrees that the allocation found succeeds about as often as the target asks
        exact = ss.exact_sft_success_probability(policy, int(got["n_star"]), int(got["num_samples_star"]), delta, eps)
        assert exact >= 0.6


@pytest.mark.slow  # shares a module fixture that runs a small map (about 45 s)
def test_a_user_method_appears_in_table_and_figure(explored):
    spec, methods, layout, first, _ = explored
    table = pd.read_csv(layout.results_dir / "map.csv")
    user = table[table["method"] == USER].set_index("coverage")
    assert user.loc[1.25, "label"] == "user_methods.py:first_seen (user)" and math.isfinite(user.loc[1.25, "m_star"])
    # at C_cov = 2 the first sample is y* only half the time: no budget reaches 1 − ρ, reported as inf
    assert user.loc[2.0, "m_star"] == math.inf
    assert any("user_methods.py:first_seen (user)" in title for title in first.summary["figure_panels"])


@pytest.mark.slow  # shares a module fixture that runs a small map (about 45 s)
def test_the_cheapest_map_agrees_with_the_table(explored):
    spec, methods, layout, _, _ = explored
    table = pd.read_csv(layout.results_dir / "map.csv")
    competing = [m for m in methods if m.competes]
    index = cheapest_index(table, spec, competing)
    for j, coverage in enumerate(spec.x_values):
        rows = table[(table["coverage"] == coverage) & table["competes"]]
        finite = rows[np.isfinite(rows["m_star"])]
        want = [m.name for m in competing].index(finite.loc[finite["m_star"].idxmin(), "method"])
        assert index[0, j] == want
        assert rows.loc[rows["cheapest"], "method"].tolist() == [competing[want].name]
        bound = table[(table["coverage"] == coverage) & (table["method"] == "lower_bound")]["m_star"].iloc[0]
        assert rows.loc[rows["cheapest"], "ratio_to_lower_bound"].iloc[0] == pytest.approx(
            finite["m_star"].min() / bound)


def _rows(measure, budgets, successes, trials, samples, **extra):
    size = len(budgets)
    return pd.DataFrame({"budget": budgets, "successes": successes, "trials": trials, "samples": samples,
                         "measure": [measure] * size, "target": [0.9] * size, **extra})


def test_summarize_rows_reads_exact_and_theory_measures():
    exact = _rows("exact", [1, 2, 4, 3], [0, 0, 1, 1], [1, 1, 1, 1], [1.0, 2.0, 4.0, 3.0])
    assert summarize_rows(exact)["m_star"] == 3.0 and summarize_rows(exact)["m_high"] == 3.0
    theory_rows = _rows("theory", [1], [1], [1], [1234.5])
    assert summarize_rows(theory_rows)["m_star"] == 1234.5
    with pytest.raises(ValueError, match="measure"):
        summarize_rows(_rows("guess", [1], [1], [1], [1.0]))


def test_tidy_table_picks_the_cheapest_with_ties_in_method_order():
    spec = check_spec("needle", ("coverage", [2.0]), ("eps", [0.2]), {"num_prompts": 2, "num_responses": 8})
    methods = resolve_methods(["sft", "rlhf", "lower_bound"], "needle")
    constants = {"coverage": 2.0, "eps": 0.2, "coverage_actual": 2.0, "mode_coverage": 2.0, "margin_actual": 5.0,
                 "num_prompts_actual": 2.0, "num_responses_actual": 8.0, "log_class_size": 4.0, "target_eps": 0.2,
                 "target_delta": 0.25, "target_rho": 0.1, "theory_label": "", "theory_rate": 1.0, "seeds": 40}
    frames = [_rows("exact", [10, 20], [0, 1], [1, 1], [10.0, 20.0], method=["sft"] * 2),
              _rows("exact", [20], [1], [1], [20.0], method=["rlhf"]),
              _rows("theory", [1], [1], [1], [80.0], method=["lower_bound"])]
    table = pd.concat([frame.assign(**constants) for frame in frames], ignore_index=True)
    tidy = tidy_table(table, spec, methods).set_index("method")
    assert tidy["cheapest"].to_dict() == {"sft": True, "rlhf": False, "lower_bound": False}
    assert not tidy.loc["sft", "cheapest_clear"]  # rlhf's m* equals it
    assert tidy.loc["sft", "ratio_to_lower_bound"] == pytest.approx(0.25)


@pytest.mark.parametrize("family, x, y, params, argument", [
    ("nope", ("coverage", [2]), ("eps", [0.1]), {}, "--family"),
    ("needle", ("colour", [2]), ("eps", [0.1]), {}, "--x"),
    ("needle", ("coverage", [2]), ("temperature", [0.1]), {}, "--y"),
    ("needle", ("coverage", [2]), ("coverage", [4]), {}, "--x and --y"),
    ("needle", ("coverage", [2]), ("eps", [1.5]), {}, "eps"),
    ("needle", ("coverage", [2]), ("eps", [0.1]), {"colour": 1}, "--param"),
    ("needle", ("coverage", [2]), ("eps", [0.1]), {"eps": 0.2}, "--param"),
    ("needle", ("coverage", [200]), ("eps", [0.1]), {}, "coverage=200"),
])
def test_bad_axes_are_one_line_value_errors(family, x, y, params, argument):
    with pytest.raises(ValueError, match=argument.replace("-", r"\-")) as error:
        check_spec(family, x, y, params)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("names, match", [
    (["sft", "sft"], "repeats"), (["magic"], "neither a built-in"), (["no_such_module_xyz:f"], "cannot import"),
    ([str(Path(__file__).with_name("user_methods.py")) + ":missing"], "has no 'missing'"),
    ([str(Path(__file__).with_name("user_methods.py")) + ":NOT_A_FUNCTION"], "not a function"),
    (["nowhere/file.py:f"], "no file"), (["rlhf"], "does not run on family 'hard'"), ([], "at least one"),
])
def test_bad_methods_are_value_errors_naming_methods(names, match):
    family = "hard" if names == ["rlhf"] else "needle"
    with pytest.raises(ValueError, match=match) as error:
        resolve_methods(names, family)
    assert "--methods" in str(error.value)


@pytest.mark.parametrize("text, expected", [("coverage=2,4,8", ("coverage", [2, 4, 8])),
                                            ("eps = 0.05, 0.1", ("eps", [0.05, 0.1]))])
def test_parse_axis(text, expected):
    assert parse_axis(text, "--x") == expected


@pytest.mark.parametrize("text", ["coverage", "coverage=", "=1,2", "coverage=a", "coverage=1,nan", "coverage=2,2",
                                  "coverage=True"])
def test_parse_axis_refuses_naming_the_argument(text):
    with pytest.raises(ValueError, match="--y"):
        parse_axis(text, "--y")


@pytest.mark.slow  # shares a module fixture that runs a small map (about 45 s)
def test_the_cells_of_a_map_share_one_compilation(explored):
    """Every cell of a map is padded alike: a further SFT cell at another instance traces nothing new."""
    from sharpsim.explore.axes import build, quantities
    from sharpsim.explore.methods import Cell
    from sharpsim.referee.sft_laws import pairs_success_law

    spec, methods, _, _, _ = explored
    padding = paddings(spec)
    sft = next(m for m in methods if m.name == "sft")
    counts = []
    for coverage in (1.5, 3.0):  # instances the map never built, inside its padding
        point = spec.point(coverage, 0.25)
        policy = build("needle", point, padding)
        sft.run(Cell("needle", point, policy, jax.random.split(jax.random.PRNGKey(2), SEEDS), padding,
                     quantities("needle", policy)))
        counts.append(pairs_success_law.trace_count)
    assert counts[1] == counts[0]
