"""``tools/book.py`` without building: widget outputs made static, links made to work, folders it refuses.
(``tests/test_book_browser.py`` builds the book and reads it in Chromium.)"""

from __future__ import annotations

import base64
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("nst_book_tool", ROOT / "tools" / "book.py")
book = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(book)


def _widget_outputs(nb: dict) -> int:
    return sum(book.WIDGET_VIEW in o.get("data", {}) for c in nb["cells"] for o in c.get("outputs", []))


@pytest.mark.parametrize("lesson, pictures", [("01_cnn_feature_maps", 1), ("03_layer_reconstruction", 1),
                                              ("10_studio", 3)])
def test_a_lessons_widget_becomes_a_note_and_its_pictures(lesson, pictures):
    nb = json.loads((ROOT / "notebooks" / f"{lesson}.ipynb").read_text())
    before = sum(len(c.get("outputs", [])) for c in nb["cells"])
    assert _widget_outputs(nb) == 1
    assert book.static_widgets(nb) == 1
    assert _widget_outputs(nb) == 0 and "widgets" not in nb["metadata"]
    outs = [o for c in nb["cells"] for o in c.get("outputs", [])]
    notes = [i for i, o in enumerate(outs) if "nst-widget-note" in o.get("data", {}).get("text/html", "")]
    assert len(notes) == 1 and "what it showed" in outs[notes[0]]["data"]["text/html"]
    shown = outs[notes[0] + 1: notes[0] + 1 + pictures]
    assert len(outs) == before + pictures
    for o in shown:
        (mime,) = [k for k in o["data"] if k.startswith("image/")]
        assert len(base64.b64decode("".join(o["data"][mime]))) > 1000


def test_a_widget_without_pictures_gets_the_note_alone():
    nb = {"metadata": {"widgets": {book.WIDGET_STATE: {"state": {"s": {"model_name": "IntSliderModel",
                                                                        "state": {"value": 3}}}}}},
          "cells": [{"cell_type": "code", "outputs": [
              {"output_type": "display_data", "data": {book.WIDGET_VIEW: {"model_id": "s"}, "text/plain": "x"}},
              {"output_type": "stream", "name": "stdout", "text": "kept\n"}]}]}
    assert book.static_widgets(nb) == 1
    outs = nb["cells"][0]["outputs"]
    assert len(outs) == 2 and "what it showed" not in outs[0]["data"]["text/html"] and outs[1]["text"] == "kept\n"


def test_links_work_in_the_book():
    nbs = ROOT / "notebooks"
    assert book.relink("[the defaults](../README.md#the-defaults-and-how-they-were-chosen)", nbs) == \
        f"[the defaults]({book.ABOUT}#the-defaults-and-how-they-were-chosen)"
    assert book.relink("[lesson 05](05_cost_functions.ipynb)", nbs) == "[lesson 05](05_cost_functions.ipynb)"
    assert book.relink("[`notebooks/05`](notebooks/05_cost_functions.ipynb#x)", ROOT) == \
        "[`notebooks/05`](05_cost_functions.ipynb#x)"
    assert book.relink("see [`docs/instructors.md`](docs/instructors.md).", ROOT) == "see `docs/instructors.md`."
    kept = "[web](https://example.org/a_(b)) [here](#a-heading) ![a figure](figure.png) [mail](mailto:a@b.c)"
    assert book.relink(kept, nbs) == kept


def test_it_refuses_folders_it_did_not_make(tmp_path):
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "thesis.md").write_text("my own work")
    with pytest.raises(book.BookError, match="not a Sphinx build"):
        book.build(mine)
    (tmp_path / "site-src").mkdir()
    (tmp_path / "site-src" / "draft.md").write_text("mine too")
    with pytest.raises(book.BookError, match="did not write"):
        book.build(tmp_path / "site")
    assert (mine / "thesis.md").read_text() == "my own work"
    assert (tmp_path / "site-src" / "draft.md").read_text() == "mine too"
