"""Blocking named parts of ``nst_utils`` during one assignment's hidden tests (not an assignment itself).

The sandbox replaces whole modules of ``nst_utils`` by raising stubs (``isolation.BLOCKED_MODULES``:
``costs`` and ``loss``, lesson 05's references). Other lessons' references live in modules that the
library itself uses when it is imported (``nst_utils.statistics`` is read by the settings at import
time), so a whole-module stub would break ``import nst_utils`` in every cell before the exercise.
For those, :func:`blocking_source` gives helper source that the sandbox's child runs after the
notebook's cells and before the hidden tests (the ``helpers``/``needs`` mechanism of
:class:`~nst_grader.cases.Assignment`): it replaces the named functions, and every method of the named
classes, in their module *and* in the ``nst_utils`` namespace by functions that raise
``ReferenceImplementationBlocked`` (the name :mod:`nst_grader.scoring` recognises). A class kept in a
variable, an instance made in an earlier cell or a bound method taken from one all reach the
replaced methods or the replaced module globals, so they raise too.

What it does not stop: reading the library's source file and running a copy of it (the whole-module
stubs do, by replacing the file). Use a whole-module stub where the library can be imported without
the module.
"""

from __future__ import annotations

from typing import Mapping

#: the name under which an exercise ``needs`` the blocking (a helper must define a function of that name)
BLOCKING = "nst_grader_blocks_references"


def blocking_source(targets: Mapping[str, tuple[str, ...]]) -> str:
    """Helper source blocking ``{"nst_utils.module": (name, ...)}``; defines :data:`BLOCKING` (a no-op)."""
    lines = [
        "import importlib as _importlib",
        "import inspect as _inspect",
        "class ReferenceImplementationBlocked(RuntimeError):",
        "    pass",
        "def _nst_grader_blocker(qualified, original):",
        "    def blocked(*args, **kwargs):",
        "        raise ReferenceImplementationBlocked(qualified + \" is the library's reference implementation, \"",
        "            'which graded exercises may not use: write the computation yourself')",
        "    blocked.__name__ = qualified.rsplit('.', 1)[-1]",
        "    try:  # the original's signature: Keras reads a layer's __init__ parameters before calling it",
        "        blocked.__signature__ = _inspect.signature(original)",
        "    except (TypeError, ValueError):",
        "        pass",
        "    return blocked",
        "def _nst_grader_block(module_name, names):",
        "    try:",
        "        module = _importlib.import_module(module_name)",
        "        package = _importlib.import_module('nst_utils')",
        "    except ImportError:  # no library in this environment: nothing to block",
        "        return",
        "    for name in names:",
        "        target = getattr(module, name)",
        "        qualified = module_name + '.' + name",
        "        if _inspect.isclass(target):",
        "            for attr, value in list(vars(target).items()):",
        "                if callable(value) or isinstance(value, (staticmethod, classmethod, property)):",
        "                    if attr in ('__class__', '__dict__', '__weakref__', '__doc__', '__module__'):",
        "                        continue",
        "                    original = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value",
        "                    setattr(target, attr, _nst_grader_blocker(qualified + '.' + attr, original))",
        "            continue",
        "        blocker = _nst_grader_blocker(qualified, target)",
        "        setattr(module, name, blocker)",
        "        if getattr(package, name, None) is target:",
        "            setattr(package, name, blocker)",
    ]
    for module, names in targets.items():
        lines.append(f"_nst_grader_block({module!r}, {tuple(names)!r})")
    lines += [f"def {BLOCKING}():", "    return None", ""]
    return "\n".join(lines)
