#!/usr/bin/env python3
"""The course as a book: a static web site of every lesson in order, with its stored outputs.

    .venv/bin/python tools/book.py       # build/book/index.html (what `python3 course.py book` runs)
    .venv/bin/python tools/book.py -v    # with Sphinx's progress messages

Sphinx with myst-nb and the sphinx-book-theme (table of contents, previous/next links, search), MathJax 3
served from the site itself (``sphinx-mathjax-offline``). Settings: ``book/conf.py``; the landing page:
``book/index.md``. Nothing is executed: the pages show the outputs committed in ``notebooks/``.

The notebooks are copied into ``build/book-src/`` (only when they changed, so that Sphinx rebuilds only
those). The README is the last page (``about.md``: the lessons link to its sections); links to other files of
the repository become plain text. The lesson copies differ from the lessons in one more way: an ipywidgets output, which needs a kernel (and
JavaScript from a CDN) to draw, becomes a note saying so, followed by the pictures the widget showed when
the lesson ran (its ``Image`` widgets and ``Output`` widgets, from the widget state saved in the
notebook).
"""

from __future__ import annotations

import argparse
import base64
import copy
import json
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "book"
LESSONS = "notebooks/[0-9][0-9]_*.ipynb"
OUT = ROOT / "build" / "book"
#: The file that marks a folder of the book's sources as this tool's (it deletes stale pages there).
MARK = ".nst-book-sources"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
_MODEL_REF = re.compile(r"IPY_MODEL_([0-9a-f]+)")
NOTE = ('<p class="nst-widget-note"><strong>Interactive widget.</strong> It needs a running kernel: open '
        'this lesson in JupyterLab, Colab or Binder to use it.{shown}</p>')


class BookError(RuntimeError):
    """The book cannot be built: the message says why and what to do."""


def _models_under(model_id: str, state: dict[str, Any], seen: set[str] | None = None) -> Iterator[str]:
    """``model_id`` and every widget model it refers to (children, ...), depth first, in their order."""
    seen = set() if seen is None else seen
    if model_id in seen or model_id not in state:
        return
    seen.add(model_id)
    yield model_id
    for ref in _MODEL_REF.findall(json.dumps(state[model_id].get("state", {}))):
        yield from _models_under(ref, state, seen)


def _pictures(model: dict[str, Any]) -> list[dict[str, Any]]:
    """What one saved widget model showed, as notebook outputs: an Image's picture, an Output's outputs."""
    name, state = model.get("model_name"), model.get("state", {})
    if name == "OutputModel":
        return [o for o in state.get("outputs", []) if o.get("output_type") in ("display_data", "execute_result")
                and any(k.startswith("image/") for k in o.get("data", {}))]
    if name == "ImageModel":
        fmt = str(state.get("format", "png")).lower().replace("jpg", "jpeg")
        for buf in model.get("buffers", []):
            if buf.get("path") == ["value"] and buf.get("encoding") == "base64" and fmt in ("png", "jpeg", "gif"):
                base64.b64decode(buf["data"], validate=True)   # a broken picture fails the build, here
                return [{"output_type": "display_data", "metadata": {},
                         "data": {f"image/{fmt}": buf["data"], "text/plain": "<a picture the widget showed>"}}]
    return []


def static_widgets(nb: dict[str, Any]) -> int:
    """Replace every widget output of ``nb`` (JSON dict, changed in place) by a note and its pictures.

    Returns how many widget outputs were replaced."""
    state = nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    replaced = 0
    for cell in nb.get("cells", []):
        outputs = []
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get(WIDGET_VIEW)
            if view is None:
                outputs.append(out)
                continue
            pictures = [p for m in _models_under(view.get("model_id", ""), state) for p in _pictures(state[m])]
            shown = " Below: what it showed when the lesson was run." if pictures else ""
            outputs.append({"output_type": "display_data", "metadata": {},
                            "data": {"text/html": NOTE.format(shown=shown), "text/plain": "Interactive widget"}})
            outputs.extend(copy.deepcopy(pictures))
            replaced += 1
        if "outputs" in cell:
            cell["outputs"] = outputs
    nb.get("metadata", {}).pop("widgets", None)
    return replaced


#: The README, as the book's last page (the lessons link to its sections).
ABOUT = "about.md"
ABOUT_TITLE = "# About the course: set-up, defaults, speed, the grader"
_LINK = re.compile(r"(?<!!)\[((?:[^\[\]]|\[[^\]]*\])*)\]\(([^)\s]+)\)")


def relink(markdown: str, folder: Path) -> str:
    """Markdown links of a file in ``folder`` made to work in the book: to a lesson -> its page, to the
    README -> the README's page (:data:`ABOUT`), to any other file of the repository -> plain text (the
    book has no page for it). Web links and ``#anchors`` stay."""
    lessons = {p.resolve() for p in ROOT.glob(LESSONS)}

    def fix(m: re.Match) -> str:
        text, target = m.group(1), m.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("#"):
            return m.group(0)
        path, _, anchor = target.partition("#")
        resolved = (folder / path).resolve()
        if resolved in lessons:
            return f"[{text}]({resolved.name}{'#' + anchor if anchor else ''})"
        if resolved == (ROOT / "README.md").resolve():
            return f"[{text}]({ABOUT}{'#' + anchor if anchor else ''})"
        return text

    return _LINK.sub(fix, markdown)


def _relink_notebook(nb: dict[str, Any], folder: Path) -> None:
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            cell["source"] = relink("".join(cell["source"]), folder)
        for out in cell.get("outputs", []):
            if "text/markdown" in out.get("data", {}):
                out["data"]["text/markdown"] = relink("".join(out["data"]["text/markdown"]), folder)


def _write_if_changed(path: Path, data: bytes) -> None:
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)


def prepare(src: Path) -> list[Path]:
    """The book's sources in ``src``: the landing page and a copy of every lesson (widgets made static)."""
    lessons = sorted(ROOT.glob(LESSONS))
    if not lessons:
        raise BookError(f"no lessons matching {LESSONS} in {ROOT}")
    src.mkdir(parents=True, exist_ok=True)
    (src / MARK).write_text("written by tools/book.py: the book's sources, rewritten at every build\n")
    wanted = {MARK, "index.md", ABOUT, *(p.name for p in lessons)}
    for old in src.iterdir():                      # a lesson renamed or removed leaves no page behind
        if old.is_file() and old.name not in wanted:
            old.unlink()
    _write_if_changed(src / "index.md", (CONF / "index.md").read_bytes())
    readme = relink((ROOT / "README.md").read_text(encoding="utf-8"), ROOT)
    title, _, rest = readme.partition("\n")
    if not title.startswith("# "):
        raise BookError(f"{ROOT / 'README.md'}: its first line is not a '# title' ({title[:60]!r})")
    _write_if_changed(src / ABOUT, f"{ABOUT_TITLE}\n{rest}".encode())
    for path in lessons:
        nb = json.loads(path.read_text(encoding="utf-8"))
        static_widgets(nb)
        _relink_notebook(nb, path.parent)
        _write_if_changed(src / path.name, (json.dumps(nb, indent=1, ensure_ascii=False) + "\n").encode())
    return lessons


def build(out: Path = OUT, *, quiet: bool = True) -> Path:
    """Build the site into ``out``. Beside it: the sources (``<out>-src``), Sphinx's cache (``<out>-doctrees``,
    so that a second build redoes only the lessons that changed) and myst-nb's extracted figures
    (``jupyter_execute``, a name myst-nb fixes).

    Returns ``out / "index.html"``; raises :class:`BookError` with Sphinx's messages if the build fails or
    warns (a warning is a broken page: a missing image, an unknown reference, ...)."""
    from sphinx.cmd.build import build_main

    out = Path(out).resolve()
    src, doctrees = out.with_name(out.name + "-src"), out.with_name(out.name + "-doctrees")
    if out.exists() and any(out.iterdir()) and not (out / ".buildinfo").exists():
        raise BookError(f"refusing to build into {out}: it holds files that are not a Sphinx build (name an "
                         f"empty or new folder)")
    if src.exists() and any(src.iterdir()) and not (src / MARK).exists():
        raise BookError(f"refusing to use {src} for the book's sources: it holds files this tool did not "
                         f"write (name another folder)")
    lessons = prepare(src)
    args = ["-b", "html", "-c", str(CONF), "-d", str(doctrees), "-W", "--keep-going",
            str(src), str(out)]
    status = build_main((["-q"] if quiet else []) + args)
    if status != 0:
        raise BookError(f"the book did not build (Sphinx exit status {status}; its messages are above)")
    for path in lessons:        # the download button serves the lesson as committed, widgets and all
        shutil.copyfile(path, out / "_sources" / path.name)
    return out / "index.html"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="Sphinx's progress messages")
    args = parser.parse_args(argv)
    t0 = time.monotonic()
    try:
        index = build(OUT, quiet=not args.verbose)
    except BookError as e:
        print(f"tools/book.py: {e}", file=sys.stderr)
        return 1
    print(f"the book: {index} ({time.monotonic() - t0:.0f} s); open it in a browser, no server needed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
