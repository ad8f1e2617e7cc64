"""Train a fast-style network for hours, resumably, in the background: the long runs of issue 20.

    # start, or continue, The Starry Night with Johnson et al.'s recipe (checkpoint every 10 minutes):
    nohup nice -n 19 .venv/bin/python tools/train_fast.py starry_night --recipe johnson \\
        > train_starry.log 2>&1 &
    # seconds per step first (a few steps, no checkpoint written):
    .venv/bin/python tools/train_fast.py starry_night --recipe johnson --measure 4
    # a copy small enough to commit (Adam's moments in bfloat16) and its curve:
    .venv/bin/python tools/train_fast.py starry_night --recipe johnson --export nst_utils/networks/checkpoints/

The checkpoint (default ``outputs/fast_training/<style>_<recipe>.keras``, git-ignored) holds the
weights, Adam's state and the crop generator's state, so a stopped run (Ctrl-C, ``kill``, a reboot
after the last checkpoint) continues exactly where it was written; ``<name>.csv`` beside it is the
training curve (J and its parts per step, and the training seconds). ``--from`` starts the
checkpoint from a committed (compact) one when there is none yet. On a GPU the same command trains
in mixed float16 with ``--precision mixed_float16``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import nst_utils as nu  # noqa: E402  (first: TensorFlow without its start-up chatter)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("style", help="a sample style name, e.g. starry_night")
    parser.add_argument("--recipe", default="johnson", help=f"one of {tuple(nu.FAST_RECIPES)} (default johnson)")
    parser.add_argument("--steps", type=int, help="train up to this many steps in all (default: the recipe's)")
    parser.add_argument("--batch-size", type=int, help="crops per step (default: the recipe's)")
    parser.add_argument("--precision", help="the VGG's precision (default: the recipe's, automatic)")
    parser.add_argument("--checkpoint", type=Path, help="the checkpoint to write and continue "
                        "(default outputs/fast_training/<style>_<recipe>.keras)")
    parser.add_argument("--from", dest="start_from", type=Path,
                        help="when the checkpoint does not exist yet, start it from this (compact) checkpoint")
    parser.add_argument("--checkpoint-minutes", type=float, default=10.0, help="write the checkpoint this often")
    parser.add_argument("--log-every", type=int, default=10, help="print a line every this many steps")
    parser.add_argument("--measure", type=int, metavar="N",
                        help="only time N steps (no checkpoint) and print the seconds per step")
    parser.add_argument("--export", type=Path, metavar="FOLDER",
                        help="write a compact copy of the checkpoint and its curve to FOLDER, then exit")
    args = parser.parse_args(argv)

    changes = {k: v for k, v in (("steps", args.steps), ("batch_size", args.batch_size),
                                 ("precision", args.precision)) if v is not None}
    recipe = nu.fast_recipe(args.recipe, **changes)
    checkpoint = args.checkpoint or ROOT / "outputs" / "fast_training" / f"{args.style}_{args.recipe}.keras"

    if args.export is not None:
        if not checkpoint.is_file():
            parser.error(f"no checkpoint {checkpoint} to export")
        args.export.mkdir(parents=True, exist_ok=True)
        target = nu.compact_checkpoint(checkpoint, args.export / checkpoint.name)
        shutil.copyfile(checkpoint.with_suffix(".csv"), target.with_suffix(".csv"))
        steps = nu.load_fast_network(target).nst_info["training"]["steps"]
        print(f"exported {steps} steps: {target} ({target.stat().st_size / 1e6:.1f} MB) and "
              f"{target.with_suffix('.csv').name}")
        return 0

    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {nu.machine_description()}", flush=True)
    print(f"recipe {args.recipe}: {recipe}", flush=True)

    if args.measure is not None:
        cpu = []

        def cpu_clock(step, network, history):
            cpu.append(time.process_time())

        run = nu.train_fast_network(args.style, recipe.replace(steps=args.measure), callback=cpu_clock,
                                    callback_every=1, progress=False)
        per_step = np.diff(run.history["seconds"])          # the first step (tracing) left out
        print(f"{args.measure} steps of {recipe.batch_size} crops of {recipe.crop} px: "
              f"{np.median(per_step):.1f} s per step wall, {np.median(np.diff(cpu)):.1f} CPU-s per step (medians "
              f"of {len(per_step)}; first step with tracing {run.history['seconds'][0]:.1f} s) on "
              f"{nu.machine_description()}", flush=True)
        return 0

    if not checkpoint.exists() and args.start_from is not None:
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(args.start_from, checkpoint)
        print(f"starting from {args.start_from}", flush=True)

    last = {"t": time.perf_counter(), "cpu": time.process_time()}

    def log(step, network, history):
        now, cpu = time.perf_counter(), time.process_time()
        n = args.log_every
        print(f"{time.strftime('%H:%M:%S')} step {step}: J {np.mean(history['J'][-n:]):.4g} "
              f"(content {np.mean(history['J_content'][-n:]):.3g}, style {np.mean(history['J_style'][-n:]):.3g}), "
              f"{(now - last['t']) / n:.1f} s/step wall, {(cpu - last['cpu']) / n:.1f} CPU-s/step, "
              f"load {nu.machine_description().rsplit('load ', 1)[-1]}", flush=True)
        last["t"], last["cpu"] = now, cpu

    run = nu.train_fast_network(args.style, recipe, checkpoint=checkpoint, checkpoint_every=10 ** 9,
                                checkpoint_seconds=60.0 * args.checkpoint_minutes, callback=log,
                                callback_every=args.log_every, progress=False)
    print(f"{time.strftime('%H:%M:%S')} {run}; resumed from {run.resumed_from}; checkpoint {checkpoint}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
