"""Command line: ``sharpsim list``, ``sharpsim reproduce [--quick] [NAME ...]``, ``sharpsim run NAME|PATH --set k=v``,
``sharpsim explore [--x AXIS=V,...] [--y AXIS=V,...] [--methods ...]`` (a regime map, ``sharpsim.explore``).

``run`` takes a built-in experiment's name or the path of any experiment folder (``sweep.py`` + ``analysis.py``,
see ``runner/experiment.py``), so a user's own experiment gets the same resume, progress bar and tidy tables."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

from sharpsim.runner.experiment import experiment_names, get_experiment
from sharpsim.instances.registry import family_names
from sharpsim.runner import check_command, train_command
from sharpsim.runner.assignments import parse_assignment
from sharpsim.runner.backends import BACKENDS, make_backend
from sharpsim.runner.compile_cache import ENVIRONMENT_VARIABLE, enable_compile_cache
from sharpsim.runner.lock import FolderInUseError
from sharpsim.runner.sweep import default_layout, run_experiment, short_hash

USER_ERRORS = (ValueError, TypeError, OSError, FolderInUseError)


def one_line(error: BaseException) -> str:
    """A user's mistake as one line: ``sharpsim: error: MESSAGE`` (the type named unless it is a ValueError)."""
    message = " ".join(str(error).split())
    kind = "" if isinstance(error, (ValueError, FolderInUseError)) else f"{type(error).__name__}: "
    return f"sharpsim: error: {kind}{message}"


def _report(output) -> str:
    return "\n".join([
        f"  {output.computed_cells} cell(s) computed, {output.stored_cells} reused, {output.seconds:.1f} s",
        f"  table:   {output.layout.cells_dir}/  (one parquet file per cell)",
        f"  summary: {output.layout.summary_path}",
        f"  figure:  {output.layout.figure_path}",
    ])


def _reproduce_one(name: str, out: str, quick: bool, force: bool, seed: int, wait: bool, progress: bool,
                   backend=None) -> str:
    """Run one experiment; returns its report (a top-level function so worker processes can run it)."""
    enable_compile_cache()  # a spawned worker starts with JAX's defaults; the environment carries the choice
    experiment = get_experiment(name)
    layout = default_layout(name, out, quick=quick)
    output = run_experiment(experiment, layout, quick=quick, force=force, base_seed=seed, progress=progress,
                            wait=wait, backend=backend)
    return f"{name}: {experiment.title}\n{_report(output)}"


def command_list(arguments) -> int:
    print("experiments:")
    for name in experiment_names():
        experiment = get_experiment(name)
        axes = ", ".join(f"{axis}={list(values)}" for axis, values in experiment.grid.items())
        print(f"  {name:20s} {experiment.title}")
        print(f"  {'':20s} grid: {axes}; seeds: {experiment.seeds}")
    print("instance families (sharpsim.make(name, ...)):")
    print("  " + ", ".join(family_names()))
    return 0


def command_reproduce(arguments) -> int:
    names = arguments.names or experiment_names()
    unknown = [n for n in names if n not in experiment_names()]
    if unknown:
        print(f"unknown experiment(s) {unknown}; known: {experiment_names()}", file=sys.stderr)
        return 2
    if arguments.jobs is not None and arguments.jobs < 1:
        raise ValueError(f"--jobs must be a positive integer, got {arguments.jobs}")
    start = time.perf_counter()
    backend = make_backend(arguments.backend, arguments.address)
    # on Ray the cells of each experiment are the parallel tasks; this process is the one driver
    jobs = 1 if backend.name == "ray" else min(arguments.jobs or os.cpu_count() or 1, len(names))
    options = (arguments.out, arguments.quick, arguments.force, arguments.seed, not arguments.no_wait)
    failed = []

    def failure(name, error):
        # one experiment's mistake is one line; the other experiments still run
        if not isinstance(error, USER_ERRORS) or os.environ.get("SHARPSIM_TRACEBACK"):
            raise error
        print(one_line(error).replace("error: ", f"error: {name}: ", 1), file=sys.stderr, flush=True)
        failed.append(name)

    if jobs <= 1:
        for name in names:
            try:
                print(_reproduce_one(name, *options, progress=not arguments.no_progress, backend=backend), flush=True)
            except USER_ERRORS as error:
                failure(name, error)
    else:
        # Experiments are independent and each spends most of a quick run compiling, which uses about one core:
        # running them in separate processes (spawned, since JAX must not be forked) fills the machine.
        # Per-cell bars would interleave, so the bar counts finished experiments (with the time left).
        from tqdm.auto import tqdm

        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = {pool.submit(_reproduce_one, name, *options, progress=False): name for name in names}
            bar = tqdm(total=len(names), desc=f"experiments ({jobs} processes)", unit="experiment",
                       disable=arguments.no_progress)
            for future in as_completed(futures):
                try:
                    bar.write(future.result())  # a worker's exception is raised again here
                except BaseException as error:
                    if not isinstance(error, USER_ERRORS):
                        pool.shutdown(wait=False, cancel_futures=True)
                    failure(futures[future], error)
                bar.update(1)
            bar.close()
    print(f"done in {time.perf_counter() - start:.1f} s")
    if failed and len(names) > 1:
        print(f"sharpsim: error: {len(failed)} of {len(names)} experiment(s) failed ({', '.join(failed)})",
              file=sys.stderr)
    return 2 if failed else 0


def command_run(arguments) -> int:
    if arguments.seeds is not None and arguments.seeds < 1:
        raise ValueError(f"--seeds must be a positive integer, got {arguments.seeds}")
    experiment = get_experiment(arguments.experiment)
    overrides = dict(parse_assignment(text) for text in arguments.set or [])
    grid = experiment.resolved_grid(arguments.quick, overrides)  # validates axis names early
    # the folder is part of the tag: two experiment folders of one name never share stored cells
    tag = short_hash(repr((str(experiment.folder), sorted(grid.items()), arguments.seeds, arguments.seed)), 8)
    layout = default_layout(experiment.name, arguments.out, tag=tag)
    print(f"{experiment.name}: {experiment.title}")
    print(f"  grid: {grid}")
    output = run_experiment(experiment, layout, quick=arguments.quick, force=arguments.force, overrides=overrides,
                            seeds=arguments.seeds, base_seed=arguments.seed, progress=not arguments.no_progress,
                            wait=not arguments.no_wait,  # a failed run that stored nothing removes its folders
                            backend=make_backend(arguments.backend, arguments.address))
    print(_report(output))
    return 0


def command_explore(arguments) -> int:
    from sharpsim.explore import axes, regime_map

    if arguments.seeds is not None and arguments.seeds < 1:
        raise ValueError(f"--seeds must be a positive integer, got {arguments.seeds}")
    family = arguments.family or regime_map.DEFAULT_FAMILY
    default_x, default_y = regime_map.default_axes(family)
    x = axes.parse_axis(arguments.x, "--x") if arguments.x else default_x
    y = axes.parse_axis(arguments.y, "--y") if arguments.y else default_y
    # the default map's fixed parameters, unless an axis replaces them; what the user fixes is checked as given
    params = {k: v for k, v in regime_map.DEFAULT_PARAMS.items() if k not in (x[0], y[0])} \
        if arguments.family is None else {}
    for text in arguments.param or []:
        name, values = axes.parse_axis(text, "--param")
        if len(values) != 1:
            raise ValueError(f"--param {name}= takes one value, got {values}")
        params[name] = values[0]
    for name in ("eps", "delta", "rho"):
        if getattr(arguments, name) is not None:
            params[name] = getattr(arguments, name)
    spec = axes.check_spec(family, x, y, params)
    names = [n.strip() for n in arguments.methods.split(",")] if arguments.methods else \
        list(regime_map.default_methods(family))
    methods = regime_map.resolve_methods(names, family)
    seeds = arguments.seeds or (regime_map.QUICK_SEEDS if arguments.quick else regime_map.DEFAULT_SEEDS)
    tag = short_hash(repr((family, x, y, sorted(params.items()), names, seeds, arguments.seed)), 8)
    layout = regime_map.explore_layout(arguments.out, arguments.name, tag)
    shown = regime_map.quick_spec(spec) if arguments.quick else spec
    print(f"explore: family {family!r} {params}, {spec.x_axis} = {list(shown.x_values)}, "
          f"{spec.y_axis} = {list(shown.y_values)}, methods {names}, {seeds} seeds{' (--quick)' if arguments.quick else ''}")
    output = regime_map.run_explore(spec, methods, layout, seeds=seeds, quick=arguments.quick, force=arguments.force,
                                    base_seed=arguments.seed, progress=not arguments.no_progress,
                                    wait=not arguments.no_wait,
                                    backend=make_backend(arguments.backend, arguments.address))
    print(_report(output))
    print(f"  map:     {output.layout.results_dir / 'map.csv'}  (one row per instance and method)")
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake on the command line is one line too (with where to read the usage)."""

    def error(self, message):
        self.exit(2, f"sharpsim: error: {' '.join(message.split())} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="sharpsim", description="Simulate the statistical theory of sharpening.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list experiments and instance families")

    def common(p):
        p.add_argument("--quick", action="store_true", help="small grids and few seeds (seconds)")
        p.add_argument("--force", action="store_true", help="recompute cells that are already stored")
        p.add_argument("--out", default=".", help="folder that receives results/ and figures/ (default: .)")
        p.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
        p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
        p.add_argument("--no-wait", action="store_true",
                       help="if another run holds the results folder, stop with an error instead of waiting for it")
        p.add_argument("--backend", choices=BACKENDS, default="local",
                       help="where cells are computed: this machine (local, default) or a Ray cluster (ray; "
                            'pip install "sharpsim[ray]")')
        p.add_argument("--address", default=None,
                       help="with --backend ray: a running cluster ('auto', 'ray://HOST:10001'); default: start a "
                            "local Ray instance")
        p.add_argument("--no-compile-cache", action="store_true",
                       help="do not use JAX's persistent compilation cache (~/.cache/sharpsim/jax; "
                            "SHARPSIM_COMPILE_CACHE=off or =FOLDER also set it)")

    reproduce = sub.add_parser("reproduce", help="run experiments and draw their figures")
    reproduce.add_argument("names", nargs="*", help="experiments to run (default: all)")
    reproduce.add_argument("--jobs", type=int, default=None,
                           help="experiments run in parallel processes (default: the number of CPU cores)")
    common(reproduce)
    run = sub.add_parser("run", help="run one experiment (a built-in name or a folder path), grid values overridden")
    run.add_argument("experiment", help="a built-in experiment's name, or the path of an experiment folder")
    run.add_argument("--set", action="append", metavar="KEY=V1,V2", help="replace a grid axis (repeatable)")
    run.add_argument("--seeds", type=int, default=None, help="seeds per cell")
    common(run)
    explore = sub.add_parser("explore", help="regime map: each method's m* over two instance quantities, and "
                                             "where each method wins")
    explore.add_argument("--x", metavar="AXIS=V1,V2", help="first axis, e.g. coverage=2,4,8,16 (default: the "
                                                          "default map's)")
    explore.add_argument("--y", metavar="AXIS=V1,V2", help="second axis, e.g. eps=0.05,0.1,0.2")
    explore.add_argument("--family", default=None, help="instance family (default: needle with |X|=16, |Y|=64)")
    explore.add_argument("--param", action="append", metavar="KEY=VALUE",
                         help="a fixed family parameter or target (repeatable), e.g. num_responses=128")
    explore.add_argument("--methods", default=None,
                         help="comma-separated: bon, sft, adaptive_sft, rlhf, xpo, lower_bound, or MODULE:FUNCTION / "
                              "path/to/file.py:FUNCTION (default: all but xpo, and an example user method)")
    explore.add_argument("--seeds", type=int, default=None, help="seeds per cell (default 40)")
    explore.add_argument("--eps", type=float, default=None, help="target ε when it is not an axis (default 0.1)")
    explore.add_argument("--delta", type=float, default=None, help="target δ (default 0.25)")
    explore.add_argument("--rho", type=float, default=None, help="failure probability ρ (default 0.1)")
    explore.add_argument("--name", default=None,
                         help="a named map: results/explore/NAME/ and figures/explore/NAME.png under --out "
                              "(default: runs/explore-HASH/)")
    common(explore)
    check_command.add_parser(sub)
    train_command.add_parser(sub)
    return parser


def main(argv=None) -> int:
    arguments = build_parser().parse_args(argv)
    if not 0 <= getattr(arguments, "seed", 0) < 2**32:
        print(f"sharpsim: error: --seed must lie in [0, 2**32), got {arguments.seed}", file=sys.stderr)
        return 2
    if getattr(arguments, "no_compile_cache", False):
        os.environ[ENVIRONMENT_VARIABLE] = "off"
    enable_compile_cache()
    handlers = {"list": command_list, "reproduce": command_reproduce, "run": command_run,
                "explore": command_explore, "check": check_command.command_check,
                "train-lm": train_command.command_train_lm}
    try:
        return handlers[arguments.command](arguments)
    except USER_ERRORS as error:
        # a user's mistake (a bad --set value, a folder that cannot be written, a folder in use) is one line, not a
        # traceback; SHARPSIM_TRACEBACK=1 shows the traceback when the mistake is sharpsim's
        if os.environ.get("SHARPSIM_TRACEBACK"):
            raise
        print(one_line(error), file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
