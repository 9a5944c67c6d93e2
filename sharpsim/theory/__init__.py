"""Every bound of the paper as a function named by its theorem."""

from sharpsim.theory.bounds import *  # noqa: F401,F403
