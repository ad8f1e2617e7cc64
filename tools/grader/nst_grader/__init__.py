"""nst-grader: hidden-test grading of the neural style transfer lessons' exercises, in a sandbox.

Modules, by concern:

* :mod:`~nst_grader.notebook`: reading submitted notebooks without trusting them;
* :mod:`~nst_grader.handout`: the student versions of the source notebooks;
* :mod:`~nst_grader.cases`, :mod:`~nst_grader.assignments` and :mod:`~nst_grader.reference`: what an
  assignment is, the registry of graded lessons (one module each), their hidden inputs and float64 NumPy
  reference formulas (supervisor only);
* :mod:`~nst_grader.zygote`: the process inside the sandbox that runs the student's code;
* :mod:`~nst_grader.sandbox`: bubblewrap, limits, memory watchdog, teardown;
* :mod:`~nst_grader.runner` and :mod:`~nst_grader.scoring`: one file, its exercises and their scores;
* :mod:`~nst_grader.discover`, :mod:`~nst_grader.supervisor`, :mod:`~nst_grader.reports`: a batch
  (one sandbox per student), its student ids, its reports, gradebook and LMS files, shards and merging;
* :mod:`~nst_grader.cli`: ``python -m nst_grader``.

The grader never imports TensorFlow or ``nst_utils``; only the sandboxed processes do.
"""

__version__ = "1.0.0"
