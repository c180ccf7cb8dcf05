"""Views a failed check may offer beside its feedback, registered by the layer that draws them.

The widgets register the compare stepper here (``widgets/__init__.py``); the course's ``grade()`` asks for a
view through ``check_view`` and so never imports the widgets. A view is any object with ``to_html()``; it is
an extra: a view that cannot be built is no view, and the feedback and the score never depend on one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["CHECK_VIEWS", "check_view"]

#: name -> builder(result, raw, spec) returning a view or None; asked in the order registered.
CHECK_VIEWS: dict[str, Callable[[Any, Mapping, Mapping], Any]] = {}


def check_view(result: Any, raw: Mapping, spec: Mapping) -> Any:
    """The first registered view of this check (`result`, what `checks.collect` gathered, the exercise), or
    None."""
    for build in CHECK_VIEWS.values():
        view = build(result, raw, spec)
        if view is not None:
            return view
    return None
