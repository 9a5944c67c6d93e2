"""The command line's persistent compilation cache: where it lives and how it is turned off."""

import os
from pathlib import Path

import pytest

from sharpsim.runner.compile_cache import compile_cache_folder, use_quick_compilation


@pytest.mark.parametrize("value", ["off", "0", "False", "no"])
def test_the_cache_is_turned_off_by_the_environment(monkeypatch, value):
    monkeypatch.setenv("SHARPSIM_COMPILE_CACHE", value)
    assert compile_cache_folder() is None


def test_the_cache_folder_defaults_to_the_user_cache_and_can_be_moved(monkeypatch, tmp_path):
    monkeypatch.delenv("SHARPSIM_COMPILE_CACHE", raising=False)
    assert compile_cache_folder() == Path.home() / ".cache" / "sharpsim" / "jax"
    monkeypatch.setenv("SHARPSIM_COMPILE_CACHE", str(tmp_path / "elsewhere"))
    assert compile_cache_folder() == tmp_path / "elsewhere"


def test_quick_runs_turn_the_backend_optimizer_off_and_keep_a_user_setting(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=1")
    assert use_quick_compilation()
    assert os.environ["XLA_FLAGS"].split() == ["--xla_force_host_platform_device_count=1",
                                               "--xla_backend_optimization_level=0"]
    monkeypatch.setenv("XLA_FLAGS", "--xla_backend_optimization_level=3")
    assert not use_quick_compilation()
    assert os.environ["XLA_FLAGS"] == "--xla_backend_optimization_level=3"
    monkeypatch.delenv("XLA_FLAGS")
    assert use_quick_compilation() and os.environ["XLA_FLAGS"] == "--xla_backend_optimization_level=0"


def test_the_command_line_sets_the_quick_flag_only_for_quick_runs(monkeypatch, tmp_path):
    from sharpsim.runner import cli

    monkeypatch.setenv("SHARPSIM_COMPILE_CACHE", "off")  # main() would turn the cache on in this test process
    seen = []
    monkeypatch.setattr(cli, "use_quick_compilation", lambda: seen.append(True))
    monkeypatch.setattr(cli, "command_list", lambda arguments: 0)
    assert cli.main(["list"]) == 0 and seen == []
    monkeypatch.setattr(cli, "command_reproduce", lambda arguments: 0)
    assert cli.main(["reproduce", "--quick", "--out", str(tmp_path)]) == 0 and seen == [True]


def test_the_command_lines_quick_flag_does_not_outlive_the_call(monkeypatch, tmp_path):
    from sharpsim.runner import cli

    monkeypatch.setenv("SHARPSIM_COMPILE_CACHE", "off")
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=1")
    flags_during = []
    monkeypatch.setattr(cli, "command_reproduce", lambda arguments: flags_during.append(os.environ["XLA_FLAGS"]) or 0)
    assert cli.main(["reproduce", "--quick", "--out", str(tmp_path)]) == 0
    assert "--xla_backend_optimization_level=0" in flags_during[0]
    assert os.environ["XLA_FLAGS"] == "--xla_force_host_platform_device_count=1"
    monkeypatch.delenv("XLA_FLAGS")
    assert cli.main(["reproduce", "--quick", "--out", str(tmp_path)]) == 0
    assert "XLA_FLAGS" not in os.environ
