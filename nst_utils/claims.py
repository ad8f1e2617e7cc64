"""What a lesson says it measured: sentences built from the run, and checks that can fail.

A number typed into a Markdown cell goes stale at the next run; a check that prints ``True`` whatever
happens tests nothing. This module gives the lessons two tools instead:

**Sentences from the variables.** :func:`say` formats a sentence with the values the code measured and
shows it as Markdown, so re-executing the lesson rewrites the sentence::

    nu.say("After {steps} steps the feature error fell from {e0:.3f} to {e1:.3f}.", steps=200, e0=e0, e1=e1)

A comparison is said in words chosen from the values by :func:`compare` (a difference within the
run-to-run noise is a tie, never "larger")::

    nu.say("Adam's final J is {word} than L-BFGS's.", word=nu.compare(J_adam, J_lbfgs, noise=0.02 * J_lbfgs))

**Checks.** Each ``check_*`` helper states one claim, prints ``<what>: True`` when the values support it
(the same text in quick and full mode: no raw numbers), and raises :class:`AssertionError` naming the
claim *and the numbers* when they do not, so that nbval fails in quick mode and a full re-execution
stops at the cell::

    nu.check_less(J_final["L-BFGS"], J_final["Adam"], "L-BFGS reaches a lower J_content than Adam")
    nu.check_ratio(error[0], error[-1], "4x the iterations: the feature error falls more than twofold", above=2)
    nu.check_tie(ssim_max, ssim_avg, "max and average pooling keep the layout equally well", noise=0.02)

==================================  ======================================================================
:func:`check`                       a condition that is not a comparison of two numbers (shapes, ``all``)
:func:`check_less`,                 ``a < b - noise`` / ``a > b + noise``: one is smaller/larger by more
:func:`check_greater`               than the noise
:func:`check_at_most`,              ``value <= limit`` / ``value >= limit``: a bound (an error below a
:func:`check_at_least`              tolerance, a share above a floor)
:func:`check_between`               ``low < value < high``
:func:`check_ratio`                 ``a / b > above`` and/or ``a / b < below`` ("more than twofold")
:func:`check_tie`                   ``|a - b| <= noise``: equal within the noise
:func:`check_order`                 a sequence strictly increasing or decreasing, step by step
==================================  ======================================================================

The comparison helpers take numbers, NumPy arrays (element by element, every element must hold) or
dicts (key by key; the other side a dict with the same keys or one number); a failure lists the
elements that broke the claim. ``what`` is printed as given: keep it free of numbers that change
between quick and full mode.

A check must be able to fail: compare two things that were measured independently, at a threshold
the opposite result would cross. ``nu.check_less(x, x + 1, ...)``, a cached result against its cache or
weights that sum to one by construction test nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Callable, Iterator, Sequence

import numpy as np

__all__ = ["check", "check_at_least", "check_at_most", "check_between", "check_greater", "check_less",
           "check_order", "check_ratio", "check_tie", "compare", "phrase", "say"]

#: How many broken elements a failure message lists before it says "... and N more".
_SHOWN = 6


# --- sentences -------------------------------------------------------------------------------------


def phrase(template: str, /, **values: Any) -> str:
    """``template`` formatted with ``values`` (:meth:`str.format` syntax): the text :func:`say` shows.

    Every ``{name}`` in the template must be given, and every value given must be used (a value
    passed but never said is usually a typo in the template).

    >>> phrase("The error fell from {e0:.3f} to {e1:.3f} ({drop:.0%} less).", e0=0.5, e1=0.125, drop=0.75)
    'The error fell from 0.500 to 0.125 (75% less).'
    """
    import string

    used = {field.split(".")[0].split("[")[0] for _, field, _, _ in string.Formatter().parse(template)
            if field is not None}
    if "" in used or any(name.isdigit() for name in used):
        raise ValueError(f"phrase/say: name every field of the template ({template!r}), e.g. {{steps}}, "
                         "not {} or {0}")
    missing = sorted(used - set(values))
    if missing:
        raise KeyError(f"phrase/say: the template {template!r} needs {', '.join(missing)}; "
                       f"given: {', '.join(sorted(values)) or 'nothing'}")
    unused = sorted(set(values) - used)
    if unused:
        raise ValueError(f"phrase/say: {', '.join(unused)} given but not in the template {template!r}")
    return template.format(**values)


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is installed with Jupyter
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def say(template: str, /, **values: Any) -> None:
    """Show a sentence built from measured values: Markdown in a notebook, plain text elsewhere.

    ``template`` uses :meth:`str.format` syntax with named fields (``{e1:.3f}``, ``{share:.0%}``);
    see :func:`phrase` for the rules. In a Jupyter kernel the text is displayed as
    ``IPython.display.Markdown`` (so LaTeX like ``$J_{{style}}$`` renders; double the braces inside
    the template); anywhere else it is printed.

    >>> say("After {steps} steps $J$ fell to {J:.2f} of its start.", steps=300, J=0.0512)
    After 300 steps $J$ fell to 0.05 of its start.
    """
    text = phrase(template, **values)
    if _in_kernel():
        from IPython.display import Markdown, display

        display(Markdown(text))
    else:
        print(text)


def compare(a: float, b: float, *, noise: float = 0.0, larger: str = "larger", smaller: str = "smaller",
            tie: str = "the same within the noise") -> str:
    """A word for how ``a`` compares with ``b``: ``larger`` if ``a > b + noise``, ``smaller`` if
    ``a < b - noise``, else ``tie``.

    ``noise`` (>= 0, in the units of ``a`` and ``b``) is how much two runs that should agree differ
    (measure it: the same run with another seed); differences within it are not findings.

    >>> compare(0.31, 0.30, noise=0.02)
    'the same within the noise'
    >>> compare(0.41, 0.30, noise=0.02, larger="further from the style", smaller="closer to the style")
    'further from the style'
    """
    a, b, noise = _number(a, "a"), _number(b, "b"), _number(noise, "noise")
    if not noise >= 0:
        raise ValueError(f"compare: noise must be a number >= 0, got {noise!r}")
    if math.isnan(a) or math.isnan(b):
        raise ValueError(f"compare: cannot compare {a!r} with {b!r} (NaN)")
    if a > b + noise:
        return larger
    if a < b - noise:
        return smaller
    return tie


# --- checks ------------------------------------------------------------------------------------------


def _number(value: Any, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}") from None


def _fmt(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    try:
        return f"{float(value):.4g}"
    except (TypeError, ValueError):
        return repr(value)


def _pairs(a: Any, b: Any) -> Iterator[tuple[str | None, Any, Any]]:
    """(label, a_i, b_i) for every element compared: scalars, arrays (broadcast) or dicts (by key)."""
    if isinstance(a, Mapping) or isinstance(b, Mapping):
        keys = list(a) if isinstance(a, Mapping) else list(b)
        for other in (a, b):
            if isinstance(other, Mapping) and set(other) != set(keys):
                raise ValueError(f"the two dicts compared have different keys: {sorted(map(str, keys))} "
                                 f"and {sorted(map(str, other))}")
        if not keys:
            raise ValueError("nothing to check: the dict is empty")
        for key in keys:
            yield str(key), a[key] if isinstance(a, Mapping) else a, b[key] if isinstance(b, Mapping) else b
        return
    a_arr, b_arr = np.asarray(a), np.asarray(b)
    if a_arr.ndim == 0 and b_arr.ndim == 0:
        yield None, a, b
        return
    a_arr, b_arr = np.broadcast_arrays(a_arr, b_arr)
    if a_arr.size == 0:
        raise ValueError("nothing to check: the arrays are empty")
    for index in np.ndindex(a_arr.shape):
        label = str(index[0]) if len(index) == 1 else str(index)
        yield label, a_arr[index], b_arr[index]


def _verdict(what: str, holds: Callable[[float, float], bool], explain: Callable[[float, float], str],
             a: Any, b: Any) -> None:
    if not isinstance(what, str) or not what.strip():
        raise TypeError("say what the check claims: what='the noise start ends further from the photo'")
    broken = []
    for label, x, y in _pairs(a, b):
        x, y = _number(x, "the value checked"), _number(y, "the value compared with")
        if not holds(x, y):
            broken.append(explain(x, y) if label is None else f"[{label}] {explain(x, y)}")
    if broken:
        shown = "; ".join(broken[:_SHOWN]) + (f"; ... and {len(broken) - _SHOWN} more" if len(broken) > _SHOWN else "")
        raise AssertionError(f"the claim does not hold: {what}: {shown}")
    print(f"{what}: True")


def check(condition: Any, what: str, *, detail: str = "") -> None:
    """Check a condition that is not a comparison of two numbers (a shape, an ``all(...)`` over runs).

    Prints ``<what>: True``; raises ``AssertionError`` with ``what`` and ``detail`` (say which values
    broke it) if ``condition`` is false. Prefer the comparison helpers where they fit: their failure
    messages carry the numbers.

    >>> check((1, 64, 64, 3) == (1, 64, 64, 3), "the result has the content image's shape")
    the result has the content image's shape: True
    """
    if not isinstance(what, str) or not what.strip():
        raise TypeError("say what the check claims: what='every result has its content image's shape'")
    if isinstance(condition, np.ndarray) and condition.size != 1:
        raise TypeError(f"check({what!r}): the condition is an array of shape {condition.shape}; "
                        "reduce it with .all() or .any() first")
    if not bool(condition):
        raise AssertionError(f"the claim does not hold: {what}" + (f": {detail}" if detail else ""))
    print(f"{what}: True")


def _noise(noise: Any, where: str) -> float:
    value = _number(noise, f"{where}: noise")
    if not value >= 0:
        raise ValueError(f"{where}: noise must be >= 0, got {noise!r}")
    return value


def check_less(a: Any, b: Any, what: str, *, noise: float = 0.0) -> None:
    """Check that ``a`` is smaller than ``b`` by more than ``noise``: ``a < b - noise``.

    >>> check_less(0.12, 0.30, "L-BFGS reaches a lower J_content than Adam", noise=0.05)
    L-BFGS reaches a lower J_content than Adam: True
    >>> check_less({"starry": 0.2, "scream": 0.6}, 0.5, "every result is closer to the style than halfway")
    Traceback (most recent call last):
    AssertionError: the claim does not hold: every result is closer to the style than halfway: [scream] 0.6 is not ...
    """
    noise = _noise(noise, "check_less")
    by = f" by more than the noise {_fmt(noise)}" if noise else ""
    _verdict(what, lambda x, y: x < y - noise, lambda x, y: f"{_fmt(x)} is not below {_fmt(y)}{by}", a, b)


def check_greater(a: Any, b: Any, what: str, *, noise: float = 0.0) -> None:
    """Check that ``a`` is larger than ``b`` by more than ``noise``: ``a > b + noise``.

    >>> check_greater(0.61, 0.48, "conv2_2 keeps more of the photo's structure (higher SSIM)", noise=0.03)
    conv2_2 keeps more of the photo's structure (higher SSIM): True
    """
    noise = _noise(noise, "check_greater")
    by = f" by more than the noise {_fmt(noise)}" if noise else ""
    _verdict(what, lambda x, y: x > y + noise, lambda x, y: f"{_fmt(x)} is not above {_fmt(y)}{by}", a, b)


def check_at_most(value: Any, limit: Any, what: str) -> None:
    """Check a bound from above: ``value <= limit`` (an error within a tolerance).

    >>> check_at_most(3e-7, 1e-6, "by hand == nu.gram_matrix, relative error <= 1e-6")
    by hand == nu.gram_matrix, relative error <= 1e-6: True
    """
    _verdict(what, lambda x, y: x <= y, lambda x, y: f"{_fmt(x)} is above the limit {_fmt(y)}", value, limit)


def check_at_least(value: Any, limit: Any, what: str) -> None:
    """Check a bound from below: ``value >= limit``.

    >>> check_at_least(0.31, 0.15, "the result keeps the photo's structure (luminance SSIM >= 0.15)")
    the result keeps the photo's structure (luminance SSIM >= 0.15): True
    """
    _verdict(what, lambda x, y: x >= y, lambda x, y: f"{_fmt(x)} is below the limit {_fmt(y)}", value, limit)


def check_between(value: Any, low: float, high: float, what: str) -> None:
    """Check ``low < value < high`` (strictly), e.g. a ratio "within a factor 2" (``0.5 < r < 2``).

    >>> check_between(1.3, 0.5, 2, "balanced: 5 layers within a factor 2 of 2 layers")
    balanced: 5 layers within a factor 2 of 2 layers: True
    """
    low, high = _number(low, "check_between: low"), _number(high, "check_between: high")
    if not low < high:
        raise ValueError(f"check_between: low ({low}) must be below high ({high})")
    _verdict(what, lambda x, _: low < x < high,
             lambda x, _: f"{_fmt(x)} is not between {_fmt(low)} and {_fmt(high)}", value, 0.0)


def check_ratio(a: Any, b: Any, what: str, *, above: float | None = None, below: float | None = None) -> None:
    """Check the ratio ``a / b``: ``a / b > above`` and/or ``a / b < below`` (give at least one).

    "The feature error falls more than twofold" is ``check_ratio(error_first, error_last, ..., above=2)``;
    "changes every layer more than 5x more than the noise" is ``check_ratio(change, noise, ..., above=5)``.
    ``b`` must be positive (a ratio to zero or to a negative number says nothing).

    >>> check_ratio(0.84, 0.31, "4x the iterations: the feature error falls more than twofold", above=2)
    4x the iterations: the feature error falls more than twofold: True
    >>> check_ratio(0.84, 0.61, "the feature error falls more than twofold", above=2)
    Traceback (most recent call last):
    AssertionError: the claim does not hold: the feature error falls more than twofold: 0.84 / 0.61 = 1.377, not above 2
    """
    if above is None and below is None:
        raise ValueError("check_ratio: give above=, below= or both")
    lo = None if above is None else _number(above, "check_ratio: above")
    hi = None if below is None else _number(below, "check_ratio: below")

    def holds(x: float, y: float) -> bool:
        if not y > 0:
            return False
        r = x / y
        return (lo is None or r > lo) and (hi is None or r < hi)

    def explain(x: float, y: float) -> str:
        if not y > 0:
            return f"the ratio's denominator is {_fmt(y)}, not positive"
        r = x / y
        bounds = " and ".join(s for s in (f"above {_fmt(lo)}" if lo is not None else "",
                                          f"below {_fmt(hi)}" if hi is not None else "") if s)
        return f"{_fmt(x)} / {_fmt(y)} = {_fmt(r)}, not {bounds}"

    _verdict(what, holds, explain, a, b)


def check_tie(a: Any, b: Any, what: str, *, noise: float) -> None:
    """Check that ``a`` and ``b`` are equal within ``noise``: ``|a - b| <= noise``.

    Use it for "the same within run-to-run noise" and for "agrees with the library to 1e-4"
    (``noise`` is an absolute difference; for a relative one pass ``noise=1e-4 * abs(b)``).

    >>> check_tie(0.412, 0.405, "max and average pooling keep the layout equally well", noise=0.02)
    max and average pooling keep the layout equally well: True
    """
    noise = _noise(noise, "check_tie")
    _verdict(what, lambda x, y: abs(x - y) <= noise,
             lambda x, y: f"{_fmt(x)} and {_fmt(y)} differ by {_fmt(abs(x - y))}, more than the noise {_fmt(noise)}",
             a, b)


def check_order(values: Sequence[float] | Mapping[Any, float] | np.ndarray, what: str, *,
                increasing: bool = False, noise: float = 0.0) -> None:
    """Check that ``values`` fall (or, ``increasing=True``, rise) at every step, each step larger than
    ``noise``. A dict is read in its order (label -> value).

    >>> check_order({"w_TV 0": 9.1, "w_TV 1e-3": 4.2, "w_TV 1e-2": 0.8}, "larger w_TV -> lower J_TV")
    larger w_TV -> lower J_TV: True
    >>> check_order([3.0, 2.0, 2.5], "SSIM falls with depth")
    Traceback (most recent call last):
    AssertionError: the claim does not hold: SSIM falls with depth: [1 -> 2] 2 then 2.5 does not fall
    """
    noise = _noise(noise, "check_order")
    if isinstance(values, Mapping):
        labels, numbers = [str(k) for k in values], list(values.values())
    else:
        numbers = list(np.asarray(values, dtype=float).ravel())
        labels = [str(i) for i in range(len(numbers))]
    if len(numbers) < 2:
        raise ValueError(f"check_order({what!r}): an order needs at least two values, got {len(numbers)}")
    steps = {f"{p} -> {q}": (x, y) for p, q, x, y in zip(labels, labels[1:], numbers, numbers[1:])}
    word = "rise" if increasing else "fall"
    by = f" by more than the noise {_fmt(noise)}" if noise else ""
    _verdict(what,
             (lambda x, y: y > x + noise) if increasing else (lambda x, y: y < x - noise),
             lambda x, y: f"{_fmt(x)} then {_fmt(y)} does not {word}{by}",
             {k: v[0] for k, v in steps.items()}, {k: v[1] for k, v in steps.items()})
