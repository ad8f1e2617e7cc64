"""One home for the environment variables; TensorFlow imported without chatter but with its real errors;
every lesson name public on a fresh interpreter."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nst_utils as nu
from nst_utils import _tf, config

ROOT = Path(__file__).resolve().parents[1]


def test_environment_is_read_when_asked(monkeypatch, tmp_path):
    monkeypatch.setenv("NST_QUICK", "yes")
    monkeypatch.setenv("NST_IMAGE_DIR", str(tmp_path))
    monkeypatch.delenv("NST_PRECISION", raising=False)
    env = config.environment()
    assert env.quick and env.image_dir == tmp_path and env.precision is None
    monkeypatch.setenv("NST_QUICK", "0")
    assert not config.environment().quick and not nu.is_quick() and nu.pick(full=1, quick=2) == 1


def test_only_config_reads_nst_variables():
    readers = [p.name for p in (ROOT / "nst_utils").glob("*.py")
               if p.name != "config.py" and re.search(r"environ[^\n]*['\"]NST_", p.read_text())]
    assert readers == []


def test_readme_lists_every_variable():
    readme = (ROOT / "README.md").read_text()
    table = set(re.findall(r"^\| `(NST_[A-Z_]+)` \|", readme, flags=re.M))
    assert table == set(config.VARIABLES)
    used = set(re.findall(r"NST_[A-Z_]+", " ".join(p.read_text() for p in [*(ROOT / "nst_utils").glob("*.py"),
                                                                            ROOT / "course.py"])))
    assert used <= set(config.VARIABLES) | {"NST_"}


def _run_with_fake_tensorflow(tmp_path: Path, lines: str, crash: bool = False) -> subprocess.CompletedProcess:
    """Import nst_utils._tf with a stand-in 'tensorflow' that writes ``lines`` to fd 2 (and maybe aborts)."""
    fake = tmp_path / "tensorflow"
    fake.mkdir()
    (fake / "__init__.py").write_text(
        "import os\n"
        f"os.write(2, {lines.encode()!r})\n"
        + ("os.abort()\n" if crash else "")
        + "class config:\n    @staticmethod\n    def list_physical_devices(*a): return []\n")
    code = (f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import importlib.util as u\n"
            f"spec = u.spec_from_file_location('q', {str(Path(_tf.__file__))!r}); m = u.module_from_spec(spec)\n"
            "spec.loader.exec_module(m); print('imported')\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_start_up_chatter_is_dropped_and_real_errors_are_kept(tmp_path):
    chatter = ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
               "I0000 00:00:1795431547.015977    5402 port.cc:153] oneDNN custom operations are on. ...\n"
               "I0000 00:00:1795431547.016378    5402 cudart_stub.cc:31] Could not find cuda drivers on your machine\n"
               "E0000 00:00:1795431549.517195    5402 cuda_platform.cc:52] failed call to cuInit: INTERNAL\n")
    real = "F0000 00:00:1795431549.5 5402 something.cc:1] Check failed: a real fatal error\n"
    out = _run_with_fake_tensorflow(tmp_path, chatter + real)
    assert out.returncode == 0 and out.stdout.strip() == "imported"
    assert out.stderr == real


def test_a_crash_during_the_import_still_shows_its_message(tmp_path):
    out = _run_with_fake_tensorflow(tmp_path, "I0000 00:00:1.0 1 port.cc:1] oneDNN custom operations are on\n"
                                              "F0000 fatal: the import crashed\n", crash=True)
    assert out.returncode != 0 and "imported" not in out.stdout
    assert "F0000 fatal: the import crashed" in out.stderr and "oneDNN" not in out.stderr


def test_every_public_name_works_on_a_fresh_interpreter():
    code = ("import nst_utils as nu\n"
            "missing = [n for n in nu.__all__ if not hasattr(nu, n)]\n"
            "print(len(nu.__all__), missing, nu.images.to_uint8 is nu.to_uint8)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    count, missing, same = out.stdout.split(" ", 2)
    assert out.returncode == 0 and missing == "[]" and same.strip() == "True" and int(count) > 60
    assert out.stderr == ""  # no start-up chatter from TensorFlow


def test_the_grader_is_not_part_of_the_library():
    assert not (ROOT / "nst_utils" / "grading.py").exists() and not hasattr(nu, "grading")


def test_no_import_cycle_between_images_and_samples():
    assert "samples" not in (ROOT / "nst_utils" / "images.py").read_text()
