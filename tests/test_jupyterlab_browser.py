"""JupyterLab as a new student meets it: ``python3 course.py lab`` with a fresh HOME, in a real Chromium.

The test starts the README's command (``course.py lab``, on a free local port, quick mode, a fresh HOME
and fresh Jupyter folders in a temporary directory, autosave off) and drives headless Chromium through
Playwright's sync API:

1. ``/`` lands on lesson 00 (not the Launcher), and once its kernel is idle the tab is not marked
   modified (the notebook's kernelspec and language_info are what the server reports);
2. it runs lesson 00's first three code cells with Shift+Enter, as a student does: they run, and no
   output shows TensorFlow's or CUDA's start-up lines (``oneDNN ...``, ``failed call to cuInit``, ...);
3. lesson 01 opens with its saved widgets drawn as widgets (the notebook is trusted by ``course.py lab``
   and stores the widgets' state), not as ``VBox(children=...`` text, and is not marked modified.

The notebooks on disk are not changed (checked). The browser is the one ``course.py test`` found
(``NST_CHROMIUM``): no browser is downloaded. Screenshots: ``outputs/tests/jupyterlab_lesson00.png``, ``jupyterlab_lesson01_widgets.png``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import course  # noqa: E402

_spec = importlib.util.spec_from_file_location("nst_notebook_tool", ROOT / "tools" / "notebooks.py")
_tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_tool)
CHATTER = _tool.CHATTER

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-dev-shm-usage"]
LESSON_00 = "notebooks/00_images_and_vgg_input.ipynb"
LESSON_01 = "notebooks/01_cnn_feature_maps.ipynb"
CODE_CELLS = 3
WIDGET_AS_TEXT = re.compile(r"^\s*(VBox|HBox|Box|interactive|Tab|Accordion|GridBox)\(children=|Error displaying widget",
                            re.M)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _digest(paths) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


@pytest.fixture
def lab(tmp_path):
    """``course.py lab`` as a new user starts it; yields (url, token); stops it and its kernels afterwards."""
    import matplotlib

    from nst_utils.cache import cache_dir

    home = tmp_path / "home"
    settings = home / "lab-settings"
    (settings / "@jupyterlab" / "docmanager-extension").mkdir(parents=True)
    # the test runs cells in the real notebooks: never write them back
    (settings / "@jupyterlab" / "docmanager-extension" / "plugin.jupyterlab-settings").write_text('{"autosave": false}')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "MPLBACKEND", "IPYTHON"))}
    env.update(HOME=str(home), JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
               JUPYTER_DATA_DIR=str(home / ".local" / "share" / "jupyter"),
               JUPYTER_RUNTIME_DIR=str(home / ".local" / "share" / "jupyter" / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTERLAB_WORKSPACES_DIR=str(home / "lab-workspaces"),
               IPYTHONDIR=str(home / ".ipython"), NST_QUICK="1", NST_OUTPUT_DIR=str(tmp_path / "outputs"),
               # downloads made before (weights, samples) and matplotlib's font cache are not what is tested
               NST_CACHE_DIR=str(cache_dir()), MPLCONFIGDIR=matplotlib.get_configdir())
    port, token = _free_port(), secrets.token_hex(16)
    log = tmp_path / "lab.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, str(ROOT / "course.py"), "lab", "--no-browser", f"--port={port}",
                                 "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"course.py lab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                urllib.request.urlopen(f"{url}api/status?token={token}", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"JupyterLab did not answer within 120 s:\n{log.read_text()[-3000:]}")
                time.sleep(0.3)
        yield url, token
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # the server shuts its kernels down
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


def _wait_until_idle(page, name: str) -> None:
    """Wait until the open notebook's kernel is idle (the status bar says so) and JupyterLab has settled."""
    page.wait_for_function("() => /\\| Idle/.test(document.querySelector('.jp-StatusBar-Widget')?.innerText ?? '')",
                           timeout=120_000)
    page.wait_for_function(f"() => document.querySelector('.lm-TabBar-tab.jp-mod-current')?.innerText.includes({name!r})")
    time.sleep(3)  # kernel info, language_info and widget state arrive just after "Idle"


def _tab(page, name: str) -> dict:
    return page.evaluate("(name) => { const t = [...document.querySelectorAll('.lm-DockPanel-tabBar .lm-TabBar-tab')]"
                         ".find(t => t.innerText.includes(name)); return t ? {dirty: t.classList.contains('jp-mod-dirty')}"
                         " : null; }", name)


def test_a_new_student_in_jupyterlab(lab):
    from playwright.sync_api import sync_playwright

    from nst_utils.outputs import output_dir

    url, token = lab
    shots = output_dir("tests")
    chromium = course.find_chromium(sys.executable)
    assert chromium, "no Chromium: install it (e.g. `sudo apt-get install chromium`) or set NST_CHROMIUM"
    before = _digest((ROOT / "notebooks").glob("*.ipynb"))
    t0 = time.monotonic()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            # 1. the landing page is lesson 00, and opening it does not mark it modified
            page.goto(f"{url}?token={token}", timeout=120_000)
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
            landed = page.url
            _wait_until_idle(page, Path(LESSON_00).name)
            tabs = page.eval_on_selector_all(".lm-DockPanel-tabBar .lm-TabBar-tab", "els => els.map(e => e.innerText)")
            kernel = page.locator(".jp-StatusBar-Widget").inner_text()
            opened_00 = _tab(page, Path(LESSON_00).name)

            # 2. run the first code cells as a student does: Shift+Enter from the top
            cells = page.locator(".jp-Notebook .jp-Cell")
            kinds = cells.evaluate_all("els => els.map(e => e.classList.contains('jp-CodeCell'))")
            code = [i for i, is_code in enumerate(kinds) if is_code][:CODE_CELLS]
            cells.nth(0).click()
            page.keyboard.press("Escape")
            for _ in range(code[-1] + 1):
                page.keyboard.press("Shift+Enter")
            for i in code:
                prompt = cells.nth(i).locator(".jp-InputPrompt")
                page.wait_for_function("(el) => /\\[\\d+\\]/.test(el.innerText)", arg=prompt.element_handle(),
                                       timeout=180_000)
            outputs = {i: cells.nth(i).locator(".jp-OutputArea-output").all_inner_texts() for i in code}
            stderr = {i: cells.nth(i).locator("[data-mime-type='application/vnd.jupyter.stderr']").all_inner_texts()
                      for i in code}
            errors = page.locator(".jp-Notebook [data-mime-type='application/vnd.jupyter.stderr'] .ansi-red-fg").count()
            page.screenshot(path=str(shots / "jupyterlab_lesson00.png"))

            # 3. lesson 01: its saved widgets are drawn as widgets, and it opens unmodified
            page.goto(f"{url}lab/tree/{LESSON_01}?token={token}", timeout=120_000)
            _wait_until_idle(page, Path(LESSON_01).name)
            widget_outputs = page.locator(".jp-Notebook .jp-OutputArea-output .widget-container")
            widget_outputs.first.wait_for(state="attached", timeout=60_000)
            drawn = widget_outputs.count()
            dropdowns = page.locator(".jp-Notebook .jp-OutputArea-output .widget-dropdown select").count()
            texts_01 = page.locator(".jp-Notebook .jp-OutputArea-output").all_inner_texts()
            opened_01 = _tab(page, Path(LESSON_01).name)
            shown = page.locator(".jp-Notebook .jp-OutputArea-output", has=page.locator(".widget-container")).first
            shown.scroll_into_view_if_needed()
            shown.screenshot(path=str(shots / "jupyterlab_lesson01_widgets.png"))
        finally:
            browser.close()
    seconds = time.monotonic() - t0
    after = _digest((ROOT / "notebooks").glob("*.ipynb"))

    print(f"JupyterLab test: {seconds:.0f} s in the browser; kernel: {kernel!r}; {drawn} widget views in lesson 01")
    assert landed.endswith(f"/lab/tree/{LESSON_00}"), landed
    assert not [t for t in tabs if "Launcher" in t], f"a Launcher is open: {tabs}"
    assert "Python 3 (ipykernel)" in kernel, kernel
    assert opened_00 == {"dirty": False}, "opening lesson 00 marked it modified (run tools/notebooks.py on it)"
    shown = "\n".join(t for texts in outputs.values() for t in texts)
    assert "quick mode: True" in shown, f"lesson 00's first cell did not run in quick mode: {shown[:500]!r}"
    chatter = [line for texts in outputs.values() for t in texts for line in t.splitlines() if CHATTER.search(line)]
    assert not chatter, f"TensorFlow start-up lines in lesson 00's outputs: {chatter}"
    assert stderr[code[0]] == [] and stderr[code[1]] == [], f"the install or set-up cell wrote to stderr: {stderr}"
    assert outputs[code[0]] == [], f"the install cell printed something in the course's own environment: {outputs[code[0]]}"
    assert errors == 0, "a cell of lesson 00 raised an error"
    assert drawn >= 1 and dropdowns >= 1, "lesson 01's saved widgets were not drawn as widgets"
    as_text = [t[:80] for t in texts_01 if WIDGET_AS_TEXT.search(t)]
    assert not as_text, f"lesson 01 shows widgets as text: {as_text}"
    assert opened_01 == {"dirty": False}, "opening lesson 01 marked it modified (run tools/notebooks.py on it)"
    assert after == before, "the test changed notebooks on disk"


def test_lab_opens_notebooks_with_this_pythons_version(tmp_path):
    """``course.py lab``'s server hands out notebooks with the running Python's version in language_info
    (what the kernel will report), so that a notebook run with another 3.x does not open modified."""
    import asyncio
    import platform

    import nbformat
    from traitlets.config import Config

    command = course.lab_command(["--no-browser"])
    config = Path(next(a for a in command if a.startswith("--config=")).split("=", 1)[1])
    assert f"--LabApp.default_url=/lab/tree/{course.FIRST_LESSON}" in command and command[-1] == "--no-browser"
    namespace = {"c": Config()}
    exec(compile(config.read_text(), str(config), "exec"), namespace)
    manager = namespace["c"].ServerApp.contents_manager_class(root_dir=str(tmp_path))
    nb = nbformat.v4.new_notebook(metadata={"language_info": {"name": "python", "version": "3.0.1"}})
    nbformat.write(nb, tmp_path / "old.ipynb")
    model = asyncio.run(manager.get("old.ipynb"))
    assert model["content"]["metadata"]["language_info"]["version"] == platform.python_version()
    assert '"3.0.1"' in (tmp_path / "old.ipynb").read_text()  # the file itself is unchanged
