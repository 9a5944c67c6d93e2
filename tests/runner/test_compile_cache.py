"""The command line's persistent compilation cache: where it lives and how it is turned off."""

from pathlib import Path

import pytest

from sharpsim.runner.compile_cache import compile_cache_folder


@pytest.mark.parametrize("value", ["off", "0", "False", "no"])
def test_the_cache_is_turned_off_by_the_environment(monkeypatch, value):
    monkeypatch.setenv("SHARPSIM_COMPILE_CACHE", value)
    assert compile_cache_folder() is None


def test_the_cache_folder_defaults_to_the_user_cache_and_can_be_moved(monkeypatch, tmp_path):
    monkeypatch.delenv("SHARPSIM_COMPILE_CACHE", raising=False)
    assert compile_cache_folder() == Path.home() / ".cache" / "sharpsim" / "jax"
    monkeypatch.setenv("SHARPSIM_COMPILE_CACHE", str(tmp_path / "elsewhere"))
    assert compile_cache_folder() == tmp_path / "elsewhere"

