"""Model classes Π for SFT-Sharpening (digest §2): each has ``fit(prompts, responses, weights=None)``, the
maximum-likelihood estimate over Π, returning a ``TabularPolicy`` or a fit object with ``.to_tabular()``;
each is a pytree, so ``fit`` runs under ``jit`` and ``vmap`` over seeds."""

from sharpsim.classes.autoregressive_linear import AutoregressiveLinearClass, AutoregressiveLinearFit
from sharpsim.classes.finite import FiniteClass, FiniteFit, ProductClass
from sharpsim.classes.linear_softmax import LinearSoftmaxClass, LinearSoftmaxFit
from sharpsim.classes.tabular import TabularClass

__all__ = ["AutoregressiveLinearClass", "AutoregressiveLinearFit", "FiniteClass", "FiniteFit", "LinearSoftmaxClass", "LinearSoftmaxFit", "ProductClass", "TabularClass"]
