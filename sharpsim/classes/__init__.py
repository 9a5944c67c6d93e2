"""Model classes Π for SFT-Sharpening and RLHF-Sharpening (Section 4; Appendix E; Definition J.3; Appendix H): each
has ``fit(prompts, responses, weights=None)``, the maximum-likelihood estimate over Π, returning a ``TabularPolicy``
or a fit object with ``.to_tabular()``; each is a pytree, so ``fit`` runs under ``jit`` and ``vmap`` over seeds."""

from sharpsim.classes.autoregressive_linear import (
    AutoregressiveLinearClass,
    AutoregressiveLinearFit,
    best_achievable_log_mass,
)
from sharpsim.classes.finite import FiniteClass, FiniteFit, ProductClass
from sharpsim.classes.hard import HardClass
from sharpsim.classes.linear_softmax import LinearSoftmaxClass, LinearSoftmaxFit
from sharpsim.classes.optimizer import BallSolution, minimize_on_balls, project_to_balls
from sharpsim.classes.tabular import TabularClass
