"""The style-transfer studio (lesson 10): an app made of ipywidgets around ``nst_utils.style_transfer``.

An optional part of the project (``pip install -e .[studio]``): the lessons' library, ``nst_utils``,
does not need it. ``from nst_studio import Studio`` in a notebook; ``python -m nst_studio`` (or
``python3 course.py studio``) serves the app on its own web page with voila.

Modules: ``app`` (the :class:`Studio`), ``picker`` (an image input), ``controls`` (the settings),
``modes`` (how an image is made), ``helpers`` (pure functions), ``serve`` (the web page).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Studio"]


def __getattr__(name: str) -> Any:
    # Lazy: `python -m nst_studio` starts the web server without importing TensorFlow.
    if name == "Studio":
        from nst_studio.app import Studio

        return Studio
    raise AttributeError(f"module 'nst_studio' has no attribute {name!r}")
