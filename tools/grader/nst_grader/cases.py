"""Exercises, assignments and hidden cases: the framework (computed by the supervisor only).

The assignments themselves (their exercises, case makers, hints and helper sources) are modules of
:mod:`nst_grader.assignments`; this module holds what they are made of.

Each exercise's hidden cases are drawn from a NumPy generator seeded with the run's secret seed,
the student's id and the exercise's id: two students, or two runs, never get the same inputs, so a
value computed offline and written into a notebook is worth nothing. The expected values and the
values of the classic mistakes are computed in the supervisor, in float64, and never leave it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np


@dataclass(frozen=True)
class Case:
    """One hidden test: ``function(*args, **kwargs)`` should equal ``expected``."""

    kind: str  # for the student: what sort of input, no shape and no number
    detail: str  # for the instructor: shapes and parameters
    args: tuple
    kwargs: dict
    expected: np.ndarray
    factors: dict[str, float] = field(default_factory=dict)  # named size factors, to explain a wrong value
    #: values of the classic wrong answers: scalars, or arrays of the expected value's shape (a mistake of
    #: another shape is told by the shape check, not here)
    mistakes: dict[str, float | np.ndarray] = field(default_factory=dict)
    gram_of_width: int | None = None  # gram_matrix: the n_H*n_W of A, to recognise A^T A

    def __post_init__(self) -> None:  # a "mistake" that gives the right value on this input is none
        right = np.asarray(self.expected, dtype=np.float64)
        for name, value in list(self.mistakes.items()):
            value = np.asarray(value, dtype=np.float64)
            if value.shape != right.shape:
                raise ValueError(f"mistake {name!r} has the shape {value.shape}, the expected value {right.shape}")
            atol = 1e-8 if right.ndim == 0 else 1e-6 * float(np.max(np.abs(right), initial=0.0))  # as compare's
            if np.allclose(value, right, rtol=1e-3, atol=atol):
                del self.mistakes[name]


@dataclass(frozen=True)
class Exercise:
    grade_id: str  # nbgrader grade_id of the solution cell (the test cell's is "test_" + grade_id)
    function: str
    points: int
    make_cases: Callable[[np.random.Generator], list[Case]]
    needs: tuple[str, ...] = ()  # other exercises' functions it may call: given as correct versions
    rtol: float = 1e-4  # relative tolerance of the comparison with the float64 expected value


@dataclass(frozen=True)
class Assignment:
    """One graded lesson: see :mod:`nst_grader.assignments` for how to add one."""

    id: str  # the nbgrader assignment name: the notebook's stem, e.g. "05_cost_functions"
    notebook: str  # the lesson's notebook file name in notebooks/, e.g. "05_cost_functions.ipynb"
    title: str  # for reports and the gradebook's header
    exercises: tuple[Exercise, ...]  # in notebook order
    needs_tensorflow: bool = True  # False: its sandbox imports NumPy only (unless the cells import more)
    helpers: Mapping[str, str] = field(default_factory=dict)  # function -> correct source, for `needs`
    helper_imports: str = ""  # source run before the helpers (e.g. "import tensorflow as tf\n")
    hints: Mapping[str, str] = field(default_factory=dict)  # mistake name (Case.mistakes) -> hint text
    #: parts of ``nst_utils`` that are the references of these exercises, blocked during every exercise's
    #: hidden tests: ``{"nst_utils.module": (name, ...)}`` (see :mod:`nst_grader.assignments._blocking`)
    blocked: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def grade_ids(self) -> tuple[str, ...]:
        return tuple(e.grade_id for e in self.exercises)

    @property
    def points(self) -> int:
        return sum(e.points for e in self.exercises)

    def exercise(self, grade_id: str) -> Exercise:
        return next(e for e in self.exercises if e.grade_id == grade_id)

    def helpers_for(self, ex: Exercise) -> tuple[str, list[str]]:
        """Source run after the notebook's cells and before ``ex``'s hidden tests: the blocking of
        :attr:`blocked` (if any), then the correct versions of the functions ``ex`` may call; and the
        names it defines that replace the notebook's."""
        source, names = "", []
        if self.blocked:
            from nst_grader.assignments._blocking import BLOCKING, blocking_source

            source, names = blocking_source(self.blocked), [BLOCKING]
        if ex.needs:
            source += self.helper_imports + "".join(self.helpers[n] for n in ex.needs)
            names += list(ex.needs)
        return source, names


@dataclass(frozen=True)
class Scalar:
    """A scalar input given to the student's function as a Python float, a NumPy float32 or a tensor."""

    value: float
    form: str  # "float", "np_float32" or "tensor"

    def __float__(self) -> float:
        return self.value


@dataclass(frozen=True)
class NumPyArray:
    """An array input given as a NumPy array of ``dtype`` (plain ``np.ndarray`` inputs become float32
    tensors in TensorFlow assignments and float32 arrays in NumPy-only ones)."""

    value: np.ndarray
    dtype: str = "float64"


def cases_for(ex: Exercise, seed: int, student: str) -> list[Case]:
    """The hidden cases of ``ex`` for one student in one run (same seed and student: same cases)."""
    key = student.encode("utf-8", "surrogateescape")
    rng = np.random.default_rng([seed, zlib.crc32(key), zlib.crc32(ex.grade_id.encode())])
    return ex.make_cases(rng)


def encode(value: Any, tensors: bool = True) -> dict:
    """An input in the JSON form the sandbox's child decodes.

    ``np.ndarray``: a float32 tensor (``tensors``) or a float32 NumPy array; :class:`NumPyArray`: a NumPy
    array of its dtype; :class:`Scalar`: its form; ``int``/``bool``/``str``/``None``: as they are;
    ``float``: a Python float; ``list``/``tuple``/``dict``: element by element."""
    if isinstance(value, np.ndarray):
        if tensors:
            return {"t": "array", "shape": list(value.shape), "data": value.astype(np.float64).ravel().tolist()}
        value = NumPyArray(value, "float32")
    if isinstance(value, NumPyArray):
        arr = np.asarray(value.value)
        data = arr.astype(np.int64 if np.dtype(value.dtype).kind in "iu" else np.float64).ravel().tolist()
        return {"t": "ndarray", "dtype": value.dtype, "shape": list(arr.shape), "data": data}
    if isinstance(value, Scalar):
        return {"t": value.form, "v": value.value}
    if isinstance(value, dict):
        return {"t": "dict", "items": [[str(k), encode(v, tensors)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return {"t": "list" if isinstance(value, list) else "tuple", "items": [encode(v, tensors) for v in value]}
    if isinstance(value, (bool, np.bool_)):
        return {"t": "bool", "v": bool(value)}
    if isinstance(value, (int, np.integer)):
        return {"t": "int", "v": int(value)}
    if isinstance(value, (float, np.floating)):
        return {"t": "float", "v": float(value)}
    if isinstance(value, str):
        return {"t": "str", "v": value}
    if value is None:
        return {"t": "none"}
    raise TypeError(f"cannot encode {type(value).__name__}")


def encode_case(case: Case, tensors: bool = True) -> dict:
    return {"args": [encode(a, tensors) for a in case.args],
            "kwargs": {k: encode(v, tensors) for k, v in case.kwargs.items()}}
