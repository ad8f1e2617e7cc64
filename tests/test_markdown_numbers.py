"""Numbers typed into a lesson's Markdown are backed by the lesson (an output shows them, or the code sets
them) or carry a citation (issue 18, item 1; the rules are in ``tools/claims.py``).

The lessons are being fixed one by one, so the test is a ratchet: ``tests/markdown_numbers_baseline.json``
lists the numbers flagged when the test came in. A flag not in the baseline fails the test (fix it), and
so does a baseline entry that no longer occurs (drop it with ``.venv/bin/python tools/claims.py
--update-baseline``): the baseline only shrinks, and only on purpose."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("nst_claims_tool", ROOT / "tools" / "claims.py")
tool = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = tool           # dataclasses look their module up there
_spec.loader.exec_module(tool)


# --- the committed notebooks against the baseline -------------------------------------------------------

def test_every_notebook_against_the_baseline():
    notebooks = tool.all_notebooks()
    assert len(notebooks) >= 11, "the lessons were not found"
    flags = [flag for path in notebooks for flag in tool.flagged_in(path)]
    new, gone = tool.compare_with_baseline(flags, tool.load_baseline())
    message = []
    if new:
        message.append(f"{len(new)} Markdown number(s) that no output of the lesson shows, no code sets and no "
                       "citation vouches for (say them with nu.say from the variables, print them, or cite the "
                       "source in the same sentence; notebooks/CONVENTIONS.md, 'Numbers and claims in the text'):")
        message += [f"  {f.lesson} cell {f.cell}: {f.number}  {f.snippet()}" for f in new]
    if gone:
        message.append(f"{len(gone)} entries of tests/markdown_numbers_baseline.json no longer occur (fixed: good); "
                       f"drop them with `{tool.UPDATE_COMMAND}`:")
        message += [f"  {e['lesson']}: {e['number']}  {e['sentence']}" for e in gone]
    assert not message, "\n".join(message)


def test_the_baseline_names_existing_lessons_and_has_no_duplicates_beyond_the_flags():
    names = {p.name for p in tool.all_notebooks()}
    baseline = tool.load_baseline()
    assert all(e["lesson"] in names for e in baseline)
    assert all(set(e) == {"lesson", "number", "sentence"} for e in baseline)


# --- the detector on hand-made notebooks ----------------------------------------------------------------

def _nb(*cells) -> dict:
    return {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def _md(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def _code(source: str, *texts: str, html: str | None = None) -> dict:
    outputs = [{"output_type": "stream", "name": "stdout", "text": t} for t in texts]
    if html is not None:
        outputs.append({"output_type": "display_data", "metadata": {},
                        "data": {"text/html": html, "text/plain": "<DataFrame>"}})
    return {"cell_type": "code", "execution_count": 1, "metadata": {}, "source": source, "outputs": outputs}


def _numbers(nb: dict) -> list[str]:
    return [f.number for f in tool.flagged(nb, "lesson.ipynb")]


def test_a_stale_number_is_flagged_and_the_measured_one_is_not():
    code = _code("e1 = error(x)\nprint(f'feature error {e1:.4f}')", "feature error 0.3102\n")
    assert _numbers(_nb(code, _md("The feature error fell to 0.412."))) == ["0.412"]     # stale
    assert _numbers(_nb(code, _md("The feature error fell to 0.310."))) == []           # the output, rounded
    assert _numbers(_nb(code, _md("The feature error fell to 0.3102."))) == []
    assert _numbers(_nb(code, _md("The feature error fell to 0.311."))) == ["0.311"]     # not how 0.3102 rounds


def test_output_backed_numbers_in_several_spellings():
    out = _code("print(report)", "pixels moved: 96.2%\nparameters: 108371\nratio 1000\nspread 3.24e-06\n",
                html="<table><tr><td>0.8421</td></tr></table>")
    nb = _nb(out, _md("About 96 % of the pixels move; the network has 108,000 weights (1,000 x fewer); "
                      "the spread is 3.2e-6, the SSIM 84% (0.84, from the table)."))
    assert _numbers(nb) == []
    nb = _nb(out, _md("About 95 % of the pixels move and the network has 109,000 weights."))
    assert _numbers(nb) == ["95%", "109,000"]


def test_a_cited_number_is_not_flagged_and_the_citation_covers_its_own_sentence_only():
    text = ("Johnson et al. (2016) trained on 82,783 images of COCO. Our network saw 1,234 crops.\n\n"
            "- [Keras' Adam](https://keras.io/api/optimizers/adam/) uses epsilon 1e-7 and beta_2 0.999\n"
            "- the VGG means are 103.939 and 116.779\n"
            "- Simonyan & Zisserman 2015 give the mean 123.68\n"
            "- see [lesson 01](01_cnn_feature_maps.ipynb): 156 px\n")
    assert _numbers(_nb(_md(text))) == ["1,234", "103.939", "116.779", "156"]


def test_percentages_are_always_examined():
    assert _numbers(_nb(_md("It moves 7 % of the pixels, 7% again, and 0.07 of them."))) == ["7%", "7%"]
    backed = _code("share = 0.07\nprint(share)", "0.07\n")
    assert _numbers(_nb(backed, _md("It moves 7 % of the pixels."))) == []
    assert _numbers(_nb(_code("", "moved: 7.4%\n"), _md("It moves 7% of the pixels; 0.074 of them."))) == []


def test_numbers_in_code_names_and_settings_are_not_flagged():
    text = ("```python\nresult = nu.style_transfer(C, S, steps=1234)\n```\n\n"
            "The `conv4_2` layer of VGG19 at `0.4567`, ![figure](images/fig_1234.png), "
            "[the paper](https://arxiv.org/abs/1508.06576), <img src='x_5678.png'>, in 2016, with x_0 and a 2D grid.")
    assert _numbers(_nb(_md(text))) == []
    setting = _code("SIZE = nu.pick(full=384, quick=64)\n# 999.9 in a comment is no setting\nlabel = '777.7'")
    assert _numbers(_nb(setting, _md("At 384 px, sized 384x384."))) == []
    assert _numbers(_nb(setting, _md("We report 999.9 and 777.7."))) == ["999.9", "777.7"]


def test_number_rules():
    found = [(w, str(v), p) for w, v, p, _, _ in tool._numbers("0.10-0.39, 0.10–0.39, 1,000, 97 %, 256x256, "
                                                                 "3.2e-6, 27{,}648, 12ms, conv5_1, VGG19")]
    assert found == [("0.10", "0.10", False), ("0.39", "0.39", False), ("0.10", "0.10", False),
                     ("0.39", "0.39", False), ("1,000", "1000", False), ("97 %", "97", True),
                     ("256", "256", False), ("256", "256", False), ("3.2e-6", "0.0000032", False),
                     ("27,648", "27648", False), ("12", "12", False)]
    D = tool.Decimal
    assert [tool.significant_digits(D(w.replace(",", "")), w) for w in ("0.0123", "0.30", "1000", "256", "1,234", "100.0")] \
        == [3, 2, 1, 3, 4, 4]
    assert not tool.examined(D("2016"), "2016", False)          # a year
    assert tool.examined(D("7"), "7 %", True)                   # any percentage
    assert not tool.examined(D("0.45"), "0.45", False) and tool.examined(D("0.45"), "0.45", False, min_digits=2)


def test_units_split_sentences_list_items_and_rows():
    text = ("Gatys et al. (2016) used conv4_2. We use 0.512 here, e.g. for Fig. 2. Then more.\n"
            "- item one 1.234\n  continued\n- item two\n\n| a | 1.23 |\n|---|---|\n# Title 1.11")
    assert tool.units(text) == ["Gatys et al. (2016) used conv4_2.", "We use 0.512 here, e.g. for Fig. 2.",
                                "Then more.", "- item one 1.234 continued", "- item two", "| a | 1.23 |",
                                "|---|---|", "# Title 1.11"]
    assert tool.citation("as Gatys et al. (2016) showed") == "Gatys et al. (2016"
    assert tool.citation("(Johnson et al., 2016)") and tool.citation("Kingma & Ba 2015")
    assert tool.citation("[Adam](https://keras.io/api/optimizers/adam/)")
    assert tool.citation("[lesson 01](01_cnn_feature_maps.ipynb)") is None
    assert tool.citation("In 2016 we ran 3 runs.") is None and tool.citation("On June 3, 2016") is None
    assert tool.citation("Gatys (2016)") and tool.citation("(Gatys, 2016)") and tool.citation("Gatys et al. 2016")


# --- the ratchet ------------------------------------------------------------------------------------------

def test_the_ratchet_fails_on_new_and_on_gone_entries_and_only_shrinks(tmp_path):
    flag = tool.Flag("06.ipynb", 3, "0.412", "The error fell to 0.412.")
    other = tool.Flag("06.ipynb", 5, "1.234", "Then 1.234.")
    baseline = [{"lesson": "06.ipynb", "number": "0.412", "sentence": "The error fell to 0.412."}]
    assert tool.compare_with_baseline([flag], baseline) == ([], [])
    assert tool.compare_with_baseline([flag, other], baseline) == ([other], [])        # new: fails
    assert tool.compare_with_baseline([], baseline) == ([], baseline)                   # gone: fails too
    assert tool.compare_with_baseline([flag, flag], baseline) == ([flag], [])           # counted

    path = tmp_path / "baseline.json"
    tool.write_baseline(baseline + [{"lesson": "06.ipynb", "number": "9.99", "sentence": "x"}], path)
    assert tool.update_baseline([flag, other], path) == (1, 1)                         # drops 9.99 ...
    assert [e["number"] for e in tool.load_baseline(path)] == ["0.412"]                # ... never adds 1.234
    assert "update-baseline" in json.loads(path.read_text())["about"]


def test_the_script_reports_per_lesson(tmp_path, capsys):
    path = tmp_path / "07_lesson.ipynb"
    path.write_text(json.dumps(_nb(_code("print(0.3102)", "0.3102\n"), _md("Fell to 0.310, then to 0.205."))))
    assert tool.main([str(path)]) == 0
    out = capsys.readouterr().out
    assert "07_lesson.ipynb: 1 flagged" in out and "0.205" in out and "1 flagged number(s) in 1 notebook(s)" in out
    with pytest.raises(SystemExit):
        tool.main([str(tmp_path / "missing.ipynb")])
