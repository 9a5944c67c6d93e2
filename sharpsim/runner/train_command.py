"""``sharpsim train-lm [--seed S] [--steps K] [--out DIR]``: train the transformer π_base (``sharpsim.lm``) from a
seed, write its weights, checkpoints and loss log to DIR, and compare them with the committed weights.

The default configuration and seed 0 are those of the committed weights (``sharpsim/lm/weights/default``); a run
of K steps is the first K steps of the full run, so its weights at step K must equal the committed checkpoint at K
(when there is one). Exit status: 0 when training finished (and matched the committed weights where comparable), 1
when it differs from them beyond the tolerance, 2 for a usage error (one line on stderr).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["MATCH_TOLERANCE", "add_parser", "command_train_lm", "compare_with_committed"]

# float32 training: the same machine reproduces the weights bit for bit; across platforms and XLA versions the
# reductions may be ordered differently, so weights are compared to this relative and absolute tolerance
MATCH_TOLERANCE = 1e-4


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``train-lm`` subcommand to ``subparsers`` and return it."""
    train = subparsers.add_parser(
        "train-lm", help="train the small transformer π_base (sharpsim.lm) from a seed and write its weights",
        description="Train the transformer π_base on the modular-sum task from --seed, writing config.json, "
                    "final.npz, checkpoint_STEP.npz and log.json to --out, and compare with the committed "
                    "weights. Exit status 0: done (and matching); 1: differs from the committed weights; 2: usage "
                    "error.")
    train.add_argument("--seed", type=int, default=0, help="training seed (default 0, the committed weights')")
    train.add_argument("--steps", type=int, default=None, metavar="K",
                       help="optimizer steps (default: the configuration's, the full run); a K-step run is the "
                            "first K steps of the full run")
    train.add_argument("--out", default=None, metavar="DIR",
                       help="where to write the weights (default runs/train-lm-seedS); pass "
                            "sharpsim/lm/weights/default to regenerate the committed weights")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.set_defaults(handler=command_train_lm)
    return train


def compare_with_committed(trained, committed) -> dict:
    """{step: (max |Δw|, whether every weight matches within ``MATCH_TOLERANCE``)} between ``trained`` and
    ``committed`` (``TrainedLM``s) at the steps both kept, when they share configuration and seed ({} otherwise)."""
    from sharpsim.lm.model import network_arrays

    if trained.config != committed.config or trained.seed != committed.seed:
        return {}
    ours = {**trained.checkpoints, trained.steps: trained.network}
    theirs = {**committed.checkpoints, committed.steps: committed.network}
    differences = {}
    for step in sorted(set(ours) & set(theirs)):
        a, b = network_arrays(ours[step]), network_arrays(theirs[step])
        worst = max(float(np.max(np.abs(a[name] - b[name]))) for name in a)
        close = all(np.allclose(a[name], b[name], rtol=MATCH_TOLERANCE, atol=MATCH_TOLERANCE) for name in a)
        differences[step] = (worst, close)
    return differences


def command_train_lm(arguments) -> int:
    """The ``train-lm`` subcommand (module docstring)."""
    from sharpsim.lm.training import DEFAULT_WEIGHTS, LMConfig, load_trained, save_trained, train_lm

    if arguments.steps is not None and arguments.steps < 1:
        print(f"sharpsim train-lm: error: --steps must be a positive integer, got {arguments.steps}", file=sys.stderr)
        return 2
    if not 0 <= arguments.seed < 2**32:
        print(f"sharpsim train-lm: error: --seed must lie in [0, 2**32), got {arguments.seed}", file=sys.stderr)
        return 2
    out = Path(arguments.out) if arguments.out else Path("runs") / f"train-lm-seed{arguments.seed}"
    config = LMConfig()
    started = time.perf_counter()
    trained = train_lm(config, arguments.seed, steps=arguments.steps, progress=not arguments.no_progress)
    elapsed = time.perf_counter() - started
    committed = load_trained(DEFAULT_WEIGHTS) if (DEFAULT_WEIGHTS / "config.json").is_file() else None
    save_trained(trained, out)
    final_loss = trained.eval_losses[trained.steps]
    print(f"trained {trained.steps} steps (seed {trained.seed}) in {elapsed:.1f} s; held-out loss "
          f"{final_loss:.4f} nats/token; wrote {out}")
    if committed is None or out.resolve() == DEFAULT_WEIGHTS.resolve():
        return 0
    differences = compare_with_committed(trained, committed)
    if not differences:
        print("no committed checkpoint to compare with (different seed, configuration or steps)")
        return 0
    steps = ", ".join(str(step) for step in differences)
    worst = max(value for value, _ in differences.values())
    if all(close for _, close in differences.values()):
        how = "bit for bit" if worst == 0.0 else f"max |Δw| {worst:.2g}, within {MATCH_TOLERANCE:g}"
        print(f"matches the committed weights at steps {steps} ({how})")
        return 0
    print(f"DIFFERS from the committed weights at steps {steps}: max |Δw| {worst:.3g} (tolerance {MATCH_TOLERANCE:g})")
    return 1


def main(argv=None) -> int:
    """``python -m sharpsim.runner.train_command ...``: the subcommand on its own."""
    parser = argparse.ArgumentParser(prog="sharpsim")
    add_parser(parser.add_subparsers(dest="command", required=True))
    arguments = parser.parse_args(["train-lm", *(sys.argv[1:] if argv is None else argv)])
    return arguments.handler(arguments)


if __name__ == "__main__":
    raise SystemExit(main())
