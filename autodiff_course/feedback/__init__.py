"""Check results as words and HTML. Rendering only: a result's data is decided by
``autodiff_course.checks``. Importing this package registers the renderers that ``CheckResult`` uses."""

from ..checks.result import RENDERERS
from .html import result_html
from .text import result_text

RENDERERS["text"] = result_text
RENDERERS["html"] = result_html

__all__ = ["result_html", "result_text"]
