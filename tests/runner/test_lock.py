"""One run at a time per results folder: the lock waits or refuses, dies with its holder, and leaves no file;
a failed run removes the folders it created."""

import os
import signal
import subprocess
import sys
import threading
import time

import pandas as pd
import pytest

from sharpsim.runner.cli import main
from sharpsim.runner.experiment import load_experiment
from sharpsim.runner.lock import LOCK_NAME, FolderInUseError, hold_folder, make_folders, remove_created_folders
from sharpsim.runner.sweep import default_layout, run_experiment
from tests.runner.toy_experiments import stray_files, write_toy_experiment


def test_a_held_folder_is_refused_without_waiting_and_names_the_holder(tmp_path):
    folder = tmp_path / "results" / "toy"
    with hold_folder(folder):
        assert (folder / LOCK_NAME).read_text() == f"{os.getpid()}\n"
        with pytest.raises(FolderInUseError, match=f"results folder {folder} is in use by the run of pid "
                                                   f"{os.getpid()}"):
            with hold_folder(folder, wait=False):
                pass
    assert not (folder / LOCK_NAME).exists()  # the holder deletes it when it lets go
    with hold_folder(folder, wait=False):  # free again
        pass


def test_a_second_run_waits_for_the_first_and_says_so(tmp_path, capsys):
    experiment = load_experiment(write_toy_experiment(tmp_path / "toy"))
    layout = default_layout("toy", tmp_path / "out")
    entered, release = threading.Event(), threading.Event()

    def holder():
        with hold_folder(layout.results_dir):
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    entered.wait(10)
    threading.Timer(0.3, release.set).start()
    started = time.monotonic()
    output = run_experiment(experiment, layout, progress=False)
    thread.join()
    assert time.monotonic() - started >= 0.3 and output.computed_cells == 4
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [f"sharpsim: waiting for the run of pid {os.getpid()} that holds {layout.results_dir}"]
    assert stray_files(tmp_path / "out") == []


def test_the_lock_keeps_concurrent_holders_apart_while_its_file_is_deleted_and_recreated(tmp_path):
    # every release deletes the lock file; a waiter that wakes on the deleted file must start over, not enter
    folder, inside, most, counter = tmp_path / "shared", [0], [0], tmp_path / "counter"
    counter.write_text("0")

    def worker():
        for _ in range(15):
            with hold_folder(folder):
                inside[0] += 1
                most[0] = max(most[0], inside[0])
                value = int(counter.read_text())
                time.sleep(0.0005)
                counter.write_text(str(value + 1))
                inside[0] -= 1

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 1 and counter.read_text() == "60"
    assert not (folder / LOCK_NAME).exists()


def test_the_lock_of_a_killed_run_does_not_block(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    # a run killed while it held the folder: its lock file stays, with its pid, but the kernel drops the lock
    script = ("import fcntl, os, sys, time; f = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
              "fcntl.flock(f, fcntl.LOCK_EX); os.write(f, b'%d\\n' % os.getpid()); print('held', flush=True); "
              "time.sleep(60)")
    process = subprocess.Popen([sys.executable, "-c", script, str(folder / LOCK_NAME)], stdout=subprocess.PIPE,
                               text=True)
    assert process.stdout.readline() == "held\n"
    with pytest.raises(FolderInUseError, match=f"pid {process.pid}"):
        with hold_folder(folder, wait=False):
            pass
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert (folder / LOCK_NAME).exists()
    with hold_folder(folder, wait=False):
        assert (folder / LOCK_NAME).read_text() == f"{os.getpid()}\n"


def test_no_wait_on_the_command_line_is_one_line_and_exit_2(tmp_path, capsys):
    folder = write_toy_experiment(tmp_path / "toy")
    arguments = ["run", str(folder), "--no-progress", "--out", str(tmp_path / "out")]
    assert main(arguments) == 0
    (results,) = (tmp_path / "out" / "runs").iterdir()
    capsys.readouterr()
    with hold_folder(results):
        assert main([*arguments, "--no-wait"]) == 2
    error = capsys.readouterr().err
    assert error == (f"sharpsim: error: results folder {results} is in use by the run of pid {os.getpid()}; let it "
                     "finish, or wait for it (leave out --no-wait)\n")


def test_make_folders_reports_what_it_created_and_removal_keeps_what_is_not_empty(tmp_path):
    (tmp_path / "a").mkdir()
    created = make_folders(tmp_path / "a" / "b" / "c" / "d")
    assert created == [tmp_path / "a" / "b", tmp_path / "a" / "b" / "c", tmp_path / "a" / "b" / "c" / "d"]
    assert make_folders(tmp_path / "a" / "b") == []
    (tmp_path / "a" / "b" / "keep.txt").write_text("another run's file")
    remove_created_folders(created)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["a", "a/b", "a/b/keep.txt"]


def test_a_run_that_fails_before_storing_a_cell_leaves_no_folder(tmp_path, monkeypatch):
    experiment = load_experiment(write_toy_experiment(tmp_path / "toy"))
    out = tmp_path / "new" / "out"
    monkeypatch.setenv("TOY_FAIL", "cell")
    with pytest.raises(ValueError, match="toy cell refuses"):
        run_experiment(experiment, default_layout("toy", out, quick=True), quick=True, progress=False)
    assert list(tmp_path.iterdir()) == [tmp_path / "toy"]  # not even new/ and new/out/


def test_a_run_that_fails_after_storing_cells_keeps_them_and_no_empty_figure_folder(tmp_path, monkeypatch):
    experiment = load_experiment(write_toy_experiment(tmp_path / "toy"))
    out = tmp_path / "out"
    layout = default_layout("toy", out)
    monkeypatch.setenv("TOY_FAIL", "plot")
    with pytest.raises(ValueError, match="toy plot refuses"):
        run_experiment(experiment, layout, progress=False)
    assert len(list(layout.cells_dir.glob("*.parquet"))) == 4 and not (out / "figures").exists()
    assert stray_files(out) == []
    monkeypatch.delenv("TOY_FAIL")
    output = run_experiment(experiment, layout, progress=False)
    assert output.computed_cells == 0 and output.stored_cells == 4 and layout.figure_path.exists()


def test_a_failed_run_into_an_existing_folder_removes_nothing(tmp_path, monkeypatch):
    experiment = load_experiment(write_toy_experiment(tmp_path / "toy"))
    layout = default_layout("toy", tmp_path / "out")
    layout.results_dir.mkdir(parents=True)
    (layout.results_dir / "notes.txt").write_text("the user's")
    monkeypatch.setenv("TOY_FAIL", "cell")
    with pytest.raises(ValueError):
        run_experiment(experiment, layout, progress=False)
    assert (layout.results_dir / "notes.txt").exists()
    assert not (layout.results_dir / LOCK_NAME).exists()


def test_the_stored_table_does_not_depend_on_the_lock(tmp_path):
    # the lock changes where a run may write, never what it computes
    experiment = load_experiment(write_toy_experiment(tmp_path / "toy"))
    first = run_experiment(experiment, default_layout("toy", tmp_path / "a"), progress=False, wait=False)
    second = run_experiment(experiment, default_layout("toy", tmp_path / "b"), progress=False)
    pd.testing.assert_frame_equal(first.table, second.table)


def test_a_file_system_without_locks_warns_and_runs(tmp_path, monkeypatch, capsys):
    import errno
    import fcntl

    def no_locks(descriptor, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    with hold_folder(tmp_path / "results") as created:
        assert created == [tmp_path / "results"]
    assert capsys.readouterr().err == (f"sharpsim: warning: cannot lock {tmp_path / 'results' / LOCK_NAME} (No locks "
                                       "available); two runs into this folder at once would compute the same cells "
                                       "twice\n")
    monkeypatch.setattr(fcntl, "flock", lambda d, o: (_ for _ in ()).throw(PermissionError(errno.EACCES, "denied")))
    with pytest.raises(PermissionError):
        with hold_folder(tmp_path / "results"):
            pass
