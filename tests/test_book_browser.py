"""The course as a book (``python3 course.py book``, ``tools/book.py``), built and read in a real Chromium.

The site is built once per test session (into a temporary folder, from the committed notebooks, nothing
executed) and served by a local HTTP server, as a reader's web server would. Then:

1. every page reachable from the index is crawled: every internal ``href``/``src`` (pages, images,
   stylesheets, scripts, downloads) answers 200, every ``#fragment`` names an element of its page, the
   table of contents lists every lesson in order and the previous/next links chain them in that order;
2. in headless Chromium (Playwright, the browser ``course.py test`` found: ``NST_CHROMIUM``, a system
   Chromium or Playwright's own), the index and three lessons: MathJax typeset every formula (rendered
   ``mjx-container`` elements, no MathJax error, no ``$$`` or raw TeX left in the text), every image
   loaded (``naturalWidth > 0``), nothing was fetched from outside the site (it reads offline), and the
   search page finds a lesson.

Screenshots: ``outputs/tests/book_index.png``, ``book_lesson05.png``, ``book_lesson00_figure.png``.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import re
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import course  # noqa: E402

_spec = importlib.util.spec_from_file_location("nst_book_tool", ROOT / "tools" / "book.py")
book = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(book)

LESSONS = sorted(p.stem for p in ROOT.glob(book.LESSONS))
#: The lessons the browser reads: the first, the one with most maths, and the last (widgets, no "next").
READ = ["00_images_and_vgg_input", "05_cost_functions", "10_studio"]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-dev-shm-usage"]
#: TeX that MathJax should have replaced: $$, or $...$ / \(...\) holding a backslash, _ or ^.
RAW_TEX = re.compile(r"\$\$|\$[^$\n]*[\\_^][^$\n]*\$|\\\(|\\\[|\\begin\{")


class _Page(HTMLParser):
    """The links, ids and navigation of one HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.ids: set[str] = set()
        self.prev: str | None = None
        self.next: str | None = None
        self.toc: list[str] = []
        self._in_toc = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and "name" in a:
            self.ids.add(a["name"])
        for key in ("href", "src"):
            if a.get(key) and tag in ("a", "link", "script", "img", "source", "iframe"):
                self.refs.append(a[key])
        classes = a.get("class", "").split()
        if tag == "a" and "left-prev" in classes:
            self.prev = a.get("href")
        if tag == "a" and "right-next" in classes:
            self.next = a.get("href")
        if tag == "nav" and "bd-docs-nav" in classes:
            self._in_toc += 1
        if tag == "a" and self._in_toc and "reference" in classes and "internal" in classes:
            self.toc.append(a.get("href", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "nav" and self._in_toc:
            self._in_toc -= 1


def _stem(url: str) -> str:
    return Path(urllib.parse.urlsplit(url).path).stem


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The built book (a folder) and how long the build took."""
    t0 = time.monotonic()
    index = book.build(tmp_path_factory.mktemp("book") / "book")
    return index.parent, time.monotonic() - t0


@pytest.fixture(scope="module")
def server(site):
    """A local HTTP server over the site; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(site[0]))
    httpd = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)   # the browser leaving a page mid-download is not one


def test_the_book_has_every_lesson_and_no_broken_link(site, server):
    root, build_s = site
    t0 = time.monotonic()
    pages: dict[str, _Page] = {}
    status: dict[str, int] = {}
    broken: list[str] = []
    todo = [urllib.parse.urljoin(server, "index.html")]
    links: list[tuple[str, str]] = []
    while todo:
        url = todo.pop()
        if url in pages:
            continue
        with urllib.request.urlopen(url) as r:
            page = _Page()
            page.feed(r.read().decode("utf-8"))
        pages[url] = page
        for ref in page.refs:
            target = urllib.parse.urljoin(url, ref)
            if not target.startswith(server):
                continue        # another site (the studio's http://localhost:8866 in lesson 10's text, ...)
            links.append((url, target))
            bare = urllib.parse.urldefrag(target)[0]
            if bare.endswith(".html") and bare not in pages:
                todo.append(bare)
    for source, target in links:
        bare, fragment = urllib.parse.urldefrag(target)
        if bare not in status:
            try:
                with urllib.request.urlopen(bare) as r:
                    status[bare] = r.status
            except urllib.error.HTTPError as e:
                status[bare] = e.code
        if status[bare] != 200:
            broken.append(f"{source} -> {target}: HTTP {status[bare]}")
        elif fragment and bare.endswith(".html") and fragment not in pages[bare].ids:
            broken.append(f"{source} -> {target}: no element with id {fragment!r}")
    crawl_s = time.monotonic() - t0
    print(f"book: built in {build_s:.0f} s; {len(pages)} pages, {len(status)} files, {len(links)} internal links "
          f"checked in {crawl_s:.1f} s")

    assert not broken, f"{len(broken)} broken internal links:\n  " + "\n  ".join(broken[:30])
    by_stem = {_stem(u): p for u, p in pages.items()}
    assert set(LESSONS) <= set(by_stem), f"lessons without a page: {set(LESSONS) - set(by_stem)}"
    toc = [_stem(h) for h in by_stem["index"].toc]
    assert [s for s in toc if s in LESSONS] == LESSONS, f"the table of contents is not the lessons in order: {toc}"
    for i, name in enumerate(LESSONS):          # previous/next links chain the lessons in order
        page = by_stem[name]
        assert _stem(page.prev or "") == (LESSONS[i - 1] if i else "index"), f"{name}: previous is {page.prev}"
        if i + 1 < len(LESSONS):
            assert _stem(page.next or "") == LESSONS[i + 1], f"{name}: next is {page.next}"
    assert (root / "search.html").is_file() and (root / "searchindex.js").is_file()
    assert len(list((root / "_images").iterdir())) >= 50, "the lessons' figures are missing"
    for name in LESSONS:        # the download button gives the lesson as committed (widget state and all)
        committed = (ROOT / "notebooks" / f"{name}.ipynb").read_bytes()
        assert (root / "_sources" / f"{name}.ipynb").read_bytes() == committed, f"{name}: download differs"


def test_the_book_in_a_browser(site, server):
    from playwright.sync_api import sync_playwright

    from nst_utils.outputs import output_dir

    chromium = course.find_chromium(sys.executable)
    assert chromium, "no Chromium: install it (e.g. `sudo apt-get install chromium`) or set NST_CHROMIUM"
    shots = output_dir("tests")
    outside: list[str] = []
    failed: list[str] = []
    seen: dict[str, dict] = {}
    t0 = time.monotonic()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            page.on("request", lambda r: None if r.url.startswith((server, "data:", "blob:")) else outside.append(r.url))
            page.on("requestfailed", lambda r: failed.append(f"{r.url}: {r.failure}"))
            for name in ["index", *READ]:
                page.goto(urllib.parse.urljoin(server, f"{name}.html"), wait_until="load")
                seen[name] = page.evaluate(_INSPECT)
                if name == "index":
                    page.screenshot(path=str(shots / "book_index.png"))
                if name == "05_cost_functions":
                    page.screenshot(path=str(shots / "book_lesson05.png"))
                if name == "00_images_and_vgg_input":
                    page.locator("main img").nth(1).scroll_into_view_if_needed()
                    page.screenshot(path=str(shots / "book_lesson00_figure.png"))
            page.goto(urllib.parse.urljoin(server, "search.html?q=Gram+matrix"), wait_until="load")
            page.wait_for_function("document.querySelectorAll('#search-results ul.search li').length > 0")
            found = page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(e => e.href)")
        finally:
            browser.close()
    print(f"book in Chromium: {time.monotonic() - t0:.1f} s; " +
          "; ".join(f"{n}: {s['math']} formulas, {s['images']} images" for n, s in seen.items()))

    assert not outside, f"the book fetched from outside the site: {outside[:10]}"
    assert not failed, f"requests failed: {failed[:10]}"
    for name, s in seen.items():
        assert s["mathjax"] or not s["formulas"], f"{name}: MathJax did not start ({s['formulas']} formulas)"
        assert s["errors"] == [], f"{name}: MathJax errors: {s['errors'][:5]}"
        assert s["untypeset"] == 0, f"{name}: {s['untypeset']} formulas were not typeset"
        assert not s["raw"], f"{name}: raw TeX left in the text: {s['raw'][:5]}"
        assert s["broken_images"] == [], f"{name}: images that did not load: {s['broken_images'][:5]}"
    for name in READ:
        assert seen[name]["mathjax"] and seen[name]["math"] >= 5 and seen[name]["images"] >= 1, f"{name}: {seen[name]}"
    assert seen["10_studio"]["notes"] == 1, "lesson 10's studio widget is not replaced by its note"
    assert any("04_gram_matrices_and_style" in h for h in found), f"search for 'Gram matrix' found {found}"


#: Run in each page: wait for MathJax, load every image, then report what a reader would see.
_INSPECT = """async () => {
  const mj = window.MathJax && window.MathJax.startup;
  if (mj) { await mj.promise; }
  const imgs = [...document.images];
  imgs.forEach(i => { i.loading = 'eager'; });
  await Promise.all(imgs.map(i => i.decode().catch(() => null)));
  const text = document.querySelector('main') || document.body;
  const clone = text.cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, mjx-container, .highlight').forEach(e => e.remove());
  const raw = [...clone.innerText.matchAll(new RegExp(%s, 'g'))].map(m => m[0].slice(0, 60));
  const math = [...document.querySelectorAll('.math')];
  return {
    mathjax: !!mj,
    math: document.querySelectorAll('mjx-container').length,
    formulas: math.length,
    untypeset: math.filter(e => !e.querySelector('mjx-container') && !e.closest('mjx-container')).length,
    errors: [...document.querySelectorAll('mjx-merror')].map(e => e.getAttribute('data-mjx-error') || e.textContent),
    raw: raw,
    images: imgs.length,
    broken_images: imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src),
    notes: document.querySelectorAll('.nst-widget-note').length,
  };
}""" % repr(RAW_TEX.pattern)
