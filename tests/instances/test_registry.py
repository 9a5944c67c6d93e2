"""The instance registry: names, look-up, errors, registration, and every built-in family registered."""

import subprocess
import sys

import numpy as np
import pytest

from sharpsim import family_names, make, register_family


def test_registry_lists_the_families_sorted():
    names = family_names()
    assert names == sorted(names)
    assert {"needle", "near_tie", "two_type", "ties", "dirichlet", "zipf"} <= set(names)


def test_make_equals_direct_builder():
    from sharpsim.instances.tabular import needle

    a = make("needle", num_prompts=3, num_responses=5, coverage=2.0)
    b = needle(num_prompts=3, num_responses=5, coverage=2.0)
    np.testing.assert_array_equal(np.asarray(a.probs), np.asarray(b.probs))


def test_make_errors():
    with pytest.raises(ValueError, match=r"unknown instance family 'nope' \(name must be a registered family\); "
                                         r"known families: .*dirichlet, .*needle"):
        make("nope")
    with pytest.raises(TypeError, match=r"family 'needle' got unknown parameter\(s\) \['foo'\]; it accepts \["):
        make("needle", foo=1)
    with pytest.raises(ValueError, match=r"instance family 'needle' is already registered"):
        register_family("needle")(lambda: None)


@pytest.mark.slow
def test_register_family_in_a_fresh_process():
    """Registering adds a name that make() builds (in a subprocess, so the shared registry stays clean)."""
    code = (
        "import sharpsim\n"
        "@sharpsim.register_family('_probe')\n"
        "def _probe(size=2):\n"
        "    return sharpsim.TabularPolicy([[1.0 / size] * size])\n"
        "assert '_probe' in sharpsim.family_names()\n"
        "assert sharpsim.make('_probe', size=4).num_responses == 4\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_every_builtin_family_is_registered():
    expected = {"needle", "near_tie", "two_type", "ties", "dirichlet", "zipf", "hard", "sphere", "pivotal",
                "greedy_threshold", "not_closed", "maxcut", "bitstring", "random_tree", "random_markov"}
    assert expected <= set(family_names()), sorted(expected - set(family_names()))
