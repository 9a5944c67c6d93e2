"""The runner: experiments as folders (``experiment``: ``Sweep``, ``Experiment``, ``load_experiment``), the resumable
sweep store (``sweep``) and its per-folder lock (``lock``), the command line (``cli``) and the figure helpers (``figures``)."""

from sharpsim.runner.experiment import Experiment, Sweep, experiment_module, get_experiment, load_experiment
from sharpsim.runner.lock import FolderInUseError, hold_folder
