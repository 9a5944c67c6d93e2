"""What every instance over a linear softmax class Π_{φ,B} shares (``sphere``, ``hidden_sphere``,
``linear_margin``): its sizes, the class's radius B, and realizability of π*_β (Assumption 4.3 / J.3)."""

from __future__ import annotations

import numpy as np

from sharpsim.core.validation import check_in_interval


class LinearInstance:
    """Mixin for a dataclass with ``features`` [X, Y, d], ``model_class`` (a ``LinearSoftmaxClass``) and
    ``theta_star`` (π_base = π_{θ*})."""

    @property
    def dimension(self) -> int:
        return self.features.shape[-1]

    @property
    def num_responses(self) -> int:
        return self.features.shape[1]

    @property
    def radius(self) -> float:
        return float(self.model_class.radius)

    def realizes(self, beta: float) -> bool:
        """Whether π*_β = π_{(1+1/β)θ*} lies in the class (Assumption 4.3 / J.3): (1 + 1/β)‖θ*‖ ≤ B."""
        beta = check_in_interval(beta, "beta", 0.0, np.inf, False, False)
        return bool((1.0 + 1.0 / beta) * np.linalg.norm(self.theta_star) <= self.radius * (1 + 1e-12))
