"""Every committed notebook is clean (``tools/notebooks.py``): opening it in JupyterLab does not mark it
modified (its kernelspec and language_info are what the server reports), its widget outputs carry their
saved state and nothing else does, no tqdm bars, no TensorFlow start-up lines, no absolute paths of
the author's machine, and it is small. ``.venv/bin/python tools/notebooks.py`` fixes what can be fixed."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("nst_notebook_tool", ROOT / "tools" / "notebooks.py")
tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tool)

EXPECTED = tool.expected_metadata()


@pytest.mark.parametrize("path", tool.all_notebooks(), ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_is_clean(path):
    found = tool.problems(path, EXPECTED)
    assert not found, (f"{path.relative_to(ROOT)}: run `.venv/bin/python tools/notebooks.py "
                       f"{path.relative_to(ROOT)}` (and re-execute for what it cannot fix):\n  " + "\n  ".join(found))


def test_the_project_has_its_notebooks():
    names = {p.name for p in tool.all_notebooks()}
    assert "00_images_and_vgg_input.ipynb" in names and "app.ipynb" in names and len(names) >= 9


def _notebook(**metadata) -> dict:
    return {"cells": [], "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}


def _widget_output(model_id: str, text: str = "VBox(children=(...))") -> dict:
    return {"output_type": "display_data", "metadata": {},
            "data": {tool.WIDGET_VIEW: {"model_id": model_id, "version_major": 2, "version_minor": 0},
                     "text/plain": text}}


def test_the_tool_fixes_metadata_tqdm_chatter_and_dead_widget_state(tmp_path):
    state = {"box": {"state": {"children": ["IPY_MODEL_slider"], "layout": "IPY_MODEL_layout"}},
             "slider": {"state": {"value": 3}}, "layout": {"state": {}},
             "bar": {"state": {"value": 40}}, "orphan": {"state": {}}}
    nb = _notebook(kernelspec={"display_name": "Python 3", "language": "python", "name": "python3"},
                   widgets={tool.WIDGET_STATE: {"state": state, "version_major": 2, "version_minor": 0}})
    nb["cells"] = [{"cell_type": "code", "execution_count": 1, "id": "a", "metadata": {}, "source": "x",
                    "outputs": [
                        {"output_type": "stream", "name": "stderr",
                         "text": "I0000 00:00:1795379179.738439   23211 cpu_feature_guard.cc:227] This TensorFlow "
                                 "binary is optimized\nE0000 00:00:17.5 5402 cuda_platform.cc:52] failed call to "
                                 "cuInit: INTERNAL\na real warning\n"},
                        _widget_output("bar", "optimizing:  40%|####      | 4/10 [00:01<00:02, 2.9it/s]"),
                        _widget_output("box")]}]
    path = tmp_path / "lesson.ipynb"
    path.write_text(json.dumps(nb))
    before = tool.problems(path, EXPECTED)
    assert any("kernelspec" in p for p in before) and any("tqdm" in p for p in before)
    assert any("start-up line" in p for p in before) and any("no output shows" in p for p in before)

    assert tool.main([str(path)]) == 0
    fixed = json.loads(path.read_text())
    assert fixed["metadata"]["kernelspec"] == EXPECTED["kernelspec"]
    assert fixed["metadata"]["language_info"] == EXPECTED["language_info"]
    outputs = fixed["cells"][0]["outputs"]
    assert [o["output_type"] for o in outputs] == ["stream", "display_data"]
    assert "".join(outputs[0]["text"]) == "a real warning\n"
    assert set(fixed["metadata"]["widgets"][tool.WIDGET_STATE]["state"]) == {"box", "slider", "layout"}
    assert tool.problems(path, EXPECTED) == []


def test_the_tool_reports_what_it_cannot_fix(tmp_path):
    nb = _notebook(**EXPECTED)
    nb["cells"] = [{"cell_type": "code", "execution_count": 1, "id": "a", "metadata": {}, "source": "x",
                    "outputs": [{"output_type": "stream", "name": "stdout",
                                 "text": f"images in {ROOT}/outputs/03\n"},
                                _widget_output("gone")]}]
    path = tmp_path / "lesson.ipynb"
    path.write_text(json.dumps(nb) + " " * tool.MAX_BYTES)
    found = tool.problems(path, EXPECTED)
    assert any("absolute path" in p for p in found)
    assert any("without their saved state" in p for p in found)
    assert any("MB, over" in p for p in found)
    assert tool.main(["--check", str(path)]) == 1


def test_a_large_figure_lesson_gets_its_own_limit_and_no_more(tmp_path):
    nb = _notebook(**EXPECTED)
    path = tmp_path / "07_experiments.ipynb"
    path.write_text(json.dumps(nb) + " " * (tool.MAX_BYTES + 100_000))
    assert not any("MB, over" in p for p in tool.problems(path, EXPECTED))
    path.write_text(json.dumps(nb) + " " * tool.LARGE_FIGURE_LESSONS[path.name])
    assert any("over 3.0 MB" in p for p in tool.problems(path, EXPECTED))
    other = tmp_path / "05_cost_functions.ipynb"
    other.write_text(json.dumps(nb) + " " * (tool.MAX_BYTES + 100_000))
    assert any("over 1.6 MB" in p for p in tool.problems(other, EXPECTED))
