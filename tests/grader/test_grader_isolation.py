"""The sandbox's walls that need no TensorFlow: a grader installed where the notebooks' Python can import
it, and memory held where no process is charged with it (bubblewrap, a sandbox that imports nothing)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from nst_grader.isolation import Limits, plan_sandbox
from nst_grader.sandbox import Sandbox, SandboxFailure
from nst_grader.scoring import parse_events

from grader_helpers import GRADER


def run_cell(python: str | None, work: Path, source: str, limits: Limits = Limits()) -> tuple[dict | None, str]:
    """Run one cell and ``f()`` in a sandbox that preloads nothing: (the value's events, failure kind)."""
    plan = plan_sandbox(work, limits, python)
    box = Sandbox(plan, limits, "isolation-test")
    box.preload = ""
    try:
        box.start(time.monotonic() + 60)
        frame = box.run({"type": "run", "id": 0, "function": "f", "timeout": 20, "helpers": "", "helper_names": [],
                         "cells": [{"number": 1, "source": source}], "cases": [{"args": [], "kwargs": {}}]},
                        time.monotonic() + 40)
        return {"parsed": parse_events(frame["events"], 1), "plan": plan}, ""
    except SandboxFailure as exc:
        return {"plan": plan}, exc.kind
    finally:
        assert box.close()["processes_left"] == 0


def test_a_grader_installed_beside_the_notebooks_python_is_invisible(tmp_path):
    """``pip install tools/grader`` into the environment that runs the notebooks puts the reference
    formulas on the sandbox's import path: the sandbox mounts empty folders over every copy."""
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    site = next((env / "lib").glob("python3*/site-packages"))
    import numpy

    for name in ("numpy", "numpy.libs"):  # the child sends its values with NumPy
        src = Path(numpy.__file__).parent.parent / name
        if src.is_dir():
            shutil.copytree(src, site / name, symlinks=True)
    shutil.copytree(GRADER / "nst_grader", site / "nst_grader")  # what pip install puts there
    (site / "nst_grader-1.0.0.dist-info").mkdir()
    (site / "nst_grader-1.0.0.dist-info" / "RECORD").write_text("nst_grader/reference.py,,\n")
    probe = ("import os, site\n"
             "try:\n    import nst_grader.reference\n    found = 1.0\nexcept ImportError:\n    found = -1.0\n"
             "sp = [p for p in site.getsitepackages() if os.path.isdir(p)]\n"
             "left = [n for p in sp for n in os.listdir(p) if n.startswith('nst_grader') and "
             "os.path.isdir(os.path.join(p, n)) and os.listdir(os.path.join(p, n))]\n"
             "def f():\n    return found if sp and not left else -2.0\n")
    work = tmp_path / "work"
    work.mkdir()
    got, failure = run_cell(str(env / "bin" / "python"), work, probe)
    assert failure == "", failure
    assert got["parsed"].values.get(0) == -1.0, got["parsed"]  # not importable, its folders empty
    assert any("hidden" in line and str(site / "nst_grader") in line for line in got["plan"].description)


def test_memory_in_anonymous_files_tmpfs_and_sysv_is_counted_or_capped(tmp_path):
    """memfd files held open (3x the limit) stop the sandbox; /dev/shm and /tmp are small; /dev is
    read-only; SysV shared memory is capped in the sandbox's own IPC namespace."""
    limits = Limits(memory_mb=300)
    flood = ("import mmap, os, time\nheld = []\nfor k in range(3 * 300 // 15):\n"
             "    fd = os.memfd_create(f'x{k}')\n    os.ftruncate(fd, 15 << 20)\n    m = mmap.mmap(fd, 15 << 20)\n"
             "    for off in range(0, 15 << 20, 4096):\n        m[off] = 1\n    m.close()\n    held.append(fd)\n"
             "time.sleep(3)\ndef f():\n    return 1.0\n")
    _, failure = run_cell(None, tmp_path, flood, limits)
    assert failure == "memory"
    probe = ("import ctypes, os\nres = []\nfor d in ('/dev/shm', '/dev', '/tmp'):\n    total = 0\n    try:\n"
             "        for k in range(20):\n            with open(f'{d}/f{k}', 'wb') as fh:\n"
             "                fh.write(b'x' * (15 << 20))\n            total += 15\n"
             "    except OSError:\n        pass\n    res.append(total)\n"
             "    for k in range(20):\n        try:\n            os.unlink(f'{d}/f{k}')\n"
             "        except OSError:\n            pass\n"
             "libc = ctypes.CDLL(None, use_errno=True)\nres.append(libc.shmget(0, 200 << 20, 0o1600))\n"
             "def f():\n    return res\n")
    got, failure = run_cell(None, tmp_path, probe, limits)
    assert failure == ""
    shm, dev, tmp, sysv = got["parsed"].values[0].tolist()
    assert shm <= limits.shm_mb and dev == 0 and tmp <= limits.disk_mb and sysv == -1, (shm, dev, tmp, sysv)
