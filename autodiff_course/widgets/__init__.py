"""Widgets that show the engine's graphs in a notebook (they read the engine; nothing imports them back)."""

from autodiff_course.widgets.stepper import GraphStepper

__all__ = ["GraphStepper"]
