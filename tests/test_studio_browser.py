"""The studio as its users meet it: ``python3 course.py studio`` (voila) driven in a real Chromium.

Each test starts the server the way the README says (``course.py studio``, on a free local port, in
quick mode, writing into a temporary folder) and drives Chromium through Playwright's sync API:

- the page is the app (title, a line of help, the controls, the result, the network line: weights,
  quantisation, precision), not lesson 10's text; it appears within seconds (a pre-heated kernel);
- uploads (a text file is refused with a message, a photo is used), Generate with settings typed into
  the sliders, a preview that changes, **nothing written before Save**, Save (the file, where it went,
  a download link), the Saved line cleared by the next Generate, and Stop during a long run;
- every page load gets a kernel that goes away: at once when the visitor leaves the page (reload,
  another address: the page's ``beforeunload`` asks voila to shut it down, which needs the cookie
  ``nst_studio.serve`` sets), and through culling when the page vanishes without a word (a crashed tab;
  here after seconds, not the server's 15 minutes), so two page loads leave at most one idle kernel
  (the pre-heated one). (Headless Chromium drops the request when a tab is closed by Playwright, so
  "leaving" is tested by navigating away.)

The browser is the one ``course.py test`` found (``NST_CHROMIUM``; see ``course.find_chromium``):
no browser is downloaded. Screenshots go to ``outputs/10_studio/browser_*.png``.
"""

from __future__ import annotations

import json
import os
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
import course  # noqa: E402  (the same Chromium the test command checked)

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-dev-shm-usage"]
SIZE, STEPS = 64, 5
PAGE_TIMEOUT_S = 120
#: The app must appear within this time. With the server's pre-heated kernel it takes about 3 s on 2 idle
#: cores (without one about 10 s: a kernel starts and imports TensorFlow while the visitor waits), but 9 s
#: was seen with a pre-heated kernel on 2 cores shared with other work: a speed is not asserted here (the
#: test prints the time it measured), only that the page becomes the app well before a visitor gives up.
FIRST_PAINT_S = 30
LESSON_TEXT = ("Learning goals", "Exercise", "# Solution", "How it works", "Summary")


def chromium() -> str:
    """The Chromium binary, or a failure that says what to install (one line)."""
    path = course.find_chromium(sys.executable)
    if path is None:
        pytest.fail("no Chromium for the browser tests: install it (e.g. `sudo apt-get install chromium`) or "
                    "set NST_CHROMIUM to a Chromium/Chrome binary; `python3 course.py test` checks this first",
                    pytrace=False)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_answering(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    """Poll a cheap URL (not the app: that would take a kernel) until the server answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the studio server exited with code {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # any HTTP status means the server is up
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"the studio server did not answer at {url} within {timeout:.0f} s")


def _serve(tmp_path: Path, *options: str):
    """``course.py studio`` on a free port; yields (url, process); stops it and its kernels afterwards."""
    port = _free_port()
    env = {**os.environ, "NST_QUICK": "1", "NST_OUTPUT_DIR": str(tmp_path / "outputs"), "MPLBACKEND": "Agg"}
    log = tmp_path / "studio.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, str(ROOT / "course.py"), "studio", "--no-browser",
                                 f"--port={port}", "--Voila.ip=127.0.0.1", *options],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_until_answering(f"http://127.0.0.1:{port}/nst-is-the-studio-up", proc, log, 90)
        deadline = time.monotonic() + 120  # the pre-heated kernel has run the page: visitors get it at once
        while "is filled with 1 kernel" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.3)
        yield f"http://127.0.0.1:{port}/", proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # voila shuts its kernels down on SIGTERM
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


@pytest.fixture
def studio_url(tmp_path):
    for url, _ in _serve(tmp_path):
        yield url


@pytest.fixture
def culling_studio(tmp_path):
    """The studio with culling after 10 s of inactivity (checked every 2 s) instead of 15 minutes."""
    yield from _serve(tmp_path, "--MappingKernelManager.cull_idle_timeout=10",
                      "--MappingKernelManager.cull_interval=2")


def _browser(pw):
    return pw.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS, headless=True)


def _open_app(page, url: str) -> float:
    """Load the page and wait for the app; the seconds it took."""
    t0 = time.monotonic()
    page.goto(url, timeout=PAGE_TIMEOUT_S * 1000)
    page.get_by_role("button", name="Generate").wait_for(state="visible", timeout=PAGE_TIMEOUT_S * 1000)
    return time.monotonic() - t0


def _set_slider(page, description: str, value) -> None:
    """Type a value into an ipywidgets slider's editable readout, as a user can."""
    readout = page.locator(".widget-slider", has_text=description).locator(".widget-readout")
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(str(value))
    page.keyboard.press("Enter")
    assert readout.inner_text().strip() == str(value), f"{description} slider did not take {value}"


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_the_page_is_the_app_and_generate_stop_save_work(studio_url, tmp_path):
    from playwright.sync_api import sync_playwright

    from nst_studio.helpers import sample_label
    from nst_utils.outputs import output_dir
    from nst_utils.samples import sample_path

    outputs = tmp_path / "outputs"
    shots = output_dir("10_studio")
    with sync_playwright() as pw:
        browser = _browser(pw)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(30_000)
            first_paint = _open_app(page, studio_url)
            status, message = page.locator(".nst-status"), page.locator(".nst-message")
            preview, saved = page.locator("img.nst-preview"), page.locator(".nst-saved")
            page.wait_for_function("() => document.querySelector('.nst-network')?.innerText.includes('computing in')",
                                   # the warm-up thread builds VGG19 first: in a fresh clone's CI run on 2
                                   # busy cores this once took over 120 s (passes alone in 36 s)
                                   timeout=3 * PAGE_TIMEOUT_S * 1000)
            text = page.locator("body").inner_text()
            network = page.locator(".nst-network").inner_text()
            page.screenshot(path=str(shots / "browser_page.png"), full_page=True)

            # uploads through the browser's file chooser: a bad file gives a message, a photo is used
            def upload(files) -> None:
                with page.expect_file_chooser() as chooser:
                    page.locator(".nst-studio .widget-upload").nth(0).click()  # "Upload C"
                chooser.value.set_files(files)

            upload([{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"a shopping list, not a picture"}])
            page.wait_for_function("() => document.querySelector('.nst-message')?.innerText.includes('notes.txt')")
            refused = message.inner_text()
            upload(str(sample_path("grace_hopper")))
            page.wait_for_function(
                "() => document.querySelector('.nst-message')?.innerText.startsWith('Loaded grace_hopper.jpg')")

            _set_slider(page, "size (px)", SIZE)
            _set_slider(page, "steps", STEPS)
            page.locator(".widget-dropdown", has_text="Style S").locator("select").select_option(
                label=sample_label("the_scream"))
            generate = page.get_by_role("button", name="Generate")
            generate.click()
            page.wait_for_function("() => document.querySelector('.nst-status')?.innerText.startsWith('done:')",
                                   timeout=120_000)
            page.wait_for_function("() => { const img = document.querySelector('img.nst-preview'); "
                                   f"return Math.max(img.naturalWidth, img.naturalHeight) == {SIZE}; }}")
            first_src, done, after_run = preview.get_attribute("src"), status.inner_text(), message.inner_text()
            written_before_save = _files(outputs)

            page.get_by_role("button", name="Save").click()
            link = page.locator("a.nst-download")
            link.wait_for(state="visible", timeout=30_000)
            href, saved_line = link.get_attribute("href"), saved.inner_text()
            page.locator(".nst-studio").screenshot(path=str(shots / "browser_result.png"))

            # Generate again: the Saved line of the last image goes. Then Stop a long run (another style,
            # so that the stopped image cannot equal the first run's: runs are deterministic)
            page.locator(".widget-dropdown", has_text="Style S").locator("select").select_option(
                label=sample_label("shipwreck"))
            _set_slider(page, "steps", 1000)
            generate.click()
            page.wait_for_function("() => document.querySelector('.nst-saved')?.innerText.trim() === ''")
            page.wait_for_function(
                "() => /^step ([3-9]|[1-9][0-9]+) \\/ 1000/.test(document.querySelector('.nst-status')?.innerText)",
                timeout=60_000)
            page.get_by_role("button", name="Stop").click()
            page.wait_for_function("() => /^(stopped|done):/.test(document.querySelector('.nst-status')?.innerText)",
                                   timeout=120_000)
            stopped, stopped_src = status.inner_text(), preview.get_attribute("src")
        finally:
            browser.close()

    print(f"first paint {first_paint:.1f} s; {network}; {done}")
    assert "Neural style transfer studio" in text and "press Generate" in text
    assert not [t for t in LESSON_TEXT if t in text], "the app page shows lesson text"
    assert "quantised" in network and "computing in" in network
    print(f"the app appeared after {first_paint:.1f} s")
    assert first_paint < FIRST_PAINT_S, f"the app took {first_paint:.0f} s to appear"
    assert "Image error" in refused and "notes.txt" in refused
    assert done.startswith(f"done: {STEPS} of {STEPS} steps") and "weighting" in done, done
    assert after_run.strip() == "", after_run
    assert written_before_save == [], f"written before Save: {written_before_save}"
    assert _files(outputs) == ["10_studio/grace_hopper_x_the_scream.png"]
    assert "grace_hopper_x_the_scream.png" in saved_line and saved_line.startswith("Saved")
    assert href.startswith("data:image/png;base64,") and len(href) > 200
    steps_run = int(stopped.split()[1]) if stopped.startswith("stopped:") else None
    assert steps_run is not None and steps_run < 1000, f"Stop did not stop the run: {stopped}"
    assert stopped_src != first_src, "the preview did not keep the stopped run's image"


def _kernel_alive(url: str, kernel_id: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}api/kernels/{kernel_id}", timeout=5) as response:
            return json.load(response)["id"] == kernel_id
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return False
        raise


def _kernel_processes(server: subprocess.Popen) -> list:
    import psutil

    return [p for p in psutil.Process(server.pid).children(recursive=True)
            if "ipykernel_launcher" in " ".join(p.cmdline())]


def _wait_for(condition, timeout: float, step: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def test_page_loads_leave_at_most_one_idle_kernel(culling_studio):
    from playwright.sync_api import sync_playwright

    url, server = culling_studio
    with sync_playwright() as pw:
        browser = _browser(pw)
        try:
            kernels = []
            for visit in range(2):
                page = browser.new_page()
                _open_app(page, url)
                kernel = page.evaluate(
                    "() => JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId")
                assert _kernel_alive(url, kernel)
                kernels.append(kernel)
                if visit == 0:  # left normally (reload, another address): beforeunload shuts the kernel down
                    page.goto("about:blank")
                    closed_at_once = _wait_for(lambda: not _kernel_alive(url, kernel), 8)
                    page.close()
                else:  # gone without a word (a crashed tab): the kernel is still there, then culled
                    page.close()
                    time.sleep(1)
                    left_behind = _kernel_alive(url, kernel)
                    culled = _wait_for(lambda: not _kernel_alive(url, kernel), 60)
        finally:
            browser.close()
    settled = _wait_for(lambda: len(_kernel_processes(server)) <= 1, 30)
    remaining = _kernel_processes(server)

    assert kernels[0] != kernels[1], "two visitors shared a kernel"
    assert closed_at_once, "leaving the page did not shut its kernel down"
    assert left_behind and culled, "an abandoned page's kernel was not culled"
    assert settled, f"{len(remaining)} kernels left after two page loads: {[p.pid for p in remaining]}"


def test_a_1024_px_run_names_its_levels_and_saves_the_full_size(studio_url, tmp_path):
    """Above 512 px the run goes coarse to fine (256, 512, 1024 px): the panel says so before Generate, the
    status line names the level while it runs, the preview shows the current level's image at the size
    asked for (drawn at most PREVIEW_MAX px), and Save writes the 1024-px image. Few steps (6 + 3 + 2),
    so that the three levels take about a minute on 2 cores."""
    from PIL import Image
    from playwright.sync_api import sync_playwright

    from nst_studio.app import PREVIEW_MAX
    from nst_utils.outputs import output_dir

    outputs, shots = tmp_path / "outputs", output_dir("10_studio")
    preview_size = "() => { const img = document.querySelector('img.nst-preview'); return [img.naturalWidth, img.naturalHeight]; }"
    with sync_playwright() as pw:
        browser = _browser(pw)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(30_000)
            _open_app(page, studio_url)
            page.wait_for_function("() => document.querySelector('.nst-network')?.innerText.includes('computing in')",
                                   timeout=3 * PAGE_TIMEOUT_S * 1000)
            _set_slider(page, "size (px)", 1024)
            _set_slider(page, "steps", 6)
            plan = page.locator(".nst-settings").inner_text()
            page.get_by_role("button", name="Generate").click()
            page.wait_for_function(
                "() => /^level 2\\/3 \\(512 px\\) · step [7-9] \\/ 11/.test(document.querySelector('.nst-status')?.innerText)",
                timeout=300_000)
            running, during = page.locator(".nst-status").inner_text(), page.evaluate(preview_size)
            page.locator(".nst-studio").screenshot(path=str(shots / "browser_pyramid.png"))
            page.wait_for_function("() => /^(done|stopped):/.test(document.querySelector('.nst-status')?.innerText)",
                                   timeout=600_000)
            done = page.locator(".nst-status").inner_text()
            page.get_by_role("button", name="Save").click()
            page.locator("a.nst-download").wait_for(state="visible", timeout=60_000)
            page.locator(".nst-studio").screenshot(path=str(shots / "browser_pyramid_done.png"))
        finally:
            browser.close()

    print(f"{running}\n{done}")
    assert "coarse to fine: levels of 256 → 512 → 1024 px, 6 + 3 + 2 = 11 steps" in plan, plan
    assert max(during) == PREVIEW_MAX, f"the preview during level 2 is {during} px, not the asked size downscaled"
    assert done.startswith("done: 11 of 11 steps over levels of 256/512/1024 px"), done
    saved = Image.open(outputs / "10_studio" / "tubingen_x_starry_night.png")
    assert max(saved.size) == 1024, saved.size
