"""Fast (feed-forward) style transfer against the optimization, on this machine: speed and quality.

    .venv/bin/python benchmarks/fast.py              # full run (about 20 minutes on 2 cores per style)
    .venv/bin/python benchmarks/fast.py --quick      # a smoke run (small sizes, few steps)
    .venv/bin/python benchmarks/fast.py --styles starry_night --skip-quality

It measures; it asserts nothing. JSON goes to ``benchmarks/results/fast-<time>.json``. Sections:

* ``machine``: CPU model, cores, load average before and after, TensorFlow version;
* ``networks``: for each committed network (``nu.fast_styles()``): parameters, file size, and
  milliseconds per image of ``nu.stylize`` at 256 and 512 px (warm, median of ``--repeats`` runs);
* ``optimization``: seconds per Adam step of ``nu.style_transfer`` with ``nu.DEFAULTS`` at 256 and
  512 px (median of a few steps), so the seconds of a default transfer (``DEFAULTS.steps`` steps), and
  the ratio optimization / network at each size;
* ``quality``: on the held-out photos (``nu.HELD_OUT_PHOTOS``) at ``--quality-size`` px (default 512,
  issue 20's targets), for each style: the remaining style distance per layer (``nu.remaining_style``,
  1 = as far as the photo), its mean and worst layer, the luminance SSIM to the photo
  (``nu.ssim(..., luminance=True)``) and the frame (``nu.frame_excess``: the 4-px border ring's mean
  colour against the ring inside it, minus the same for the photo), for the network and (unless
  ``--skip-optimization``) for a default optimization.

``--network PATH`` measures a network file (e.g. a training checkpoint) instead of the committed ones;
its style is the one its record names.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time
from pathlib import Path

import numpy as np

import nst_utils as nu  # first: TensorFlow without its start-up chatter
import tensorflow as tf

HERE = Path(__file__).resolve().parent


def optimization_step_seconds(content: np.ndarray, style: np.ndarray, steps: int, model) -> float:
    """Median wall seconds of one default Adam step (the first, tracing, step left out)."""
    run = nu.style_transfer(content, style, steps=steps, model=model, progress=False)
    return float(np.median(np.diff(run.history["seconds"])))


def square(name: str, size: int) -> np.ndarray:
    """A held-out photo cut to a centred square and resized to size x size (for the speed table)."""
    image = nu.load_sample(name)
    h, w = image.shape[1:3]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return nu.resize_image(image[:, top:top + side, left:left + side], (size, size))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and few steps (a smoke run)")
    parser.add_argument("--styles", default="", help="comma-separated committed styles (default: all)")
    parser.add_argument("--repeats", type=int, default=9, help="timed runs per network and size")
    parser.add_argument("--skip-quality", action="store_true", help="only the speed sections")
    parser.add_argument("--skip-optimization", action="store_true",
                        help="quality of the networks only (no optimization to compare with)")
    parser.add_argument("--quality-size", type=int, default=512, help="px, longer side of the held-out photos")
    parser.add_argument("--network", type=Path, help="measure this network file instead of the committed ones")
    args = parser.parse_args()

    sizes = (64, 128) if args.quick else (256, 512)
    quality_size = 64 if args.quick else args.quality_size
    step_count = 3 if args.quick else 12
    transfer_steps = 5 if args.quick else nu.DEFAULTS.steps
    styles = [s for s in args.styles.split(",") if s] or nu.fast_styles()
    files = {style: nu.NETWORKS_DIR / f"{style}.keras" for style in styles}
    if args.network is not None:
        style = nu.load_fast_network(args.network).nst_info.get("style")
        if style not in nu.SAMPLES:
            parser.error(f"{args.network}: its record names no sample style ({style!r})")
        styles, files = [style], {style: args.network}
    report: dict = {
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {"description": nu.machine_description(), "cores": os.cpu_count(),
                    "load_before": os.getloadavg(), "tensorflow": tf.__version__},
        "settings": {k: v for k, v in nu.DEFAULTS.as_dict().items()},
        "sizes": list(sizes), "quick": args.quick,
    }
    vgg = nu.cached_vgg19(nu.DEFAULTS.pooling, nu.resolve_precision(nu.DEFAULTS.precision))

    report["networks"] = {}
    for style in styles:
        path = files[style]
        network = nu.load_fast_network(path)
        report["networks"][style] = {
            "parameters": int(network.count_params()), "file_bytes": path.stat().st_size,
            "file": str(path), "architecture": network.nst_info.get("architecture"),
            "recipe": network.nst_info.get("recipe"), "training": network.nst_info.get("training"),
            "ms": {str(s): nu.time_stylize(network, s, repeats=args.repeats) for s in sizes}}
        print(style, {s: f"{v['ms']:.1f} ms" for s, v in report["networks"][style]["ms"].items()}, flush=True)

    style_image = nu.load_sample(styles[0] if styles else "starry_night", sizes[0])
    opt = {}
    for s in sizes:
        per_step = optimization_step_seconds(square("tubingen", s), style_image, step_count, vgg)
        opt[str(s)] = {"seconds_per_step": per_step, "steps": nu.DEFAULTS.steps,
                       "seconds_per_transfer": per_step * nu.DEFAULTS.steps}
        print(f"optimization at {s} px: {per_step:.3f} s/step, {per_step * nu.DEFAULTS.steps:.0f} s per transfer",
              flush=True)
    report["optimization"] = opt
    report["ratio"] = {style: {s: opt[s]["seconds_per_transfer"] / (net["ms"][s]["ms"] / 1000.0) for s in opt}
                       for style, net in report["networks"].items()}

    if not args.skip_quality:
        report["quality"] = {}
        def scores(x, S, C):
            r = nu.remaining_style(x, S, C)
            return {"remaining_style": r, "mean_remaining": float(np.mean(list(r.values()))),
                    "worst_layer": max(r.values()), "ssim_luminance": nu.ssim(x, C, luminance=True),
                    "frame_excess": nu.frame_excess(x, C)}

        for style in styles:
            network, S = nu.load_fast_network(files[style]), nu.load_sample(style, quality_size)
            rows = {}
            for name in nu.HELD_OUT_PHOTOS:
                C = nu.load_sample(name, quality_size)
                t = time.perf_counter()
                x_net = nu.stylize(network, C)
                net_s = time.perf_counter() - t
                rows[name] = {"network": {**scores(x_net, S, C), "seconds": net_s}}
                if not args.skip_optimization:
                    run = nu.style_transfer(C, S, steps=transfer_steps, model=vgg, progress=False)
                    rows[name]["optimization"] = {**scores(run.image, S, C), "seconds": run.seconds,
                                                  "steps": run.steps}
                print(style, name, {k: f"ssim {v['ssim_luminance']:.3f}, frame {v['frame_excess']:+.3f}, r " + " ".join(
                    f"{r:.2f}" for r in v["remaining_style"].values()) + f" (mean {v['mean_remaining']:.2f})"
                    for k, v in rows[name].items()}, flush=True)
            report["quality"][style] = rows

    report["machine"]["load_after"] = os.getloadavg()
    out = HERE / "results" / f"fast-{dt.datetime.now():%Y%m%d-%H%M%S}{'-quick' if args.quick else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, default=float))
    print("written", out.relative_to(HERE.parent))


if __name__ == "__main__":
    main()
