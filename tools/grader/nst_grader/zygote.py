"""The grader's process *inside* the sandbox: one per student file, run as a script.

    python -I -B zygote.py [--drop-to UID] [--pid-namespace] [--limits JSON] [--stubs FILE]

This file is mounted read-only into the sandbox on its own: it must not import anything from
``nst_grader`` (the supervisor's code, with the hidden cases and the reference formulas, is never
visible to the student's code). The supervisor imports it only for :func:`pack` and
:class:`FrameReader`; nothing here imports NumPy or TensorFlow at module level.

What it does, in order, before any student code runs:

1. in root mode (``--drop-to``), drop to an unprivileged uid/gid, empty the capability bounding set
   and check that no capability is left;
2. mark itself non-dumpable (a student's process cannot ptrace it or open its file descriptors)
   and set ``no_new_privs``;
3. set its resource limits (inherited by every process it forks): address space, processes,
   file size, open files, no core files;
4. import NumPy, Matplotlib, TensorFlow and ``nst_utils`` once (the "zygote").

Then, for each task the supervisor sends (one exercise), it forks a child that runs the notebook's
cells and calls the exercise's function on the hidden inputs, and sends back what the child wrote:
**raw values only** (JSON numbers). The child never sees an expected value and decides nothing:
the supervisor compares. After the child ends, every other process left in the sandbox is killed
(``kill(-1)`` in the sandbox's own pid namespace), so the next exercise starts clean.
"""

from __future__ import annotations

import json
import os
import select
import signal
import struct
import sys
import time

HEADER = struct.Struct(">I")
#: largest frame the supervisor accepts from the sandbox (values + output tails)
MAX_FRAME_FROM_SANDBOX = 4 << 20
#: largest raw event stream accepted from one exercise's child
MAX_EVENTS = 2 << 20
#: most numbers in one returned value (the largest expected value is a 12 x 12 matrix)
MAX_VALUE_SIZE = 100_000
#: bytes of the exercise's printed output sent back (the end of it)
OUTPUT_TAIL = 6000
#: printed between the notebook's cells and the hidden tests
HIDDEN_TESTS_MARKER = "----- nst-grader: hidden tests start here -----"
#: exception raised by the stubs that replace the library's reference implementations
BLOCKED = "ReferenceImplementationBlocked"


# ------------------------------------------------------------------ frames (shared with the supervisor)


def pack(obj: object) -> bytes:
    """One frame: a 4-byte big-endian length and UTF-8 JSON."""
    data = json.dumps(obj, allow_nan=True).encode("utf-8")
    return HEADER.pack(len(data)) + data


class FrameReader:
    """Incremental reader of frames with a size limit (raises ValueError on a frame too large)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self.buffer += data
        frames = []
        while len(self.buffer) >= HEADER.size:
            (n,) = HEADER.unpack_from(self.buffer)
            if n > self.limit:
                raise ValueError(f"frame of {n} bytes, more than the {self.limit} allowed")
            if len(self.buffer) < HEADER.size + n:
                break
            frames.append(bytes(self.buffer[HEADER.size:HEADER.size + n]))
            del self.buffer[:HEADER.size + n]
        return frames


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _read_frame(fd: int) -> bytes | None:
    """A frame from the supervisor (trusted), or None at the end of input."""
    def exactly(n: int) -> bytes | None:
        chunks, got = [], 0
        while got < n:
            chunk = os.read(fd, n - got)
            if not chunk:
                return None
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    head = exactly(HEADER.size)
    if head is None:
        return None
    return exactly(HEADER.unpack(head)[0])


# ------------------------------------------------------------------ start-up: privileges and limits


def _libc():
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def _capabilities() -> dict[str, str]:
    with open("/proc/self/status") as f:
        return {k: v.strip() for k, v in (line.split(":", 1) for line in f if line.startswith("Cap"))}


def _clear_capability_sets(libc) -> None:
    """capset(2) with every set empty (dropping capabilities needs no privilege)."""
    import ctypes

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    header, data = Header(0x20080522, 0), (Data * 2)()   # _LINUX_CAPABILITY_VERSION_3: two 32-bit words
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


def _drop_privileges(uid: int) -> None:
    """Root mode: empty the bounding set, become ``uid`` (no capability left), check it."""
    libc = _libc()
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            last = int(f.read())
    except OSError:
        last = 63
    for cap in range(last + 1):
        libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP (needs CAP_SETPCAP, given by bwrap for this)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    _clear_capability_sets(libc)   # setresuid empties permitted/effective/ambient; inheritable stays unless cleared
    caps = _capabilities()
    if os.getuid() != uid or os.geteuid() != uid or any(int(caps[k], 16) for k in ("CapInh", "CapPrm", "CapEff", "CapAmb")):
        sys.stderr.write(f"nst-grader zygote: could not drop privileges: uid {os.getuid()}, {caps}\n")
        os._exit(71)


def _harden() -> None:
    """Non-dumpable (no ptrace, no /proc/<pid>/fd from other processes) and no_new_privs."""
    try:
        libc = _libc()
        libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0
        libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
    except OSError:  # not Linux (unsandboxed elsewhere)
        pass


def _set_limits(limits: dict) -> dict:
    import resource

    names = {"as": "RLIMIT_AS", "nproc": "RLIMIT_NPROC", "fsize": "RLIMIT_FSIZE", "nofile": "RLIMIT_NOFILE",
             "core": "RLIMIT_CORE", "cpu": "RLIMIT_CPU"}
    applied = {}
    for key, value in limits.items():
        res = getattr(resource, names[key], None)
        if res is None or value is None:
            continue
        soft, hard = (value, value) if isinstance(value, int) else value
        try:
            resource.setrlimit(res, (soft, hard))
        except (ValueError, OSError) as exc:
            applied[key] = f"not set: {exc}"
            continue
        applied[key] = list(resource.getrlimit(res))
    return applied


def _install_stubs(path: str) -> None:
    """Unsandboxed mode only: serve the stub modules by an import hook (a convention, not a barrier)."""
    import importlib.abc
    import importlib.util

    with open(path) as f:
        stubs = json.load(f)

    class StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, name, path=None, target=None):
            return importlib.util.spec_from_loader(name, self) if name in stubs else None

        def create_module(self, spec):
            return None

        def exec_module(self, module):
            exec(compile(stubs[module.__name__], f"<stub {module.__name__}>", "exec"), module.__dict__)

    sys.meta_path.insert(0, StubFinder())


def _preload(modules: list[str]) -> list[str]:
    """Import what the notebooks' set-up cells import, once, before forking. Returns the failures."""
    failed = []
    for name in modules:
        try:
            __import__(name)
        except BaseException as exc:  # noqa: BLE001 -- reported to the supervisor, not fatal
            failed.append(f"{name}: {type(exc).__name__}: {exc}"[:300])
    return failed


# ------------------------------------------------------------------ inside one exercise's child


def _strip_magics(src: str) -> str:
    """Comment out IPython magics and shell escapes (``%time``, ``!pip``, ``x = !ls``): Python only."""
    import re

    magic = re.compile(r"^\s*([%!]|\w+\s*=\s*[%!])")
    return "".join(("# " + line) if magic.match(line) else line for line in src.splitlines(keepends=True))


def _short_traceback(exc: BaseException) -> str:
    """The exception and the frames inside the notebook's cells (not the grader's, not TensorFlow's)."""
    import traceback

    try:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith("<cell")]
        text = f"{type(exc).__name__}: {exc}".strip()
    except BaseException:  # noqa: BLE001 -- a student's exception whose __str__ raises
        return f"{type(exc).__name__} (its message could not be read)"
    lines = [text[:600]]
    for f in frames[-3:]:
        lines.append(f"  {f.filename}, line {f.lineno}" + (f": {f.line.strip()[:200]}" if f.line else ""))
    return "\n".join(lines)


def _decode(value):
    """Hidden inputs from their JSON form: ``array`` becomes a float32 tensor, as in the notebook,
    ``ndarray`` a NumPy array of its dtype (TensorFlow is imported only for ``array`` and ``tensor``)."""
    import numpy as np

    kind = value.get("t")
    if kind == "array":
        import tensorflow as tf

        return tf.constant(np.asarray(value["data"], dtype=np.float32).reshape(value["shape"]))
    if kind == "ndarray":
        return np.asarray(value["data"], dtype=value["dtype"]).reshape(value["shape"])
    if kind == "float":
        return float(value["v"])
    if kind == "np_float32":
        return np.float32(value["v"])
    if kind == "tensor":
        import tensorflow as tf

        return tf.constant(value["v"], dtype=tf.float32)
    if kind == "dict":
        return {k: _decode(v) for k, v in value["items"]}
    if kind in ("list", "tuple"):
        items = [_decode(v) for v in value["items"]]
        return items if kind == "list" else tuple(items)
    if kind in ("int", "bool", "str"):
        return {"int": int, "bool": bool, "str": str}[kind](value["v"])
    if kind == "none":
        return None
    raise ValueError(f"unknown value kind {kind!r}")


def _child(task: dict, events: int) -> None:
    """Run the cells, then the function on each hidden input; write events (the caller then exits)."""
    import builtins
    import linecache

    def emit(obj: dict) -> None:
        _write_all(events, (json.dumps(obj, allow_nan=True) + "\n").encode("utf-8"))

    try:
        if "tensorflow" not in sys.modules:  # NumPy-only assignments: do not import it here
            raise ImportError("TensorFlow not preloaded")
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except Exception:  # noqa: BLE001 -- TensorFlow already started, or not there
        pass
    ns: dict = {"__name__": "__main__", "__builtins__": builtins}
    for cell in task["cells"]:
        try:
            name, source = f"<cell {cell['number']}>", _strip_magics(cell["source"])
            linecache.cache[name] = (len(source), None, source.splitlines(keepends=True), name)  # lines in tracebacks
            exec(compile(source, name, "exec"), ns)
        except BaseException as exc:  # noqa: BLE001 -- the notebook may do anything
            emit({"ev": "cell_error", "cell": cell["number"], "error": _short_traceback(exc)})
    if task.get("helpers"):
        helper_ns: dict = {"__name__": "nst_grader_helpers", "__builtins__": builtins}
        exec(compile(task["helpers"], "<grader's helpers>", "exec"), helper_ns)
        for name in task["helper_names"]:
            ns[name] = helper_ns[name]
    fn = ns.get(task["function"])
    if not callable(fn):
        emit({"ev": "no_function"})
        return
    sys.stdout.flush()
    sys.stderr.flush()
    emit({"ev": "start", "offset": os.lseek(1, 0, os.SEEK_CUR)})
    print(HIDDEN_TESTS_MARKER, flush=True)
    for k, case in enumerate(task["cases"]):
        try:
            args = [_decode(a) for a in case["args"]]
            kwargs = {key: _decode(v) for key, v in case["kwargs"].items()}
            got = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001
            emit({"ev": "case", "k": k, "error": _short_traceback(exc), "type": type(exc).__name__})
            if isinstance(exc, NotImplementedError):
                break
            continue
        try:
            import numpy as np

            try:
                arr = np.asarray(got, dtype=np.float64)
            except OverflowError:  # Python integers too large for a float: sent as infinities
                obj = np.asarray(got, dtype=object)
                if obj.size > MAX_VALUE_SIZE:
                    raise ValueError(f"the result has {obj.size} numbers") from None
                arr = np.asarray([_big(v) for v in obj.ravel()], dtype=np.float64).reshape(obj.shape)
            if arr.size > MAX_VALUE_SIZE:
                raise ValueError(f"the result has {arr.size} numbers")
            emit({"ev": "case", "k": k, "shape": [int(n) for n in arr.shape], "data": arr.ravel().tolist()})
        except BaseException as exc:  # noqa: BLE001
            emit({"ev": "case", "k": k, "type": "unreadable",
                  "error": f"the result cannot be read as numbers: {_short_traceback(exc)}"})
    emit({"ev": "end"})


def _big(v) -> float:
    try:
        return float(v)
    except OverflowError:
        return float("inf") if v > 0 else float("-inf")


def _run_child(task: dict, events: int, output: int, control: tuple[int, int]) -> None:
    try:
        os.setpgid(0, 0)
        for fd in control:
            os.close(fd)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(output)
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # Python ignores it: die at the file size limit
        cpu = int(task["timeout"]) + 2
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 3))
        _child(task, events)
    except BaseException as exc:  # noqa: BLE001 -- a grader error must still end this process
        try:
            _write_all(events, (json.dumps({"ev": "grader_error", "error": repr(exc)[:500]}) + "\n").encode())
        except BaseException:  # noqa: BLE001
            pass
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(0)


# ------------------------------------------------------------------ the zygote's loop


def _others_alive() -> list[int]:
    me = os.getpid()
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me)]


def _kill_leftovers(child: int, pid_namespace: bool) -> int:
    """Kill every process the exercise left behind. Returns how many were still alive."""
    if pid_namespace and os.getpid() <= 3:  # our own pid namespace: everything but us and its init
        left = len(_others_alive())
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
        end = time.monotonic() + 3
        while _others_alive() and time.monotonic() < end:
            time.sleep(0.01)
        return left
    try:
        os.killpg(child, signal.SIGKILL)
    except OSError:
        pass
    return 0


def _tail(path: str, n: int) -> tuple[int, str, int]:
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            start = max(0, size - n)
            f.seek(start)
            return size, f.read(n).decode("utf-8", "replace"), start
    except OSError:
        return 0, "", 0


def _snapshot(folders: list[str]) -> dict[str, set[str]]:
    out = {}
    for folder in folders:
        try:
            out[folder] = set(os.listdir(folder))
        except OSError:
            pass
    return out


def _remove_new_files(keep: dict[str, set[str]]) -> int:
    """Remove what the exercise created at the top of the sandbox's /tmp and /dev/shm, and its SysV shared
    memory segments (so that a flood costs that exercise only). Returns how many."""
    import shutil

    removed = 0
    for folder, names in keep.items():
        try:
            found = os.listdir(folder)
        except OSError:
            continue
        for name in found:
            if name in names:
                continue
            path = os.path.join(folder, name)
            try:
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    os.unlink(path)
                removed += 1
            except OSError:
                pass
    try:
        with open("/proc/sysvipc/shm") as f:
            ids = [int(line.split()[1]) for line in f.readlines()[1:] if line.split()]
    except (OSError, ValueError, IndexError):
        ids = []
    if ids:
        try:
            libc = _libc()
            for shmid in ids:
                removed += libc.shmctl(shmid, 0, None) == 0  # IPC_RMID
        except OSError:
            pass
    return removed


def run_task(task: dict, workdir: str, control: tuple[int, int], pid_namespace: bool,
             keep: dict[str, set[str]] | None = None) -> dict:
    """Fork one exercise's child, collect its events, enforce its time limit, clean up after it."""
    out_path = os.path.join(workdir, f".output-{int(task['id'])}.txt")
    output = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    r, w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        _run_child(task, w, output, control)
    os.close(w)
    os.close(output)
    events = bytearray()
    truncated = timed_out = eof = False
    status = None
    deadline = start + float(task["timeout"])
    while True:
        if status is None:
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status = st
        if status is None and (truncated or time.monotonic() > deadline):
            timed_out = not truncated
            for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
                try:
                    target()
                except OSError:
                    pass
            _, status = os.waitpid(pid, 0)
            break
        if eof:
            if status is not None:
                break
            time.sleep(0.02)
            continue
        ready, _, _ = select.select([r], [], [], 0.02 if status is None else 0)
        if ready:
            chunk = os.read(r, 65536)
            if not chunk:
                eof = True
            elif len(events) + len(chunk) > MAX_EVENTS:
                truncated = eof = True
            else:
                events += chunk
        elif status is not None:
            break  # the child is gone and the pipe is empty (a leftover process may still hold it)
    seconds = time.monotonic() - start
    os.close(r)
    leftovers = _kill_leftovers(pid, pid_namespace)
    size, tail, tail_start = _tail(out_path, OUTPUT_TAIL)
    try:
        os.unlink(out_path)
    except OSError:
        pass
    removed = _remove_new_files(keep) if keep is not None else 0
    result = {"files_removed": removed, "type": "done", "id": task["id"], "events": events.decode("utf-8", "replace"),
              "events_truncated": truncated, "timed_out": timed_out, "seconds": round(seconds, 3),
              "output_size": size, "output_tail": tail, "output_tail_start": tail_start,
              "leftover_processes": leftovers}
    if os.WIFSIGNALED(status):
        result["signal"] = os.WTERMSIG(status)
    else:
        result["exit_code"] = os.WEXITSTATUS(status)
    return result


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="zygote.py")
    parser.add_argument("--drop-to", type=int)
    parser.add_argument("--pid-namespace", action="store_true")
    parser.add_argument("--limits", default="{}")
    # not nst_utils: importing it starts TensorFlow's runtime (its thread pools), and a process forked after
    # that hangs at its first tf.function call (the pools' threads do not survive the fork). Each exercise's
    # process imports nst_utils itself, in well under a second once TensorFlow is loaded.
    parser.add_argument("--preload", default="numpy,matplotlib,matplotlib.pyplot,tensorflow")
    parser.add_argument("--stubs")
    parser.add_argument("--workdir", default="/tmp")
    args = parser.parse_args(argv)

    if args.drop_to is not None:
        _drop_privileges(args.drop_to)
    _harden()
    limits = _set_limits(json.loads(args.limits))
    control_in, control_out = os.dup(0), os.dup(1)
    for fd in (control_in, control_out):
        os.set_inheritable(fd, False)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)  # anything printed from now on goes to the supervisor's log, not the protocol
    if args.stubs:
        _install_stubs(args.stubs)
    t0 = time.monotonic()
    failed = _preload([m for m in args.preload.split(",") if m])
    caps = _capabilities() if sys.platform.startswith("linux") else {}
    try:
        pidns = os.readlink("/proc/self/ns/pid")
    except OSError:
        pidns = None
    # what the start-up left in /tmp and /dev/shm (caches): the rest is removed after every exercise
    keep = _snapshot([args.workdir, "/dev/shm"]) if args.pid_namespace else None
    _write_all(control_out, pack({
        "type": "ready", "pid": os.getpid(), "uid": os.getuid(), "gid": os.getgid(), "capabilities": caps,
        "limits": limits, "preload_seconds": round(time.monotonic() - t0, 2), "preload_failed": failed,
        "pid_namespace": pidns, "python": sys.version.split()[0],
        "tensorflow": getattr(sys.modules.get("tensorflow"), "__version__", None)}))
    while True:
        frame = _read_frame(control_in)
        if frame is None:
            return 0
        task = json.loads(frame)
        if task.get("type") == "exit":
            return 0
        _write_all(control_out, pack(run_task(task, args.workdir, (control_in, control_out), args.pid_namespace,
                                              keep)))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
