#!/usr/bin/env python3
"""Find numbers typed into a lesson's Markdown that nothing in the lesson backs: no output shows them,
no code sets them, and no citation vouches for them. Such a number goes stale at the next run.

    .venv/bin/python tools/claims.py                       # per-lesson report of every notebook
    .venv/bin/python tools/claims.py notebooks/06_*.ipynb  # some notebooks
    .venv/bin/python tools/claims.py --update-baseline     # drop fixed entries from the ratchet's baseline

``tests/test_markdown_numbers.py`` runs :func:`flagged` on every committed notebook against a baseline
(:data:`BASELINE`): today's flags, which may only shrink (see :func:`compare_with_baseline`).

The rules (the lessons' conventions, ``notebooks/CONVENTIONS.md``, "Numbers and claims in the text"):

**Which Markdown numbers are examined.** Markdown cells only, with fenced and inline code, HTML tags,
images, link targets and bare URLs removed first (LaTeX maths stays: measured numbers are written there
too, e.g. ``$\\beta = 3.33$``). A *number* is a run of digits with an optional decimal part, thousands
commas (``1,000`` is 1000) and exponent (``3.2e-6``), optionally followed by ``%`` (with or without a
space: ``97 %`` is ``97%``); its sign is ignored, so a range ``0.10-0.39`` (or ``0.10–0.39``) is the two
numbers 0.10 and 0.39. Digits that are part of a name are not numbers: ``conv4_2``, ``VGG19``,
``x_0``, ``2D`` (a letter, digit, ``_`` or ``.`` right before, or a letter right after, except the
units ``px``, ``ms``, ``s``, ``dB``, ``MB``, ``GB``, ``x``/``×``, ``k``, ``M``); ``256x256`` is two numbers.
A number is **examined** when it is a percentage, or has three or more significant digits (leading
zeros do not count, nor the trailing zeros of an integer: ``0.0123`` has 3, ``0.30`` has 2, ``1000``
has 1, ``256`` has 3). Four-digit integers from 1800 to 2039 are years and are not examined.

**Backed by the lesson.** An examined number is backed when it *matches* a number in the lesson's
outputs (``text/plain``, ``text/markdown``, ``text/html`` without tags, ``text/latex`` and stream
outputs, of any cell; not images, not errors) or a numeric literal in its code cells (a setting the
code uses; comments and strings do not count). *Matches*: the output value, rounded to the number of
decimals the Markdown wrote, is the Markdown value (``0.84`` matches ``0.8421``; ``3.2e-6`` matches
``3.24e-06``; ``1,000`` matches ``1000``; an integer's trailing zeros are not significant, so
``108,000`` matches ``108371``, but a percentage's are: ``80%`` is 79.5-80.5 %); a percentage ``p%``
also matches a fraction (``84%`` matches ``0.8421`` and the code's ``0.84``), and a plain number matches
an output percentage divided by 100.

Weak spots, on purpose: a small percentage (``10%``) is backed by any 0.1 in the code; a number in
another lesson's output is not backed here (show it again, or compute it); two-digit numbers such as
``0.45`` are not examined by the test (``--min-digits 2`` lists them in the report).

**Carries a citation.** The sentence (or list item, or table row) that holds the number also holds an
author-year reference -- ``Name et al. (2016)``, ``Name et al., 2016``, ``Name et al. 2016``, ``Name &
Other 2015`` or ``Name and Other (2015)``, ``Name (2016)``, ``(Name, 2016)``, ``(Name 2016)``, with a
capitalised name and a year 1800-2039 -- or a Markdown link to a web page (``[text](https://...)``). A
bare year ("in 2016") is not a citation, nor is a link to another notebook.

A number that is examined, not backed and carries no citation is **flagged**.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import tokenize
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterable, Iterator

ROOT = Path(__file__).resolve().parents[1]
#: The notebooks examined: the lessons and the studio's page (as tools/notebooks.py).
NOTEBOOKS = ("notebooks/*.ipynb", "nst_studio/*.ipynb")
#: Today's flags, the ratchet of tests/test_markdown_numbers.py.
BASELINE = ROOT / "tests" / "markdown_numbers_baseline.json"
UPDATE_COMMAND = ".venv/bin/python tools/claims.py --update-baseline"
_OUTPUT_MIMES = ("text/plain", "text/markdown", "text/html", "text/latex")

_UNITS = r"(?:px|ms|s|dB|MB|GB|x|×|k|M)"
#: A number: thousands commas or plain digits, decimals, exponent, an optional percent sign; not part of
#: a name (no letter, digit, ``_`` or ``.`` before it; no digit, ``_`` or letter after it, except a unit).
NUMBER = re.compile(
    r"(?<![\w.])(?P<value>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)(?P<exp>[eE][-+−]?\d+)?"
    r"(?P<percent>\s?%)?"
    r"(?!\d|_|\.\d|,\d{3})"
    rf"(?!(?!{_UNITS}\b)[^\W\d_])"
)


def _numbers(text: str) -> Iterator[tuple[str, Decimal, bool, int, int]]:
    """(written, value, is_percent, start, end) for every number in ``text`` (see the module docstring)."""
    text = re.sub(r"(?<=\d)\s?[x×]\s?(?=\d)", " x ", text)        # 256x256: two numbers
    text = re.sub(r"(?<=\d)\{,\}(?=\d{3})", ",", text)               # LaTeX's 27{,}648
    for m in NUMBER.finditer(text):
        written = m.group(0).strip()
        raw = m.group("value").replace(",", "") + (m.group("exp") or "").replace("−", "-")
        try:
            value = Decimal(raw)
        except InvalidOperation:                                    # pragma: no cover - the regex forbids it
            continue
        yield written, value, bool(m.group("percent")), m.start(), m.end()


def significant_digits(value: Decimal, written: str) -> int:
    """Significant digits as written: ``0.0123`` -> 3, ``0.30`` -> 2, ``1000`` -> 1, ``256`` -> 3."""
    digits = written.split("e")[0].split("E")[0].replace(",", "").replace("%", "").strip()
    digits = digits.lstrip("0.")                    # leading zeros (and the point among them)
    if "." not in written.split("e")[0].split("E")[0]:
        digits = digits.rstrip("0")                 # an integer's trailing zeros
    return sum(c.isdigit() for c in digits)


def _is_year(value: Decimal, written: str) -> bool:
    return bool(re.fullmatch(r"\d{4}", written)) and 1800 <= value <= 2039


#: A Markdown number with this many significant digits or more is examined (percentages always are).
MIN_DIGITS = 3


def examined(value: Decimal, written: str, percent: bool, min_digits: int = MIN_DIGITS) -> bool:
    """Is this Markdown number one the test looks at (a percentage, or 3+ significant digits, not a year)?"""
    if percent:
        return True
    return not _is_year(value, written) and significant_digits(value, written) >= min_digits


# --- Markdown: units of text, citations --------------------------------------------------------------

_FENCED = re.compile(r"```.*?```|~~~.*?~~~", re.S)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_URL = re.compile(r"https?://\S+")
_TAG = re.compile(r"<[^>\n]+>")
#: A citation: an author-year reference, or a Markdown link to a web page.
_NAME = r"[A-Z][\w'’\-]+"
_YEAR = r"(?:18\d\d|19\d\d|20[0-3]\d)[a-z]?\b"
CITATION = re.compile(
    rf"{_NAME}\s+et\s+al\.?,?\s*\(?{_YEAR}"                      # Gatys et al. (2016), Gatys et al., 2016
    rf"|{_NAME}\s+(?:and|&)\s+{_NAME},?\s*\(?{_YEAR}"             # Kingma & Ba 2015, Kingma and Ba (2015)
    rf"|{_NAME}\s*\({_YEAR}"                                       # Gatys (2016)
    rf"|\({_NAME},?\s+{_YEAR}"                                      # (Gatys, 2016), (Gatys 2016)
    r"|\[[^\]]+\]\(https?://[^)\s]+\)"                              # [the paper](https://arxiv.org/...)
)
_ABBREVIATIONS = ("al.", "e.g.", "i.e.", "cf.", "Fig.", "Eq.", "vs.", "approx.", "No.", "p.")


def citation(text: str) -> str | None:
    """The first citation in ``text`` (see the module docstring), or None."""
    m = CITATION.search(text)
    return m.group(0) if m else None


def _sentences(paragraph: str) -> list[str]:
    """Split a paragraph into sentences: after . ! ? and a space, before a capital letter or a quote,
    except after an abbreviation such as "et al." or "e.g."."""
    parts, start = [], 0
    for m in re.finditer(r"(?<=[.!?])\s+(?=[A-Z\"“*])", paragraph):
        before = paragraph[start:m.start()]
        if before.endswith(_ABBREVIATIONS) or re.search(r"\b[A-Z]\.$", before):
            continue
        parts.append(paragraph[start:m.start()])
        start = m.end()
    parts.append(paragraph[start:])
    return [p for p in parts if p.strip()]


def units(markdown: str) -> list[str]:
    """The units a citation covers: sentences of paragraphs, whole list items, table rows, headings.
    Fenced code blocks are left out."""
    markdown = _FENCED.sub("\n\n", markdown)
    blocks: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            blocks.append(" ".join(current))
            current.clear()

    for line in markdown.splitlines():
        stripped = line.strip()
        if not stripped:
            flush()
        elif re.match(r"([-*+]|\d+[.)])\s", stripped) or stripped.startswith(("#", "|", ">")):
            flush()
            current.append(stripped)
            if stripped.startswith(("#", "|")):
                flush()
        else:
            current.append(stripped)
    flush()
    out = []
    for block in blocks:
        if block.startswith("|") or block.startswith("#"):
            out.append(block)
        else:
            out.extend(_sentences(block))
    return out


def _clean(unit: str) -> str:
    """A unit's text without code, images, link targets, URLs and HTML tags (their digits are not numbers)."""
    for pattern in (_INLINE_CODE, _IMAGE, _LINK_TARGET, _URL, _TAG):
        unit = pattern.sub(" ", unit)
    return unit


# --- what backs a number: outputs and code -------------------------------------------------------------

def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def output_texts(nb: dict) -> Iterator[str]:
    """The text of every output of every cell (streams and text MIME types; no images, no errors)."""
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                yield _text(output.get("text", ""))
            for mime in _OUTPUT_MIMES:
                if mime in output.get("data", {}):
                    text = _text(output["data"][mime])
                    yield _TAG.sub(" ", text) if mime == "text/html" else text


def code_numbers(source: str) -> Iterator[Decimal]:
    """The numeric literals of a code cell (not its comments or strings); IPython magics are skipped."""
    source = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.NUMBER:
                try:
                    yield Decimal(token.string.replace("_", "").rstrip("jJ"))
                except InvalidOperation:
                    continue
    except (tokenize.TokenError, IndentationError, SyntaxError):
        for m in NUMBER.finditer(re.sub(r"#.*", "", source)):
            yield Decimal(m.group("value").replace(",", "") + (m.group("exp") or ""))


def backing_values(nb: dict) -> list[Decimal]:
    """Every value a Markdown number may match: output numbers (output percentages also as fractions)
    and the numeric literals of the code."""
    values: set[Decimal] = set()
    for text in output_texts(nb):
        for _, value, percent, _, _ in _numbers(text):
            values.add(value)
            if percent:
                values.add(value / 100)
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            values.update(abs(v) for v in code_numbers(_text(cell.get("source", ""))))
    return sorted(values)


def matches(value: Decimal, percent: bool, backing: Iterable[Decimal]) -> bool:
    """Does a Markdown number (as written, with its precision) match one of the backing values?"""
    quantum = Decimal(1).scaleb(value.as_tuple().exponent)
    if quantum == 1 and value != 0 and not percent:  # an integer's trailing zeros: 108,000 stands
        digits = str(int(value))                              # for [107,500, 108,500]
        quantum = Decimal(10) ** (len(digits) - len(digits.rstrip("0")))
    half = quantum / 2 * (1 + Decimal("1e-9"))               # 0.84 stands for [0.835, 0.845]
    targets = [(value, half)] + ([(value / 100, half / 100)] if percent else [])
    return any(abs(b - target) <= tol for target, tol in targets for b in backing)


# --- the detector -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Flag:
    """A Markdown number nothing backs: ``lesson`` (the notebook's file name), ``cell`` (its index),
    ``number`` (as written, normalised: ``97%``, ``1,000``), ``sentence`` (the unit that holds it)."""

    lesson: str
    cell: int
    number: str
    sentence: str

    @property
    def key(self) -> tuple[str, str]:
        """What the baseline compares: the lesson and the number (the sentence may be reworded)."""
        return self.lesson, self.number

    def snippet(self, width: int = 100) -> str:
        s = " ".join(self.sentence.split()).replace("{,}", ",")
        if len(s) <= width:
            return s
        at = s.find(self.number.rstrip("%").strip())
        start = max(0, min(at - width // 2, len(s) - width))
        return ("..." if start else "") + s[start:start + width] + ("..." if start + width < len(s) else "")


def _normalised(written: str, percent: bool) -> str:
    written = re.sub(r"\s+", "", written)
    return written if not percent else written.rstrip("%") + "%"


def flagged(nb: dict, lesson: str = "notebook", min_digits: int = MIN_DIGITS) -> list[Flag]:
    """Every flagged Markdown number of the notebook ``nb`` (a dict as in the .ipynb file).
    ``min_digits=2`` examines two-digit numbers too (a stricter report; the test uses the default)."""
    backing = backing_values(nb)
    flags = []
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "markdown":
            continue
        for unit in units(_text(cell.get("source", ""))):
            if citation(unit):
                continue
            for written, value, percent, _, _ in _numbers(_clean(unit)):
                if examined(value, written, percent, min_digits) and not matches(value, percent, backing):
                    flags.append(Flag(lesson, index, _normalised(written, percent), unit.strip()))
    return flags


def flagged_in(path: Path, min_digits: int = MIN_DIGITS) -> list[Flag]:
    return flagged(json.loads(path.read_text(encoding="utf-8")), path.name, min_digits)


def all_notebooks() -> list[Path]:
    return sorted(p for pattern in NOTEBOOKS for p in ROOT.glob(pattern))


# --- the ratchet --------------------------------------------------------------------------------------

def load_baseline(path: Path = BASELINE) -> list[dict[str, str]]:
    if not path.exists():
        return []
    return json.loads(path.read_text(encoding="utf-8"))["flags"]


def compare_with_baseline(flags: list[Flag], baseline: list[dict[str, str]]) -> tuple[list[Flag], list[dict]]:
    """(new, gone): flags not in the baseline, and baseline entries that no longer occur. Entries are
    compared by (lesson, number), counted: two flagged "0.842" in a lesson need two entries."""
    allowed = Counter((e["lesson"], e["number"]) for e in baseline)
    new = []
    for flag in flags:
        if allowed[flag.key] > 0:
            allowed[flag.key] -= 1
        else:
            new.append(flag)
    gone, left = [], Counter(allowed)
    for entry in baseline:
        key = (entry["lesson"], entry["number"])
        if left[key] > 0:
            gone.append(entry)
            left[key] -= 1
    return new, gone


def _entry(flag: Flag) -> dict[str, str]:
    return {"lesson": flag.lesson, "number": flag.number, "sentence": flag.snippet()}


def update_baseline(flags: list[Flag], path: Path = BASELINE) -> tuple[int, int]:
    """Drop the baseline entries that no longer occur; never add one (new flags are fixed, not recorded).
    Returns (dropped, kept)."""
    baseline = load_baseline(path)
    _, gone = compare_with_baseline(flags, baseline)
    remaining = list(baseline)
    for entry in gone:
        remaining.remove(entry)
    write_baseline(remaining, path)
    return len(gone), len(remaining)


def write_baseline(entries: list[dict[str, str]], path: Path = BASELINE) -> None:
    doc = {"about": "Markdown numbers that nothing backs, recorded when tests/test_markdown_numbers.py came in "
                    "(issue 18). The list may only shrink: fix a number (compute it with nu.say, show it in an "
                    f"output, or cite it), then run `{UPDATE_COMMAND}`. See tools/claims.py for the rules.",
           "flags": entries}
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def report(paths: list[Path], min_digits: int = MIN_DIGITS) -> str:
    lines = []
    total = 0
    for path in paths:
        flags = flagged_in(path, min_digits)
        total += len(flags)
        lines.append(f"{path.name}: {len(flags)} flagged")
        for flag in flags:
            lines.append(f"  cell {flag.cell:3d}  {flag.number:>8s}  {flag.snippet()}")
    lines.append(f"{total} flagged number(s) in {len(paths)} notebook(s)")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, help="notebooks (default: every notebook of the project)")
    parser.add_argument("--update-baseline", action="store_true",
                        help=f"drop the entries of {BASELINE.relative_to(ROOT)} that no longer occur (never adds)")
    parser.add_argument("--write-baseline", action="store_true",
                        help="record every current flag as the baseline (only when the test first comes in)")
    parser.add_argument("--min-digits", type=int, default=MIN_DIGITS,
                        help="examine numbers with this many significant digits or more (report only; default 3)")
    args = parser.parse_args(argv)
    paths = args.paths or all_notebooks()
    for path in paths:
        if not path.is_file():
            parser.error(f"{path}: no such notebook")
    if args.update_baseline or args.write_baseline:
        flags = [f for p in all_notebooks() for f in flagged_in(p)]
        if args.write_baseline:
            write_baseline([_entry(f) for f in flags])
            print(f"{BASELINE.relative_to(ROOT)}: {len(flags)} entries")
        else:
            dropped, kept = update_baseline(flags)
            new, _ = compare_with_baseline(flags, load_baseline())
            print(f"{BASELINE.relative_to(ROOT)}: dropped {dropped}, kept {kept}")
            if new:
                print(f"{len(new)} flagged number(s) are not in the baseline and were not added; fix them:")
                for f in new:
                    print(f"  {f.lesson} cell {f.cell}: {f.number}  {f.snippet()}")
                return 1
        return 0
    print(report(paths, args.min_digits))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
