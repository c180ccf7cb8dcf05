"""Check results as words and HTML. Rendering only: a result's data is decided by
``autodiff_course.checks``."""

from .html import result_html
from .text import result_text

__all__ = ["result_html", "result_text"]
