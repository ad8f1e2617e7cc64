#!/usr/bin/env python3
"""Keep the committed notebooks clean: what a student opens must not be "modified" at once, show
start-up chatter, carry dead widget state or tqdm bars, name paths of the author's machine, or be large.

    .venv/bin/python tools/notebooks.py                 # normalise every notebook, then report
    .venv/bin/python tools/notebooks.py notebooks/03_*.ipynb
    .venv/bin/python tools/notebooks.py --check         # report only (exit code 1 if anything is wrong)

Run it with the project's environment (it asks that environment's Jupyter what a notebook's metadata
must say). What it fixes in place:

- ``kernelspec`` and ``language_info``: exactly what JupyterLab's server reports for the environment's
  ipykernel, so that opening a notebook does not rewrite them and mark it modified (the Python version
  is checked by neither the test nor, thanks to ``course.py lab``, JupyterLab: it varies by machine);
- tqdm progress bars (widget outputs and ``\\r`` lines on stderr): noise in a stored notebook;
- TensorFlow's start-up lines on stderr (``oneDNN ...``, ``failed call to cuInit``, ...): students read
  them as errors (re-execute the notebook with ``import nst_utils as nu`` first to stop them coming);
- widget state: kept only for the widgets that the notebook's outputs show (JupyterLab needs it to
  draw them from the file, without running the cell), dropped for everything else.

What it reports and cannot fix (re-execute, or edit the cell): absolute paths of this machine in
outputs or sources, a widget output whose state is missing (it shows "Error displaying widget: model
not found"), chatter in other outputs, files over :data:`MAX_BYTES`. ``tests/test_notebook_hygiene.py``
runs :func:`problems` on every notebook.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[1]
#: The notebooks of the project: the lessons and the studio's page.
NOTEBOOKS = ("notebooks/*.ipynb", "nst_studio/*.ipynb")
MAX_BYTES = 1_600_000
#: Lessons whose figures must show brush strokes at 1:1 (lossless crops of 512-1024 px transfers) may grow to 3 MB.
LARGE_FIGURE_LESSONS = {"06_style_transfer.ipynb": 3_000_000, "07_experiments.ipynb": 3_000_000}


def max_bytes(path: Path) -> int:
    """The size limit of a stored notebook: :data:`MAX_BYTES`, or its entry in :data:`LARGE_FIGURE_LESSONS`."""
    return LARGE_FIGURE_LESSONS.get(Path(path).name, MAX_BYTES)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

#: Lines TensorFlow's C++ core writes at start-up (or any line in its log format), and their friends.
CHATTER = re.compile(
    r"^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+\s+\S+:\d+\]"  # absl log lines: I0000 00:00:17.0 123 file.cc:45]
    r"|absl::InitializeLog|oneDNN custom operations|TF_ENABLE_ONEDNN_OPTS|failed call to cuInit"
    r"|CUDA error|Could not find cuda drivers|Unable to register cu(FFT|DNN|BLAS) factory"
    r"|This TensorFlow binary is optimized|^To enable the following instructions|TF-TRT Warning",
    re.M)
#: A tqdm bar: "desc:  40%|####      | 4/10 [00:01<00:02, 2.9it/s]".
TQDM = re.compile(r"\d+%\|.*\|\s*\d+/\d+\s*\[")
#: Absolute paths that belong to one machine (the project's own folder and home are added at run time).
MACHINE_PATHS = [r"/(?:work|srv|mnt|scratch)/[^/\s\"']+/", r"/home/[^/\s\"']+/", r"/Users/[^/\s\"']+/", r"[A-Za-z]:\\\\?Users\\\\?", r"/root/", r"/tmp/",
                 r"site-packages/"]
_TEXT_MIMES = ("text/plain", "text/html", "text/markdown", "text/latex", "application/javascript")


def expected_metadata() -> dict[str, Any]:
    """``kernelspec`` and ``language_info`` as the environment's Jupyter server and ipykernel report them."""
    from ipykernel.ipkernel import IPythonKernel
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("python3")
    return {"kernelspec": {"display_name": spec.display_name, "language": spec.language, "name": "python3"},
            "language_info": json.loads(json.dumps(IPythonKernel.language_info))}


def _machine_paths() -> re.Pattern:
    mine = {str(ROOT), str(Path.home())} - {"/", ""}
    return re.compile("|".join([*map(re.escape, sorted(mine, key=len, reverse=True)), *MACHINE_PATHS]))


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _output_texts(output: dict) -> Iterator[str]:
    """The text an output shows (not images: base64 is full of slashes)."""
    if output.get("output_type") == "stream":
        yield _text(output.get("text", ""))
    elif output.get("output_type") == "error":
        yield "\n".join(output.get("traceback", []))
        yield _text(output.get("evalue", ""))
    for mime in _TEXT_MIMES:
        if mime in output.get("data", {}):
            yield _text(output["data"][mime])


def _is_tqdm(output: dict) -> bool:
    data = output.get("data", {})
    return WIDGET_VIEW in data and bool(TQDM.search(_text(data.get("text/plain", ""))))


def _references(value: Any) -> Iterator[str]:
    if isinstance(value, str) and value.startswith("IPY_MODEL_"):
        yield value[len("IPY_MODEL_"):]
    elif isinstance(value, dict):
        for v in value.values():
            yield from _references(v)
    elif isinstance(value, list):
        for v in value:
            yield from _references(v)


def _shown_widgets(nb: dict) -> list[str]:
    return [o["data"][WIDGET_VIEW]["model_id"] for c in nb["cells"] for o in c.get("outputs", [])
            if WIDGET_VIEW in o.get("data", {})]


def needed_models(nb: dict) -> set[str]:
    """The widget models the outputs show, and every model those refer to (children, layouts, styles)."""
    state = nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    needed: set[str] = set()
    todo = list(_shown_widgets(nb))
    while todo:
        model = todo.pop()
        if model in needed or model not in state:
            continue
        needed.add(model)
        todo += list(_references(state[model].get("state", {})))
    return needed


def normalise(nb: dict, expected: dict[str, Any]) -> list[str]:
    """Fix what can be fixed in place (see the module docstring); the list of what changed."""
    changes = []
    for key, value in expected.items():
        if nb["metadata"].get(key) != value:
            nb["metadata"][key] = value
            changes.append(key)
    for cell in nb["cells"]:
        kept = []
        for output in cell.get("outputs", []):
            if _is_tqdm(output):
                changes.append("a tqdm bar")
                continue
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                lines = _text(output["text"]).splitlines(keepends=True)
                clean = [line for line in lines if not CHATTER.search(line) and not TQDM.search(line)]
                if clean != lines:
                    changes.append("start-up chatter or a tqdm bar on stderr")
                    if not "".join(clean).strip():
                        continue
                    output["text"] = "".join(clean)
            kept.append(output)
        if "outputs" in cell:
            cell["outputs"] = kept
    widgets = nb["metadata"].get("widgets", {}).get(WIDGET_STATE)
    if widgets is not None:
        needed = needed_models(nb)
        dropped = [m for m in widgets.get("state", {}) if m not in needed]
        if dropped:
            changes.append(f"the state of {len(dropped)} widgets that no output shows")
            widgets["state"] = {m: s for m, s in widgets["state"].items() if m in needed}
        if not widgets.get("state"):
            del nb["metadata"]["widgets"]
    return changes


def _comparable(metadata: Any) -> Any:
    """Metadata as compared: the Python version is left out (``course.py lab`` opens notebooks with the
    version of the Python it runs, see ``LAB_CONFIG`` there; the notebooks name the one they ran with)."""
    if isinstance(metadata, dict) and "version" in metadata and metadata.get("name") == "python":
        return {k: v for k, v in metadata.items() if k != "version"}
    return metadata


def problems(path: Path, expected: dict[str, Any] | None = None) -> list[str]:
    """What is wrong with the notebook at ``path`` (an empty list: it is clean)."""
    expected = expected or expected_metadata()
    nb = json.loads(path.read_text(encoding="utf-8"))
    found = []
    for key, value in expected.items():
        if _comparable(nb.get("metadata", {}).get(key)) != _comparable(value):
            found.append(f"metadata.{key} is {nb.get('metadata', {}).get(key)!r}, the server reports {value!r} "
                         "(opening the notebook would mark it modified)")
    state = nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    missing = [m for m in _shown_widgets(nb) if m not in state]
    if missing:
        found.append(f"{len(missing)} widget outputs without their saved state (they show 'model not found')")
    orphans = set(state) - needed_models(nb)
    if orphans:
        found.append(f"saved state of {len(orphans)} widgets that no output shows")
    paths = _machine_paths()
    for number, cell in enumerate(nb["cells"]):
        where = f"cell {number}"
        texts = [_text(cell.get("source", ""))]
        for output in cell.get("outputs", []):
            if _is_tqdm(output):
                found.append(f"{where}: a tqdm bar")
            for text in _output_texts(output):
                texts.append(text)
                if CHATTER.search(text):
                    found.append(f"{where}: TensorFlow start-up line {CHATTER.search(text).group(0)!r}")
                if output.get("output_type") == "stream" and TQDM.search(text):
                    found.append(f"{where}: a tqdm bar on {output.get('name')}")
        for text in texts:
            if (match := paths.search(text)) is not None:
                found.append(f"{where}: an absolute path of this machine ({match.group(0)!r})")
                break
    size = path.stat().st_size
    if size > (limit := max_bytes(path)):
        found.append(f"{size / 1e6:.2f} MB, over {limit / 1e6:.1f} MB")
    return [f"{text} (x{count})" if count > 1 else text for text, count in Counter(found).items()]


def all_notebooks() -> list[Path]:
    return sorted(p for pattern in NOTEBOOKS for p in ROOT.glob(pattern))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, help="notebooks (default: every notebook of the project)")
    parser.add_argument("--check", action="store_true", help="report only; exit code 1 if anything is wrong")
    args = parser.parse_args(argv)
    expected = expected_metadata()
    bad = 0
    for path in args.paths or all_notebooks():
        if not args.check:
            import nbformat

            nb = nbformat.read(path, as_version=4)
            changes = normalise(nb, expected)
            if changes:
                nbformat.write(nb, path)
                print(f"{path}: fixed {', '.join(dict.fromkeys(changes))}")
        found = problems(path, expected)
        bad += bool(found)
        for problem in found:
            print(f"{path}: {problem}")
    print(f"{bad} notebook(s) with problems" if bad else "all clean")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
