"""Benchmark of the style-transfer step on this machine: speed, share of peak, memory, quality.

    python3 course.py bench            # full run (about 15 minutes on 2 cores), JSON to benchmarks/results/
    python3 course.py bench --quick    # a smoke run (small sizes, few steps)
    python3 benchmarks/bench.py --only steps --out f.json   # only the peak and per-step sections

It measures; it asserts nothing. Each configuration runs in its own process, so peak memory (max RSS) is
that configuration's own. Sections of the JSON:

* ``peak``: GFLOP/s of a large matmul in float32 and bfloat16 (the machine's practical peak);
* ``steps``: seconds per Adam step at 256 and 512 px in float32 and mixed precision, GFLOP per step
  (counted from the layer shapes), achieved GFLOP/s, fraction of peak, peak RSS;
* ``quality``: float32 vs mixed precision after the default 200 steps: final costs and SSIM;
* ``convergence``: seconds and steps until J falls below a fixed fraction of J at the default (content)
  start, per strategy (Adam learning rates, noise start, coarse-to-fine, L-BFGS).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FRACTION = 0.10  # "converged enough": J <= 10 % of J at the default start (200 default steps reach ~6 %)


def conv_flops(shape: tuple[int, int], deepest: str = "block5_conv2") -> float:
    """FLOPs of one forward pass of VGG19 up to ``deepest`` plus the backward pass to the image.

    Each 3x3 conv costs 2 * n_H * n_W * 9 * C_in * C_out multiply-adds counted as 2 FLOPs; the backward
    pass to the input (no weight gradients) costs about the same again.
    """
    from nst_utils.models import FILTERS, VGG19_BLOCKS

    h, w = shape
    c_in, total = 3, 0.0
    for b, (n, c_out) in enumerate(zip(VGG19_BLOCKS, FILTERS), start=1):
        for i in range(1, n + 1):
            total += 2.0 * h * w * 9 * c_in * c_out
            c_in = c_out
            if f"block{b}_conv{i}" == deepest:
                return 2.0 * total
        h, w = h // 2, w // 2
    return 2.0 * total


def _child(args: argparse.Namespace) -> None:
    """Runs inside a fresh process: one measurement, JSON on the last stdout line."""
    import resource

    import numpy as np

    cfg = json.loads(args.child)
    kind = cfg["kind"]
    if kind == "matmul":
        import tensorflow as tf

        n = cfg["n"]
        dtype = tf.bfloat16 if cfg["dtype"] == "bfloat16" else tf.float32
        a = tf.random.normal((n, n), dtype=tf.float32)
        a = tf.cast(a, dtype)
        f = tf.function(lambda x: tf.matmul(x, x))
        f(a).numpy()
        reps, t = 0, time.perf_counter()
        while time.perf_counter() - t < cfg["seconds"]:
            f(a).numpy()
            reps += 1
        secs = (time.perf_counter() - t) / reps
        print(json.dumps({"gflops": 2 * n**3 / secs / 1e9, "seconds": secs}))
        return

    import nst_utils as nu
    from nst_utils.models import load_vgg19

    content = nu.load_sample("tubingen", cfg["size"])
    style = nu.load_sample("starry_night", cfg["size"])
    model = load_vgg19(precision=cfg["precision"])
    kw = dict(cfg.get("kwargs", {}))
    if kind == "steps":
        r = nu.style_transfer(content, style, model=model, steps=cfg["warmup"] + cfg["steps"],
                              content_layer="conv5_2", progress=False, **kw)
        s = np.diff(r.history["seconds"])[cfg["warmup"] - 1:]
        out = {"shape": list(content.shape[1:3]), "seconds_per_step": float(np.median(s)),
               "seconds_per_step_mean": float(s.mean())}
    else:  # "run": a whole transfer, history and final image kept
        if kw.pop("coarse_to_fine", False):
            t0 = time.perf_counter()
            small = nu.resize_image(content, (content.shape[1] // 2, content.shape[2] // 2))
            first = nu.style_transfer(small, style, model=model, progress=False,
                                      **{**kw, "steps": cfg["steps"] // 2})
            init = nu.resize_image(first.image, content.shape[1:3])
            r = nu.style_transfer(content, style, model=model, progress=False, init=init,
                                  **{**kw, "steps": cfg["steps"] - cfg["steps"] // 2})
            offset = time.perf_counter() - t0 - r.seconds
            r.history["seconds"] = [s + offset for s in r.history["seconds"]]
            first_steps = cfg["steps"] // 2
        else:
            r = nu.style_transfer(content, style, model=model, progress=False,
                                  steps=cfg["steps"], **kw)
            first_steps = 0
        # J of the start image at full size, for the convergence threshold
        j0 = nu.style_transfer(content, style, model=model, progress=False, steps=1,
                               **{k: v for k, v in kw.items() if k in ("alpha", "beta", "init", "seed")}
                               ).history["J"][0]
        np.save(cfg["image_out"], r.image)
        out = {"J0": j0, "J": r.history["J"], "J_content": r.history["J_content"][-1],
               "J_style": r.history["J_style"][-1], "seconds": r.history["seconds"],
               "first_stage_steps": first_steps}
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def _run(cfg: dict) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, __file__, "--child", json.dumps(cfg)], capture_output=True,
                          text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child failed for {cfg}:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a smoke run: small sizes, few steps")
    ap.add_argument("--out", type=Path, default=None, help="JSON file (default benchmarks/results/...)")
    ap.add_argument("--skip-speed", action="store_true",
                    help="skip the matmul peak and per-step sections (only convergence and quality)")
    ap.add_argument("--only", choices=("steps",), default=None,
                    help="'steps': only the matmul peak and the per-step section (their fraction of peak "
                         "needs the peak), no convergence or quality runs")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args)
        return

    import numpy as np

    from nst_utils.precision import auto_precision

    quick = args.quick
    mixed = auto_precision()
    mixed = "mixed_bfloat16" if mixed == "float32" else mixed
    report: dict = {
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "processor": platform.processor(),
                    "cpus": os.cpu_count(), "python": platform.python_version()},
        "auto_precision": auto_precision(),
        "quick": quick,
    }
    import tensorflow as tf

    report["machine"]["tensorflow"] = tf.__version__

    def log(msg: str) -> None:
        print(f"[bench] {msg}", flush=True)

    n = 1024 if quick else 4096
    report["peak"] = {}
    if args.only and args.skip_speed:
        ap.error("--only steps and --skip-speed exclude each other")
    for dtype in (() if args.skip_speed else ("float32", "bfloat16")):
        r = _run({"kind": "matmul", "n": n, "dtype": dtype, "seconds": 2 if quick else 8})
        report["peak"][dtype] = r["gflops"]
        log(f"matmul {n}x{n} {dtype}: {r['gflops']:.0f} GFLOP/s")

    report["steps"] = []
    sizes = (64, 128) if quick else (256, 512)
    for size in (() if args.skip_speed else sizes):
        for precision in ("float32", mixed):
            r = _run({"kind": "steps", "size": size, "precision": precision, "warmup": 2,
                      "steps": 3 if quick else 8})
            flops = conv_flops(tuple(r["shape"]))
            peak = report["peak"]["bfloat16" if "bfloat16" in precision else "float32"]
            row = {"size": size, "shape": r["shape"], "precision": precision,
                   "seconds_per_step": r["seconds_per_step"], "gflop_per_step": flops / 1e9,
                   "gflops": flops / 1e9 / r["seconds_per_step"],
                   "fraction_of_peak": flops / 1e9 / r["seconds_per_step"] / peak,
                   "peak_rss_mb": r["peak_rss_mb"]}
            report["steps"].append(row)
            log(f"step {r['shape']} {precision}: {row['seconds_per_step']:.3f} s, "
                f"{row['gflop_per_step']:.1f} GFLOP, {row['fraction_of_peak']:.0%} of peak, "
                f"{row['peak_rss_mb']:.0f} MB")

    if args.only == "steps":
        _write(report, args.out, log)
        return

    steps = 20 if quick else 200
    size = 64 if quick else 256
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    strategies = {
        "adam_lr0.02_content_start (default)": {},
        "adam_lr0.02_noise_start": {"init": "noise"},
        "adam_lr0.05": {"learning_rate": 0.05},
        "adam_lr0.01": {"learning_rate": 0.01},
        "coarse_to_fine": {"coarse_to_fine": True},
        "lbfgs": {"optimizer": "lbfgs"},
        # the chaos baseline: the same float32 run from a start that differs by <= 0.5 grey level
        "float32_start_perturbed": {"noise_ratio": 0.002},
    }
    runs: dict = {}
    for precision in ("float32", mixed):
        names = list(strategies) if precision == mixed else ["adam_lr0.02_content_start (default)",
                                                               "float32_start_perturbed"]
        for name in names:
            out = tmp / f"nst-bench-{precision}-{abs(hash(name))}.npy"
            r = _run({"kind": "run", "size": size, "precision": precision, "steps": steps,
                      "kwargs": strategies[name], "image_out": str(out)})
            r["image"] = str(out)
            runs[(precision, name)] = r
            log(f"run {precision} {name}: J {r['J0']:.3g} -> {r['J'][-1]:.3g} in {r['seconds'][-1]:.1f} s")

    # one absolute threshold for every strategy: FRACTION of J at the default (content) start
    threshold = FRACTION * runs[(mixed, "adam_lr0.02_content_start (default)")]["J0"]
    report["convergence"] = []
    for (precision, name), r in runs.items():
        J, secs = np.array(r["J"]), np.array(r["seconds"])
        hit = np.nonzero(J <= threshold)[0]
        report["convergence"].append({
            "precision": precision, "strategy": name, "J0": r["J0"], "final_J": float(J[-1]),
            "final_J_content": r["J_content"], "final_J_style": r["J_style"],
            "total_seconds": float(secs[-1]), "threshold": threshold,
            "seconds_to_fraction": float(secs[hit[0]]) if len(hit) else None,
            "steps_to_fraction": int(hit[0]) + 1 + r["first_stage_steps"] if len(hit) else None,
            "peak_rss_mb": r["peak_rss_mb"],
            "J_every_10_steps": [float(j) for j in J[::10]]})

    import nst_utils as nu

    a = runs[("float32", "adam_lr0.02_content_start (default)")]
    b = runs[(mixed, "adam_lr0.02_content_start (default)")]
    img_a, img_b = np.load(a["image"]), np.load(b["image"])
    report["quality"] = {
        "precision": mixed, "final_J_float32": a["J"][-1], f"final_J_{mixed}": b["J"][-1],
        "relative_cost_difference": abs(a["J"][-1] - b["J"][-1]) / a["J"][-1],
        "ssim_between_results": nu.ssim(img_a, img_b), "psnr_between_results": nu.psnr(img_a, img_b),
    }
    c = runs[("float32", "float32_start_perturbed")]
    img_c = np.load(c["image"])
    report["quality"]["ssim_float32_vs_float32_start_perturbed"] = nu.ssim(img_a, img_c)
    report["quality"]["relative_cost_difference_float32_start_perturbed"] = abs(a["J"][-1] - c["J"][-1]) / a["J"][-1]
    log(f"quality: float32 vs float32 from a start perturbed by <= 0.5 grey level: SSIM "
        f"{report['quality']['ssim_float32_vs_float32_start_perturbed']:.3f}")
    log(f"quality: cost difference {report['quality']['relative_cost_difference']:.2%}, "
        f"SSIM {report['quality']['ssim_between_results']:.3f}")
    for r in runs.values():
        Path(r["image"]).unlink(missing_ok=True)

    _write(report, args.out, log)


def _write(report: dict, out: Path | None, log) -> None:
    out = out or HERE / "results" / f"bench-{platform.node() or 'machine'}-{report['when'][:10]}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    log(f"wrote {out}")


if __name__ == "__main__":
    main()
