"""A trained small transformer as π_base: the modular-sum task with verifiable answers (``task``), the network
(``model``, equinox), deterministic training and the committed weights (``training``), the network as an
autoregressive policy behind the sealed oracle (``policy``), and the exact sequence argmax by best-first search with
C_cov, the margin and the coverage profile of the learned model (``search``)."""

from sharpsim.lm.model import Transformer, TransformerConfig, init_transformer
from sharpsim.lm.policy import TransformerPolicy
from sharpsim.lm.search import ArgmaxSearch, argmax_search, lm_coverage_coefficient, lm_coverage_profile, lm_margin
from sharpsim.lm.task import ModularSumTask
from sharpsim.lm.training import DEFAULT_WEIGHTS, LMConfig, TrainedLM, load_policy, load_trained, save_trained, train_lm

__all__ = [
    "DEFAULT_WEIGHTS",
    "ArgmaxSearch",
    "LMConfig",
    "ModularSumTask",
    "TrainedLM",
    "Transformer",
    "TransformerConfig",
    "TransformerPolicy",
    "argmax_search",
    "init_transformer",
    "lm_coverage_coefficient",
    "lm_coverage_profile",
    "lm_margin",
    "load_policy",
    "load_trained",
    "save_trained",
    "train_lm",
]
