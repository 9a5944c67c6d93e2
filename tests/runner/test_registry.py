"""Every registered experiment is well formed, and its analysis survives a one-value grid (as `sharpsim run --set`
produces when a user explores a single regime)."""

import pytest

from sharpsim.runner.cli import main
from sharpsim.runner.experiment import Experiment, experiment_names, get_experiment


@pytest.mark.parametrize("name", experiment_names())
def test_experiment_is_well_formed(name):
    experiment = get_experiment(name)
    assert isinstance(experiment, Experiment) and experiment.name == name
    assert experiment.title and experiment.seeds >= 1
    assert set(experiment.sweep.quick_grid) <= set(experiment.grid)
    assert experiment.resolved_grid(quick=True)


@pytest.mark.slow
@pytest.mark.parametrize("name", experiment_names())
def test_analysis_survives_a_single_value_on_an_axis(name, tmp_path, capsys):
    grid = get_experiment(name).resolved_grid(quick=True)
    axis = next((a for a, values in grid.items() if len(values) > 1), None)
    if axis is None:
        pytest.skip(f"{name}'s quick grid has a single cell already")
    value = repr(grid[axis][0]).replace(" ", "")
    code = main(["run", name, "--quick", "--no-progress", "--set", f"{axis}={value}", "--out", str(tmp_path)])
    assert code == 0, capsys.readouterr().err
