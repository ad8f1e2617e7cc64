"""nst_utils.claims: sentences built from measured values, and checks that fail on a result that
contradicts their claim (issue 18, items 1 and 2). Every check helper is shown passing on a result
that supports its claim and FAILING, with the claim and the numbers in the message, on one that does not."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

import nst_utils as nu
from nst_utils import claims


# --- say, phrase, compare ---------------------------------------------------------------------------

def test_phrase_formats_the_measured_values():
    text = nu.phrase("After {steps} steps the feature error fell from {e0:.3f} to {e1:.3f} ({drop:.0%} less).",
                     steps=200, e0=0.84213, e1=0.3102, drop=1 - 0.3102 / 0.84213)
    assert text == "After 200 steps the feature error fell from 0.842 to 0.310 (63% less)."


def test_phrase_refuses_missing_unused_and_unnamed_fields():
    with pytest.raises(KeyError, match="needs e1"):
        nu.phrase("from {e0:.3f} to {e1:.3f}", e0=1.0)
    with pytest.raises(ValueError, match="e2 given but not in the template"):
        nu.phrase("from {e0:.3f} to {e1:.3f}", e0=1.0, e1=0.5, e2=0.1)
    with pytest.raises(ValueError, match="name every field"):
        nu.phrase("from {} to {}", e0=1.0)
    assert nu.phrase("$J_{{style}}$ fell {n} times", n=3) == "$J_{style}$ fell 3 times"


def test_say_prints_outside_a_kernel(capsys):
    nu.say("Adam's final J is {word} than L-BFGS's ({a:.2f} vs {b:.2f}).",
           word=nu.compare(0.52, 0.31, noise=0.05), a=0.52, b=0.31)
    assert capsys.readouterr().out == "Adam's final J is larger than L-BFGS's (0.52 vs 0.31).\n"


def test_say_displays_markdown_in_a_kernel(monkeypatch, capsys):
    import IPython.display

    shown = []
    monkeypatch.setattr(claims, "_in_kernel", lambda: True)
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    nu.say("SSIM {s:.2f}", s=0.4567)
    assert capsys.readouterr().out == ""
    assert len(shown) == 1 and isinstance(shown[0], IPython.display.Markdown)
    assert shown[0].data == "SSIM 0.46"


@pytest.mark.parametrize("a, b, noise, expected", [
    (0.50, 0.30, 0.0, "larger"),
    (0.30, 0.50, 0.0, "smaller"),
    (0.31, 0.30, 0.02, "the same within the noise"),
    (0.30, 0.31, 0.02, "the same within the noise"),
    (0.30, 0.30, 0.0, "the same within the noise"),
    (0.33, 0.30, 0.02, "larger"),
    (0.27, 0.30, 0.02, "smaller"),
])
def test_compare_chooses_the_word_from_the_values(a, b, noise, expected):
    assert nu.compare(a, b, noise=noise) == expected


def test_compare_with_own_words_and_bad_input():
    words = dict(larger="further from the style", smaller="closer to the style", tie="as close as")
    assert nu.compare(0.2, 0.4, noise=0.05, **words) == "closer to the style"
    assert nu.compare(0.42, 0.4, noise=0.05, **words) == "as close as"
    with pytest.raises(ValueError, match="noise must be"):
        nu.compare(1, 2, noise=-0.1)
    with pytest.raises(ValueError, match="NaN"):
        nu.compare(float("nan"), 2)
    with pytest.raises(TypeError, match="must be a number"):
        nu.compare("big", 2)


# --- checks: pass on supporting results, FAIL on contradicting ones ----------------------------------

def test_check(capsys):
    nu.check((1, 64, 64, 3) == (1, 64, 64, 3), "every result has its content image's shape")
    assert capsys.readouterr().out == "every result has its content image's shape: True\n"
    with pytest.raises(AssertionError, match=r"does not hold: every result has its content .*: \(1, 32, 32, 3\)"):
        nu.check((1, 32, 32, 3) == (1, 64, 64, 3), "every result has its content image's shape",
                 detail="(1, 32, 32, 3) != (1, 64, 64, 3)")
    with pytest.raises(TypeError, match="reduce it"):
        nu.check(np.array([True, False]), "all positive")
    with pytest.raises(TypeError, match="say what the check claims"):
        nu.check(True, "")


def test_check_less(capsys):
    nu.check_less(0.12, 0.30, "L-BFGS reaches a lower J_content than Adam")
    nu.check_less(0.12, 0.30, "lower by more than the noise", noise=0.1)
    assert capsys.readouterr().out == ("L-BFGS reaches a lower J_content than Adam: True\n"
                                       "lower by more than the noise: True\n")
    with pytest.raises(AssertionError, match=r"L-BFGS reaches a lower J_content than Adam: 0\.45 is not below 0\.3$"):
        nu.check_less(0.45, 0.30, "L-BFGS reaches a lower J_content than Adam")
    with pytest.raises(AssertionError, match=r"0\.25 is not below 0\.3 by more than the noise 0\.1"):
        nu.check_less(0.25, 0.30, "lower by more than the noise", noise=0.1)
    with pytest.raises(AssertionError, match="is not below"):
        nu.check_less(0.3, 0.3, "equal is not less")
    with pytest.raises(AssertionError, match="nan is not below"):
        nu.check_less(float("nan"), 0.3, "a NaN supports no claim")
    assert capsys.readouterr().out == ""          # a failing check prints nothing


def test_check_greater():
    nu.check_greater(0.61, 0.48, "conv2_2 keeps more structure", noise=0.03)
    with pytest.raises(AssertionError, match=r"conv2_2 keeps more structure: 0\.48 is not above 0\.61"):
        nu.check_greater(0.48, 0.61, "conv2_2 keeps more structure")
    with pytest.raises(AssertionError, match="by more than the noise 0.2"):
        nu.check_greater(0.61, 0.48, "conv2_2 keeps more structure", noise=0.2)


def test_check_at_most_and_at_least():
    nu.check_at_most(3e-7, 1e-6, "by hand == library, relative error <= 1e-6")
    nu.check_at_most(1e-6, 1e-6, "the bound itself is allowed")
    with pytest.raises(AssertionError, match=r"relative error <= 1e-6: 0\.002 is above the limit 1e-06"):
        nu.check_at_most(2e-3, 1e-6, "by hand == library, relative error <= 1e-6")
    nu.check_at_least(0.31, 0.15, "luminance SSIM >= 0.15")
    with pytest.raises(AssertionError, match=r"luminance SSIM >= 0\.15: 0\.08 is below the limit 0\.15"):
        nu.check_at_least(0.08, 0.15, "luminance SSIM >= 0.15")


def test_check_between():
    nu.check_between(1.3, 0.5, 2, "within a factor 2")
    for outside in (0.5, 2.0, 7.1, 0.01):
        with pytest.raises(AssertionError, match=r"within a factor 2: .* is not between 0\.5 and 2"):
            nu.check_between(outside, 0.5, 2, "within a factor 2")
    with pytest.raises(ValueError, match="must be below high"):
        nu.check_between(1, 2, 0.5, "bounds swapped")


def test_check_ratio():
    nu.check_ratio(0.84, 0.31, "falls more than twofold", above=2)
    nu.check_ratio(0.84, 0.61, "within 10% to 50% more", above=1.1, below=1.5)
    with pytest.raises(AssertionError, match=r"falls more than twofold: 0\.84 / 0\.61 = 1\.377, not above 2$"):
        nu.check_ratio(0.84, 0.61, "falls more than twofold", above=2)
    with pytest.raises(AssertionError, match=r"= 2\.71, not above 1\.1 and below 1\.5"):
        nu.check_ratio(0.84, 0.31, "within 10% to 50% more", above=1.1, below=1.5)
    with pytest.raises(AssertionError, match="denominator is 0, not positive"):
        nu.check_ratio(0.84, 0.0, "falls more than twofold", above=2)
    with pytest.raises(ValueError, match="give above="):
        nu.check_ratio(1, 2, "no bound")


def test_check_tie():
    nu.check_tie(0.412, 0.405, "the two poolings keep the layout equally well", noise=0.02)
    with pytest.raises(AssertionError, match=r"equally well: 0\.512 and 0\.405 differ by 0\.107, more than the noise 0\.02"):
        nu.check_tie(0.512, 0.405, "the two poolings keep the layout equally well", noise=0.02)
    with pytest.raises(TypeError):
        nu.check_tie(0.4, 0.4, "noise is required")      # no default: the noise must be said
    with pytest.raises(ValueError, match="noise must be >= 0"):
        nu.check_tie(0.4, 0.4, "negative noise", noise=-1)


def test_check_order():
    nu.check_order({"w_TV 0": 9.1, "w_TV 1e-3": 4.2, "w_TV 1e-2": 0.8}, "larger w_TV -> lower J_TV")
    nu.check_order([0.1, 0.2, 0.4], "rises", increasing=True, noise=0.05)
    with pytest.raises(AssertionError, match=r"lower J_TV: \[w_TV 1e-3 -> w_TV 1e-2\] 4\.2 then 5 does not fall$"):
        nu.check_order({"w_TV 0": 9.1, "w_TV 1e-3": 4.2, "w_TV 1e-2": 5.0}, "larger w_TV -> lower J_TV")
    with pytest.raises(AssertionError, match=r"\[0 -> 1\] 0\.1 then 0\.12 does not rise by more than the noise 0\.05"):
        nu.check_order([0.1, 0.12, 0.4], "rises", increasing=True, noise=0.05)
    with pytest.raises(ValueError, match="at least two values"):
        nu.check_order([1.0], "one value")


def test_checks_go_element_by_element_and_name_what_broke():
    finals = {"tubingen x starry": 0.2, "tubingen x scream": 0.7, "hopper x starry": 0.1}
    starts = {"tubingen x starry": 1.0, "tubingen x scream": 1.0, "hopper x starry": 1.0}
    nu.check_ratio(starts, {k: 0.05 for k in finals}, "J_style fell", above=1)
    with pytest.raises(AssertionError, match=r"cut J_style by more than half: \[tubingen x scream\] 1 / 0\.7 = 1\.429, not above 2$"):
        nu.check_ratio(starts, finals, "every transfer cut J_style by more than half", above=2)
    with pytest.raises(AssertionError, match=r"\[1\] 0\.5 is not below 0\.4"):
        nu.check_less(np.array([0.1, 0.5, 0.2]), 0.4, "every element below 0.4")
    nu.check_less(np.array([0.1, 0.3, 0.2]), 0.4, "every element below 0.4")
    many = {f"run {i}": 1.0 for i in range(10)}
    with pytest.raises(AssertionError, match=r"and 4 more$"):
        nu.check_less(many, 0.5, "all below a half")
    with pytest.raises(ValueError, match="different keys"):
        nu.check_less({"a": 1}, {"b": 2}, "mismatched")
    with pytest.raises(ValueError, match="empty"):
        nu.check_less({}, 1, "nothing")


def test_printed_text_does_not_depend_on_the_values(capsys):
    """Quick and full mode print the same text: the verdict, never the numbers."""
    nu.check_less(0.0012, 0.3, "x is lower")
    quick = capsys.readouterr().out
    nu.check_less(0.29, 0.3, "x is lower")
    assert capsys.readouterr().out == quick == "x is lower: True\n"


def test_the_docstring_examples():
    failures, tried = doctest.testmod(claims, optionflags=doctest.ELLIPSIS)
    assert tried >= 15 and failures == 0


def test_public_names():
    for name in claims.__all__:
        assert getattr(nu, name) is getattr(claims, name)
