"""Dark photos under the default transfer: does the subject survive, and what does SSIM measure there?

    .venv/bin/python benchmarks/dark_photos.py [--cases tubingen:day,tubingen:dim,...] [--methods default,alpha3]
                                               [--style woman_with_hat] [--size 256] [--quick] [--out FILE]

Issue 19 ("dark photos keep their subject") reports that a night photo under a strong portrait painting
comes out with a luminance SSIM to the photo of about 0.20, against 0.32-0.44 for daylight photos. This
script repeats that kind of measurement on photos that are dark or low in contrast: real ones that ship
with scikit-image (``rocket``, a launch pad at dusk) and scikit-learn (``flower``), matplotlib's
``grace_hopper`` (dark background), and Tuebingen made dark two ways (``dim``: every pixel x 0.3, an
under-exposure; ``night``: x ** 3, shadows crushed to black while the lit facades stay), next to the
daylight originals. Every case is the library's default transfer (``nu.style_transfer`` at ``--size`` px,
200 Adam steps) onto ``--style``, one run each (the start is the photo, so the runs are deterministic up to
the CPU's floating-point order).

Measured per result, against the photo it was made from:

* ``ssim``: luminance SSIM (:func:`nst_utils.ssim`), as the issue measured it. SSIM multiplies three local
  terms, brightness ``(2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1)``, contrast and structure (Wang et al.
  2004): a result that keeps every edge of a dark photo but is painted at the painting's brightness and
  contrast scores low on the first two alone.
* ``ssim_structure``: the same SSIM after each image's luminance is brought to one global mean (0.5) and
  standard deviation (0.2): it no longer counts a global change of brightness or contrast.
* ``ssim_daylight`` (made-dark cases only): luminance SSIM to the daylight original.
* ``mean_luminance`` of the photo and of the result; ``remaining_style`` r_l per layer
  (:func:`nst_utils.remaining_style`); ``seconds``.

Methods: ``default`` (the library's defaults: since issue 19, ``style_brightness="auto"``, which matches the
painting to a dark photo's brightness); ``painting`` (``style_brightness="painting"``: the painting as it is,
the default before); ``photo`` (``style_brightness="photo"`` for every photo: the style image's luminance given
the photo's mean and standard deviation, its chroma kept, the luminance matching of Gatys et al. 2017,
"Controlling Perceptual Factors in Neural Style Transfer"); ``alphaK`` (the content weight alpha = K, e.g.
``alpha3``). Each record names the brightness the run used and its remaining style twice: against the painting,
and against the target it was given (the painting at the photo's brightness where that was used).
JSON, and one PNG per case (photo | result), go to ``benchmarks/results/``. It measures; it asserts nothing.
About one minute per case on 2 cores at 256 px.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
from pathlib import Path

import numpy as np

import nst_utils as nu
from nst_utils.colour import match_luminance, to_luminance
from nst_utils.precision import cpu_model

HERE = Path(__file__).resolve().parent
CASES = ("tubingen:day", "tubingen:dim", "tubingen:night", "rocket:day", "flower:day", "grace_hopper:day")
VARIANTS = {
    "day": lambda x: x,
    "dim": lambda x: 0.3 * x,     # under-exposed: every pixel x 0.3
    "night": lambda x: x ** 3,    # shadows crushed to black, highlights kept
}


def structure_only(image: np.ndarray) -> np.ndarray:
    """The luminance of ``image`` (1, H, W, 3) moved to global mean 0.5 and std 0.2, clipped to [0, 1]."""
    y = to_luminance(image)
    return np.clip(0.5 + 0.2 * (y - y.mean()) / (y.std() + 1e-6), 0.0, 1.0)


def measure(photo: str, variant: str, method: str, style: np.ndarray, size: int, steps: int,
            images: Path) -> dict:
    daylight = nu.load_sample(photo, size)
    content = np.clip(VARIANTS[variant](daylight), 0.0, 1.0).astype(np.float32)
    settings: dict = {}
    if method in ("painting", "photo"):
        settings["style_brightness"] = method
    elif method.startswith("alpha"):
        settings["alpha"] = float(method[len("alpha"):])
    elif method != "default":
        raise SystemExit(f"--methods: unknown method {method!r}; use default, painting, photo or alphaK (e.g. alpha3)")
    result = nu.style_transfer(content, style, steps=steps, progress=False, **settings)
    brightness = result.settings.style_brightness
    target = match_luminance(style, content) if brightness == "photo" else style
    x = result.image
    record = {
        "photo": photo, "variant": variant, "method": method, "settings": settings,
        "seconds": round(result.seconds, 1),
        "mean_luminance": {"photo": float(to_luminance(content).mean()), "result": float(to_luminance(x).mean())},
        "std_luminance": {"photo": float(to_luminance(content).std()), "result": float(to_luminance(x).std())},
        "ssim": nu.ssim(x, content, luminance=True),
        "ssim_structure": nu.ssim(structure_only(x), structure_only(content)),
        "style_brightness": brightness,
        "remaining_style": nu.remaining_style(x, style, content),
        "remaining_style_target": nu.remaining_style(x, target, content),
    }
    if variant != "day":
        record["ssim_daylight"] = nu.ssim(x, daylight, luminance=True)
    record["worst_layer"] = max(record["remaining_style"].values())
    record["worst_layer_target"] = max(record["remaining_style_target"].values())
    nu.save_image(np.concatenate([content, x], axis=2), images / f"dark_{photo}_{variant}_{method}.png",
                  overwrite=True)
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES), help="photo:variant, variant in " + ", ".join(VARIANTS))
    parser.add_argument("--methods", default="default")
    parser.add_argument("--style", default="woman_with_hat")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="smoke run: 64 px, 5 steps, two cases")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    cases = [c.split(":") for c in args.cases.split(",")]
    for case in cases:
        if len(case) != 2 or case[0] not in nu.SAMPLES or case[1] not in VARIANTS:
            raise SystemExit(f"--cases: {':'.join(case)!r} is not photo:variant (a sample name and one of "
                             f"{', '.join(VARIANTS)}), e.g. tubingen:night")
    if args.quick:
        args.size, args.steps, cases = 64, 5, cases[:2]
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = args.out or HERE / "results" / f"dark-photos-{stamp}{'-quick' if args.quick else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    style = nu.load_sample(args.style, args.size)
    records = []
    for photo, variant in cases:
        for method in args.methods.split(","):
            records.append(measure(photo, variant, method, style, args.size, args.steps, out.parent))
            r = records[-1]
            print(f"{photo:>13} {variant:>5} {method:>8}: SSIM {r['ssim']:.3f}, structure {r['ssim_structure']:.3f}, "
                  f"luminance {r['mean_luminance']['photo']:.2f} -> {r['mean_luminance']['result']:.2f}, "
                  f"worst layer {r['worst_layer']:.2f} (of its target {r['worst_layer_target']:.2f}, "
                  f"{r['style_brightness']}), {r['seconds']:.0f} s", flush=True)
            out.write_text(json.dumps({
                "script": "benchmarks/dark_photos.py", "date": stamp, "size": args.size, "steps": args.steps,
                "style": args.style, "machine": {"cpu": cpu_model(), "python": platform.python_version()},
                "runs": records}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
