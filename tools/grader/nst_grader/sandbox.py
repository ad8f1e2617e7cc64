"""A running sandbox: one per student file, bubblewrap around the zygote (:mod:`nst_grader.zygote`).

The supervisor (this module, in the grader's process) talks to the zygote over two pipes with framed,
size-limited JSON, watches the sandbox's processes (found by their pid namespace) and kills the whole
sandbox when their memory (PSS) passes the limit; at the end it kills the sandbox and waits until no
process of it is left. How the sandbox is built is :mod:`nst_grader.isolation`.
"""

from __future__ import annotations

import json
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from nst_grader import zygote
from nst_grader.isolation import ZYGOTE_IN_SANDBOX, Limits, Plan


def _procs() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


#: what /proc/<pid>/fd/<n> links to for memory that no process is charged with (shmem objects)
_SHMEM_LINKS = ("/memfd:", "/dev/shm/", "/SYSV", "/tmp/")


def _shmem_objects(pid: int, seen: dict[tuple[int, int], int]) -> None:
    """Add to ``seen`` the shared-memory objects (memfd, files in /dev/shm or /tmp, SysV segments) that
    ``pid`` holds open: ``(device, inode) -> bytes allocated``. Their pages are in nobody's PSS unless
    mapped, so a process could hold any amount of them through file descriptors."""
    base = f"/proc/{pid}/fd"
    try:
        fds = os.listdir(base)
    except OSError:
        return
    for fd in fds:
        try:
            target = os.readlink(f"{base}/{fd}")
            if not target.startswith(_SHMEM_LINKS):
                continue
            st = os.stat(f"{base}/{fd}")
        except OSError:
            continue
        seen[(st.st_dev, st.st_ino)] = st.st_blocks * 512


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, session) of a process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return fields[0], int(fields[3])
    except (OSError, ValueError, IndexError):
        return None


class SandboxFailure(RuntimeError):
    """The sandbox died, hung, ran out of memory or broke the protocol; ``kind`` says which."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class Sandbox:
    """One running sandbox: start, run tasks one at a time, close (always)."""

    def __init__(self, plan: Plan, limits: Limits, label: str) -> None:
        self.plan, self.limits, self.label = plan, limits, label
        self.proc: subprocess.Popen | None = None
        self.reader = zygote.FrameReader(zygote.MAX_FRAME_FROM_SANDBOX)
        self.frames: list[bytes] = []
        self.stderr = bytearray()
        self.pidns: str | None = None
        self.ready: dict = {}
        self.peak_mb = 0.0
        self.uid = 2_000_000 + secrets.randbelow(1_000_000) if plan.root_mode and plan.sandboxed else None
        self.private: Path | None = None
        self.preload: str | None = None  # modules the zygote imports first (None: its default list)

    # ---------------------------------------------------------------- start and stop

    def start(self, deadline: float) -> dict:
        zargs = ["--limits", json.dumps(self.limits.rlimits())]
        if self.plan.sandboxed:
            cmd = self.plan.command_prefix + [self.plan.python, "-I", "-B", ZYGOTE_IN_SANDBOX, "--pid-namespace"]
            if self.uid is not None:
                cmd += ["--drop-to", str(self.uid)]
            cwd, env = "/", {}
        else:
            self.private = Path(self.plan.workdir) / f"private-{secrets.token_hex(6)}"
            self.private.mkdir(mode=0o700)
            limits = self.limits.rlimits()
            limits["nproc"] = None  # would count all your processes: not set unsandboxed
            zargs = ["--limits", json.dumps(limits), "--workdir", str(self.private),
                     "--stubs", str(Path(self.plan.workdir) / "stubs" / "stubs.json")]
            cmd = [self.plan.python, "-I", "-B", str(Path(zygote.__file__).resolve())]
            cwd = str(self.private)
            env = {"HOME": str(self.private), "TMPDIR": str(self.private), "MPLBACKEND": "Agg",
                   "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "-1", "OMP_NUM_THREADS": "1",
                   "NST_QUICK": "1", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        if self.preload is not None:
            zargs += ["--preload", self.preload]
        self.proc = subprocess.Popen(cmd + zargs, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=cwd, env=env, start_new_session=True)
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        os.set_blocking(self.proc.stdout.fileno(), False)
        os.set_blocking(self.proc.stdin.fileno(), False)
        ready = self._next_frame(deadline, starting=True)
        if ready.get("type") != "ready":
            raise SandboxFailure("protocol", "the sandbox did not start properly")
        if self.plan.sandboxed:
            if ready.get("uid") == 0 or any(int(str(v), 16) for k, v in ready.get("capabilities", {}).items()
                                           if k in ("CapInh", "CapPrm", "CapEff", "CapAmb")):
                raise SandboxFailure("start", f"the sandbox kept privileges: {ready}")
            self.pidns = ready.get("pid_namespace")
            ready["sysv_shm_capped"] = self.cap_sysv_shm()
        self.ready = ready
        return ready

    def _drain_stderr(self) -> None:
        assert self.proc is not None
        while True:
            chunk = self.proc.stderr.read1(65536) if hasattr(self.proc.stderr, "read1") else self.proc.stderr.read(65536)
            if not chunk:
                return
            self.stderr += chunk
            if len(self.stderr) > 64 << 10:
                del self.stderr[16 << 10: len(self.stderr) - (32 << 10)]

    def members(self) -> list[int]:
        """Host pids of every live process in this sandbox (its pid namespace; its session unsandboxed).

        Zombies (processes that have exited and wait to be reaped by the system) are not counted."""
        if self.proc is None:
            return []
        out = []
        for pid in _procs():
            st = _stat(pid)
            if st is None or st[0] in ("Z", "X"):
                continue
            try:
                if self.pidns is not None:
                    if os.readlink(f"/proc/{pid}/ns/pid") == self.pidns and pid != self.proc.pid:
                        out.append(pid)
                elif st[1] == self.proc.pid:
                    out.append(pid)
            except OSError:
                continue
        return out

    def memory_mb(self) -> float:
        """The sandbox's memory: the PSS of its processes plus the shared-memory objects they hold open
        (memfd, /dev/shm, SysV; counted twice when also mapped: the limit errs on the safe side)."""
        members = self.members()
        objects: dict[tuple[int, int], int] = {}
        for p in members:
            _shmem_objects(p, objects)
        mb = (sum(_pss_kb(p) for p in members) + sum(objects.values()) / 1024) / 1024
        self.peak_mb = max(self.peak_mb, mb)
        return mb

    def cap_sysv_shm(self) -> bool:
        """Limit SysV shared memory in the sandbox's own IPC namespace to ``Limits.shm_mb`` (segments
        detached after being filled are in nobody's PSS). A helper process joins the namespace (as root,
        or through the sandbox's user namespace) and writes ``kernel.shmall``/``shmmax``; False if it could not."""
        members = self.members()
        if not members or not self.plan.sandboxed:
            return False
        pages = (self.limits.shm_mb << 20) // os.sysconf("SC_PAGE_SIZE")
        code = ("import ctypes, os, sys\n"
                "libc = ctypes.CDLL(None, use_errno=True)\n"
                "pid = sys.argv[1]\n"
                "if os.geteuid() != 0:\n"
                "    fd = os.open(f'/proc/{pid}/ns/user', os.O_RDONLY)\n"
                "    assert libc.setns(fd, 0x10000000) == 0, ctypes.get_errno()\n"
                "fd = os.open(f'/proc/{pid}/ns/ipc', os.O_RDONLY)\n"
                "assert libc.setns(fd, 0x08000000) == 0, ctypes.get_errno()\n"
                f"open('/proc/sys/kernel/shmall', 'w').write('{pages}')\n"
                f"open('/proc/sys/kernel/shmmax', 'w').write('{self.limits.shm_mb << 20}')\n")
        try:
            done = subprocess.run([sys.executable, "-I", "-S", "-c", code, str(members[0])], capture_output=True,
                                  timeout=20)
        except (OSError, subprocess.SubprocessError):
            return False
        return done.returncode == 0

    def close(self) -> dict:
        """Kill everything in the sandbox and wait until it is all gone. Returns what happened."""
        info = {"processes_left": 0, "seconds": 0.0}
        if self.proc is None:
            return info
        t0 = time.monotonic()
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        for target in (lambda: os.killpg(self.proc.pid, signal.SIGKILL), lambda: self.proc.kill()):
            try:
                target()
            except OSError:
                pass
        for pid in self.members():  # unsandboxed: the session; sandboxed: the namespace dies with bwrap
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.proc.wait()
        end = time.monotonic() + 20
        left = self.members()
        while left and time.monotonic() < end:
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.05)
            left = self.members()
        if self.private is not None:
            shutil.rmtree(self.private, ignore_errors=True)
        info.update(processes_left=len(left), seconds=round(time.monotonic() - t0, 3))
        return info

    def log_tail(self, n: int = 3000) -> str:
        return self.stderr[-n:].decode("utf-8", "replace")

    # ---------------------------------------------------------------- talking to the zygote

    def _check_memory(self) -> None:
        if self.memory_mb() > self.limits.memory_mb:
            raise SandboxFailure("memory", f"the sandbox used more than {self.limits.memory_mb} MB of memory")

    def _next_frame(self, deadline: float, starting: bool = False) -> dict:
        assert self.proc is not None
        fd = self.proc.stdout.fileno()
        next_check = 0.0
        while not self.frames:
            now = time.monotonic()
            if now > deadline:
                raise SandboxFailure("hung", "the sandbox did not answer in time")
            if now >= next_check:
                self._check_memory()
                next_check = now + 0.15
            ready, _, _ = select.select([fd], [], [], min(0.15, max(0.0, deadline - now)))
            if not ready:
                continue
            try:
                chunk = os.read(fd, 1 << 20)
            except BlockingIOError:
                continue
            if not chunk:
                kind = "start" if starting else "died"
                raise SandboxFailure(kind, "the sandbox ended" + (f": {self.log_tail(600).strip()}" if starting else ""))
            try:
                self.frames += self.reader.feed(chunk)
            except ValueError as exc:
                raise SandboxFailure("protocol", str(exc)) from None
        frame = self.frames.pop(0)
        try:
            obj = json.loads(frame)
        except (ValueError, RecursionError):
            raise SandboxFailure("protocol", "the sandbox sent a frame that is not JSON") from None
        if not isinstance(obj, dict):
            raise SandboxFailure("protocol", "the sandbox sent a frame that is not an object")
        return obj

    def _send(self, data: bytes, deadline: float) -> None:
        assert self.proc is not None
        fd = self.proc.stdin.fileno()
        view = memoryview(data)
        while view:
            if time.monotonic() > deadline:
                raise SandboxFailure("hung", "the sandbox stopped reading")
            _, ready, _ = select.select([], [fd], [], 0.15)
            if ready:
                try:
                    view = view[os.write(fd, view):]
                except BlockingIOError:
                    continue
                except BrokenPipeError:
                    raise SandboxFailure("died", "the sandbox ended") from None
            self._check_memory()

    def run(self, task: dict, deadline: float) -> dict:
        """Send one task and return the zygote's (untrusted) answer. Raises :class:`SandboxFailure`."""
        self._send(zygote.pack(task), deadline)
        return self._next_frame(deadline)
