"""Every bound of the paper as a function named by its result: the lower bounds (``lower_bounds``), best-of-N and
SFT-Sharpening (``sft``), RLHF-Sharpening (``rlhf``)."""

from sharpsim.theory.lower_bounds import *  # noqa: F401,F403
from sharpsim.theory.rlhf import *  # noqa: F401,F403
from sharpsim.theory.sft import *  # noqa: F401,F403
