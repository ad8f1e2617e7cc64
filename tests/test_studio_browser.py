"""Lesson 07's studio served as a web page by Voila and driven in a real browser (Chromium).

The test starts ``voila notebooks/07_studio.ipynb`` on a free local port (quick mode, so the
notebook's own demo run is tiny), opens it in Debian's Chromium through Playwright, sets a tiny
setting with the widgets (64 px, 5 steps), uploads a text file (an error message must appear) and
then a photo as the content image through the page's file chooser, clicks Generate and waits for the run to finish. It fails
unless the preview image changed (a new ``src`` and the new size), then clicks Save and checks the
download link, and takes a screenshot of the studio (``outputs/07_studio/browser_test.png``). Last, it
starts a 1000-step run and clicks Stop after a few steps: the run must end early, image kept.

Needs: ``pip install voila playwright`` and a Chromium (``apt-get install chromium``; another
binary via ``NST_CHROMIUM``). No ``playwright install``: no browser is downloaded. If any of these is
missing the test fails and says what to install.
"""

from __future__ import annotations

import os
import shutil
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
NOTEBOOK = ROOT / "notebooks" / "07_studio.ipynb"
CHROMIUM = os.environ.get("NST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync",
                 "--disable-dev-shm-usage"]
SIZE, STEPS = 64, 5
PAGE_TIMEOUT_S = 150  # Voila executes the whole notebook (quick mode) before the widgets are live


def _requirements():
    """Playwright's sync API and the Chromium binary, or a failure that says what to install."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the studio's browser test needs Playwright's Python package: "
                    "pip install 'playwright>=1.40' (do not run `playwright install`; the test uses "
                    "the system Chromium)", pytrace=False)
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"the studio's browser test needs Chromium at {CHROMIUM}: apt-get install chromium "
                    "(Debian/Ubuntu), or set NST_CHROMIUM to a Chromium/Chrome binary", pytrace=False)
    try:
        import voila  # noqa: F401
    except ImportError:
        pytest.fail("the studio's browser test needs Voila: pip install 'voila>=0.5'", pytrace=False)
    return sync_playwright


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_answering(url: str, proc: subprocess.Popen, timeout: float) -> None:
    """Poll a cheap URL (not the notebook: that would start a kernel) until the server answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"voila exited with code {proc.returncode} before answering")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # any HTTP status means the server is up
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"voila did not answer at {url} within {timeout:.0f} s")


@pytest.fixture
def voila_url(tmp_path):
    """Serve the studio notebook with Voila on a free port; stop it (and its kernel) afterwards."""
    _requirements()
    port = _free_port()
    env = {**os.environ, "NST_QUICK": "1", "NST_OUTPUT_DIR": str(tmp_path / "outputs"),
           "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "2"}
    if "NST_IMAGE_DIR" in os.environ:
        env["NST_IMAGE_DIR"] = os.environ["NST_IMAGE_DIR"]
    log = open(tmp_path / "voila.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "voila", "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
         "--show_tracebacks=True", str(NOTEBOOK)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        _wait_until_answering(f"http://127.0.0.1:{port}/nst-is-voila-up", proc, 60)
        yield f"http://127.0.0.1:{port}/"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # voila shuts its kernels down on SIGTERM
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        log.close()


def _set_slider(page, description: str, value) -> None:
    """Type a value into an ipywidgets slider's editable readout, as a user can."""
    readout = page.locator(".widget-slider", has_text=description).locator(".widget-readout")
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(str(value))
    page.keyboard.press("Enter")
    assert readout.inner_text().strip() == str(value), f"{description} slider did not take {value}"


def test_studio_in_voila_generates_in_the_browser(voila_url, tmp_path):
    sync_playwright = _requirements()
    from nst_utils.outputs import output_dir
    from nst_utils.samples import sample_path
    from nst_utils.studio import sample_label

    shot = output_dir("07_studio") / "browser_test.png"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(30_000)
            page.goto(voila_url, timeout=PAGE_TIMEOUT_S * 1000)
            generate = page.get_by_role("button", name="Generate")
            generate.wait_for(state="visible", timeout=PAGE_TIMEOUT_S * 1000)
            preview = page.locator("img.nst-preview")
            status = page.locator(".nst-status")
            message = page.locator(".nst-message")
            # the notebook's own demo run (quick mode: 48 px, stopped after a few steps) is in the preview
            page.wait_for_function("() => document.querySelector('img.nst-preview')?.naturalWidth > 0")
            assert status.inner_text().startswith("stopped:"), status.inner_text()
            before = preview.get_attribute("src")

            # uploads through the browser's file chooser: a bad file gives a message, a photo is used
            def upload(files) -> None:
                with page.expect_file_chooser() as chooser:
                    page.locator(".nst-studio .widget-upload").nth(0).click()  # "Upload C"
                chooser.value.set_files(files)

            upload([{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"a shopping list, not a picture"}])
            page.wait_for_function("() => document.querySelector('.nst-message')?.innerText.includes('notes.txt')")
            assert "Image error" in message.inner_text(), message.inner_text()
            upload(str(sample_path("grace_hopper")))
            page.wait_for_function(
                "() => document.querySelector('.nst-message')?.innerText.startsWith('Loaded grace_hopper.jpg')")

            _set_slider(page, "size (px)", SIZE)
            _set_slider(page, "steps", STEPS)
            page.locator(".widget-dropdown", has_text="Style S").locator("select").select_option(
                label=sample_label("the_scream"))
            generate.click()
            page.wait_for_function(
                "() => document.querySelector('.nst-status')?.innerText.startsWith('done:')",
                timeout=120_000)
            page.wait_for_function("() => { const img = document.querySelector('img.nst-preview'); "
                                   f"return Math.max(img.naturalWidth, img.naturalHeight) == {SIZE}; }}")
            after = preview.get_attribute("src")
            done = status.inner_text()
            assert message.inner_text().strip() == "", message.inner_text()

            page.get_by_role("button", name="Save").click()
            link = page.locator("a.nst-download")
            link.wait_for(state="visible", timeout=30_000)
            href = link.get_attribute("href")
            page.locator(".nst-studio").screenshot(path=str(shot))

            # Stop: the kernel must handle the click while the optimization thread runs. Another style,
            # so the stopped image cannot equal the first run's (the runs are deterministic: stopping
            # this one at step 5 with the same settings would reproduce the same picture exactly)
            page.locator(".widget-dropdown", has_text="Style S").locator("select").select_option(
                label=sample_label("shipwreck"))
            _set_slider(page, "steps", 1000)
            generate.click()
            page.wait_for_function(
                "() => /^step ([3-9]|[1-9][0-9]+) \\/ 1000/.test(document.querySelector('.nst-status')?.innerText)",
                timeout=60_000)
            page.get_by_role("button", name="Stop").click()
            page.wait_for_function(
                "() => /^(stopped|done):/.test(document.querySelector('.nst-status')?.innerText)",
                timeout=120_000)
            stopped = status.inner_text()
            stopped_src = preview.get_attribute("src")
        finally:
            browser.close()

    assert after != before, "the preview image did not change after Generate"
    assert done.startswith(f"done: {STEPS} of {STEPS} steps"), done
    assert href.startswith("data:image/png;base64,") and len(href) > 200
    assert (tmp_path / "outputs" / "07_studio" / "grace_hopper_x_the_scream.png").is_file()
    assert shot.stat().st_size > 10_000
    steps_run = int(stopped.split()[1]) if stopped.startswith("stopped:") else None
    assert steps_run is not None and steps_run < 1000, f"Stop did not stop the run: {stopped}"
    assert stopped_src != after, "the preview did not keep the stopped run's image"
