"""The registry of graded assignments: every module of this package is one graded lesson.

**How to add an assignment** (one module per lesson, e.g. ``assignments/receptive_field.py``):

1. Write the exercises' hidden-case makers: ``make_cases(rng: np.random.Generator) -> list[Case]``, each
   :class:`~nst_grader.cases.Case` with ``kind`` (for the student, no number), ``detail`` (for the
   instructor), ``args``/``kwargs`` (the inputs) and ``expected`` (float64, computed here with NumPy,
   never with TensorFlow or ``nst_utils``), optionally ``mistakes`` (``{name: value}`` of the classic
   wrong answers: scalars, or arrays of the expected value's shape) and ``factors`` (``{name: factor}``
   to recognise a wrong normalisation of a scalar).
   Inputs are encoded by :func:`~nst_grader.cases.encode`: a plain ``np.ndarray`` arrives as a float32
   ``tf.constant`` (``needs_tensorflow=True``) or a float32 NumPy array (``False``); wrap it in
   :class:`~nst_grader.cases.NumPyArray` (``NumPyArray(a, "float64")``, ``"int64"``) to choose; ``int``,
   ``float``, ``bool``, ``str``, ``None``, ``list``, ``tuple``, ``dict`` arrive as they are;
   :class:`~nst_grader.cases.Scalar` gives a float as ``"float"``, ``"np_float32"`` or ``"tensor"``.
   The student's return value is read with ``np.asarray(value, dtype=np.float64)`` (at most 100,000
   numbers) and compared with ``expected`` (``np.allclose`` with the exercise's ``rtol``).
2. Export, at module level, ``ASSIGNMENT = Assignment(...)`` (:class:`~nst_grader.cases.Assignment`):

   * ``id``: the nbgrader assignment name = the notebook's stem, e.g. ``"01_cnn_feature_maps"``;
   * ``notebook``: ``"01_cnn_feature_maps.ipynb"`` (in ``notebooks/``);
   * ``title``: e.g. ``"Lesson 01: receptive fields"``;
   * ``exercises``: ``(Exercise(grade_id, function, points, make_cases, needs=(), rtol=1e-4), ...)`` in
     notebook order. ``grade_id`` is the nbgrader ``grade_id`` of the solution cell; the test cell's is
     ``"test_" + grade_id``. grade_ids must be unique across **all** assignments (the registry checks);
   * ``needs_tensorflow``: ``False`` for NumPy-only exercises: the sandbox then imports only NumPy
     (plus what the notebook's cells up to the exercise's test cell import: keep ``import tensorflow``
     and ``import nst_utils`` out of those cells, or they are paid for all the same);
   * ``helpers``: ``{function: source}``: correct versions of functions that later exercises call
     (listed in their ``needs``), so that one mistake costs points once; ``helper_imports``: source run
     before them (``"import tensorflow as tf\\n"``);
   * ``hints``: ``{mistake name: hint text}`` for the names used in the cases' ``mistakes``.
   * ``blocked``: ``{"nst_utils.module": (name, ...)}``: the library's references of these exercises,
     replaced by functions that raise during every exercise's hidden tests (see ``_blocking``).
3. Nothing else: this package imports every module in it (no list to edit). The notebook's cells need
   nbgrader metadata (``solution``/``grade``/``grade_id``/``points``; the points must equal the
   exercise's) and the notebook-level metadata ``{"nst_grader": {"assignment": id}}`` (``course.py
   student`` writes it into every student version; it is how ``grade`` recognises the assignment, with
   the cells' grade_ids as a fallback). Tests go into ``tests/grader/`` (correct, mistaken, hostile).

The grader (never the sandbox) imports this package: float64 references and hidden-case makers may use
NumPy only (no TensorFlow, no ``nst_utils``: the supervisor must stay small and fast).
"""

from __future__ import annotations

import importlib
import pkgutil

from nst_grader.cases import Assignment, Exercise

#: assignment id -> assignment, in the order of the lessons
ASSIGNMENTS: dict[str, Assignment] = {}
#: grade_id -> exercise, across every assignment
EXERCISES: dict[str, Exercise] = {}
#: grade_id -> the id of its assignment
ASSIGNMENT_OF: dict[str, str] = {}
#: the notebook-level metadata key that names a notebook's assignment: nb["metadata"]["nst_grader"]["assignment"]
METADATA_KEY = "nst_grader"


def _load() -> None:
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        a = getattr(module, "ASSIGNMENT", None)
        if not isinstance(a, Assignment):
            raise ImportError(f"{module.__name__} has no ASSIGNMENT = Assignment(...); see nst_grader.assignments")
        found.append(a)
    for a in sorted(found, key=lambda a: a.id):
        if a.id in ASSIGNMENTS:
            raise ImportError(f"two assignments with the id {a.id!r}")
        for ex in a.exercises:
            if ex.grade_id in EXERCISES:
                raise ImportError(f"grade_id {ex.grade_id!r} is in {ASSIGNMENT_OF[ex.grade_id]} and {a.id}: "
                                  "grade_ids must be unique across assignments")
            missing = [n for n in ex.needs if n not in a.helpers]
            if missing:
                raise ImportError(f"{a.id}: {ex.grade_id} needs {missing}, which have no helper source")
            EXERCISES[ex.grade_id] = ex
            ASSIGNMENT_OF[ex.grade_id] = a.id
        ASSIGNMENTS[a.id] = a


_load()


def assignment_of(grade_id: str) -> Assignment:
    return ASSIGNMENTS[ASSIGNMENT_OF[grade_id]]
