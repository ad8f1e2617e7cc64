"""Benchmark of coarse to fine (nst_utils.pyramid) against one scale: wall time, peak memory, quality.

    python benchmarks/pyramid.py                       # the comparison and the memory runs (~15 min, 2 cores)
    python benchmarks/pyramid.py --only time           # 512 px one scale vs 1024 px pyramid, default steps
    python benchmarks/pyramid.py --only threshold      # 512 px as a pyramid (256, 512 px)
    python benchmarks/pyramid.py --only memory         # peak memory at 1024 and 2048 px, few steps
    python benchmarks/pyramid.py --quick               # a smoke run (small sizes, few steps)
    python benchmarks/pyramid.py --only time --pair astronaut:woman_with_hat --jitter   # another pair, + noise

Like ``benchmarks/bench.py`` it measures and asserts nothing, and each configuration runs in its own
process, so a peak RSS (``ru_maxrss``) is that configuration's own. The pair is one the lessons do not use
(by default a temple in China, scikit-learn's photo, with The Scream; ``--pair content:style`` names another
from the sample catalog), loaded from the files at each size as ``style_transfer(..., size=)`` does.
``--jitter`` runs each quality configuration a second time on the photo with invisible noise added (one grey
level, seed 1, as lesson 07 measures its noise): the runs start from the photo and use no random numbers, so
the difference between the two is the run-to-run noise of the quality numbers. Sections of the JSON (``benchmarks/results/pyramid-<host>-<date>.json``):

* ``time``: the default 512-px transfer (one scale, 200 steps) and the default 1024-px pyramid (256, 512,
  1024 px; 200, 100, 50 steps): wall time, seconds per level, peak RSS, and the result's quality: the
  remaining style r_l per style layer (``nu.remaining_style``: Gram distance to the painting over the
  photo's; judged at the result's size and at half of it) and luminance SSIM with the photo;
* ``threshold``: a 256 -> 512 px pyramid (200, 100 steps), to set against the 512-px one scale of ``time``;
* ``memory``: peak RSS of a pyramid at 1024 and 2048 px with few steps (16 at the first level, so 2 at the
  top of the 2048-px one), and of one scale at the same sizes with 2 steps, with the machine's swap use
  (``pswpout`` from /proc/vmstat) before and after each.

Results are written as PNG next to the JSON (``--images``) to be looked at: numbers are not enough.
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
CONTENT, STYLE = "china", "the_scream"     # the default pair (--pair)


def _swapped_out_pages() -> int | None:
    try:
        for line in Path("/proc/vmstat").read_text().splitlines():
            if line.startswith("pswpout "):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _meminfo() -> dict[str, float]:
    out = {}
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            key, value = line.split(":", 1)
            if key in ("MemTotal", "MemAvailable", "SwapTotal", "SwapFree"):
                out[key + "_gib"] = int(value.split()[0]) / 2**20
    except OSError:
        pass
    return out


def _child(cfg: dict) -> dict:
    """One configuration, in a fresh process."""
    import resource

    import numpy as np

    import nst_utils as nu
    from nst_utils import pyramid

    content_path, style_path = str(nu.sample_path(cfg["content"])), str(nu.sample_path(cfg["style"]))
    size, kw = cfg["size"], dict(cfg.get("settings", {}))
    photo = content_path
    if cfg.get("jitter"):   # the photo + one grey level of noise: the same run, invisibly changed
        c = nu.load_image(content_path)   # at its own size, so that every level is resized from it as from the file
        photo = np.clip(c + np.random.default_rng(1).normal(0.0, 1.0 / 255.0, c.shape), 0, 1).astype(np.float32)
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    if cfg["mode"] == "pyramid":
        r = pyramid.coarse_to_fine(photo, style_path, size=size, progress=False, **kw)
        levels = [{"size": lv.size, "shape": list(lv.shape), "style_shape": list(lv.style_shape),
                   "steps": lv.steps, "seconds": lv.seconds} for lv in r.levels]
    else:
        r = nu.style_transfer(photo, style_path, size=size, progress=False, pyramid_above=None, **kw)
        levels = [{"size": size, "shape": list(r.image.shape[1:3]), "steps": r.steps, "seconds": r.seconds}]
    wall = time.perf_counter() - t0
    out = {"wall_seconds": wall, "steps": r.steps, "levels": levels, "shape": list(r.image.shape[1:3]),
           "precision": r.settings.precision,
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "loadavg_before": load0, "loadavg_after": os.getloadavg()}
    if cfg.get("quality"):
        content = nu.load_image(content_path, size)
        style = nu.load_image(style_path, size)
        half = tuple(n // 2 for n in r.image.shape[1:3])
        small = [nu.resize_image(img, half) for img in (r.image, content)]
        style_half = nu.load_image(style_path, size // 2)
        out["remaining_style_full"] = nu.remaining_style(r.image, style, content)
        out["remaining_style_half"] = nu.remaining_style(small[0], style_half, small[1])
        out["luminance_ssim"] = nu.ssim(r.image, content, luminance=True)
        out["luminance_ssim_half"] = nu.ssim(small[0], small[1], luminance=True)
    if cfg.get("image_out"):
        out["image"] = str(nu.save_image(r.image, cfg["image_out"], overwrite=True))
    return out


def _run(cfg: dict, log) -> dict:
    # the library of this checkout, whatever the environment has installed
    path = os.pathsep.join(p for p in (str(HERE.parent), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": path}
    swap0 = _swapped_out_pages()
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--child", json.dumps(cfg)], capture_output=True,
                          text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child failed for {cfg}:\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_seconds"] = time.perf_counter() - t0
    swap1 = _swapped_out_pages()
    out["pages_swapped_out_meanwhile"] = None if swap0 is None or swap1 is None else swap1 - swap0
    out["config"] = cfg
    rs = out.get("remaining_style_full")
    quality = "" if rs is None else (f"; r_l max {max(rs.values()):.2f} full, "
                                     f"{max(out['remaining_style_half'].values()):.2f} half; "
                                     f"SSIM_Y {out['luminance_ssim']:.3f}")
    log(f"{cfg['name']}: {out['wall_seconds']:.1f} s, levels "
        f"{[(lv['size'], lv['steps'], round(lv['seconds'], 1)) for lv in out['levels']]}, "
        f"peak RSS {out['peak_rss_mb']:.0f} MB, swapped out {out['pages_swapped_out_meanwhile']} pages{quality}")
    return out


def configurations(quick: bool, images: Path, content: str = CONTENT, style: str = STYLE,
                   jitter: bool = False) -> dict[str, list[dict]]:
    out = _configurations(quick, images, {"content": content, "style": style})
    if content != CONTENT or style != STYLE:   # image names carry the pair
        for cfgs in out.values():
            for cfg in cfgs:
                if "image_out" in cfg:
                    path = Path(cfg["image_out"])
                    cfg["image_out"] = str(path.with_name(f"{content}-{style}-{path.name}"))
    if jitter:
        for section, cfgs in out.items():
            out[section] = [*cfgs, *({**cfg, "name": cfg["name"] + ", photo + invisible noise", "jitter": True,
                                      "image_out": str(Path(cfg["image_out"]).with_name(
                                          Path(cfg["image_out"]).stem + "-jitter.png"))}
                                     for cfg in cfgs if cfg.get("quality"))]
    return out


def _configurations(quick: bool, images: Path, base: dict) -> dict[str, list[dict]]:
    if quick:  # the same shapes of run, small: 64 px one scale vs a 128-px pyramid from 32 px
        small = {"pyramid_base": 32}
        return {
            "time": [
                {**base, "name": "one scale 64 px", "mode": "single", "size": 64, "settings": {"steps": 10},
                 "quality": True, "image_out": str(images / "single-64.png")},
                {**base, "name": "pyramid 128 px", "mode": "pyramid", "size": 128,
                 "settings": {"steps": 10, "pyramid_above": 64, **small}, "quality": True,
                 "image_out": str(images / "pyramid-128.png")}],
            "memory": [
                {**base, "name": f"pyramid {s} px, few steps", "mode": "pyramid", "size": s,
                 "settings": {"steps": 4, "pyramid_above": 64, **small}} for s in (128, 256)],
        }
    return {
        "time": [
            {**base, "name": "one scale 512 px (default steps)", "mode": "single", "size": 512, "settings": {},
             "quality": True, "image_out": str(images / "single-512.png")},
            {**base, "name": "pyramid 1024 px (default)", "mode": "pyramid", "size": 1024, "settings": {},
             "quality": True, "image_out": str(images / "pyramid-1024.png")}],
        # where the threshold lies: at 512 px, one scale (in "time") against a 256 -> 512 pyramid
        "threshold": [
            {**base, "name": "pyramid 512 px (256, 512 px; 200, 100 steps)", "mode": "pyramid", "size": 512,
             "settings": {"pyramid_above": 256}, "quality": True, "image_out": str(images / "pyramid-512.png")}],
        "memory": [
            *({**base, "name": f"pyramid {s} px, 16 steps at the first level", "mode": "pyramid", "size": s,
               "settings": {"steps": 16}} for s in (1024, 2048)),
            *({**base, "name": f"one scale {s} px, 2 steps", "mode": "single", "size": s,
               "settings": {"steps": 2}} for s in (1024, 2048))],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a smoke run: small sizes, few steps")
    ap.add_argument("--only", choices=("time", "threshold", "memory"), help="run one section only")
    ap.add_argument("--out", type=Path, default=None, help="JSON file (default benchmarks/results/...)")
    ap.add_argument("--images", type=Path, default=HERE / "results" / "pyramid-images",
                    help="folder for the results as PNG")
    ap.add_argument("--pair", default=f"{CONTENT}:{STYLE}", help="content:style, two sample names")
    ap.add_argument("--jitter", action="store_true",
                    help="run each quality configuration again on the photo + invisible noise (run-to-run noise)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_child(json.loads(args.child))))
        return

    def log(msg: str) -> None:
        print(f"[pyramid] {msg}", flush=True)

    pair = args.pair.split(":")
    if len(pair) != 2 or not all(pair):   # the names are checked by the first child (nu.sample_path)
        raise SystemExit(f"--pair {args.pair!r}: give content:style, two names from the sample catalog, "
                         "e.g. astronaut:woman_with_hat")
    content, style = pair

    args.images.mkdir(parents=True, exist_ok=True)
    report: dict = {
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count(),
                    "python": platform.python_version(), **_meminfo()},
        "quick": args.quick, "pair": {"content": content, "style": style}, "jitter": args.jitter,
    }
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
        report["machine"]["cpu"] = model
    except (OSError, StopIteration):
        pass
    t0 = time.perf_counter()
    for section, cfgs in configurations(args.quick, args.images, content, style, args.jitter).items():
        if args.only and section != args.only:
            continue
        report[section] = [_run(cfg, log) for cfg in cfgs]
    if "time" in report:
        one, pyr = report["time"][:2]
        report["time_ratio_pyramid_over_one_scale"] = pyr["wall_seconds"] / one["wall_seconds"]
        log(f"{pyr['config']['name']} / {one['config']['name']}: {report['time_ratio_pyramid_over_one_scale']:.2f}x "
            "wall time")
    report["total_seconds"] = time.perf_counter() - t0
    out = args.out or HERE / "results" / f"pyramid-{platform.node() or 'machine'}-{report['when'][:10]}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    log(f"wrote {out}")


if __name__ == "__main__":
    main()
