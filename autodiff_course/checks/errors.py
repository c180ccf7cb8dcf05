"""Errors of the checkers themselves (never a student's mistake: those are results, not exceptions)."""

from __future__ import annotations


class InternalCheckError(RuntimeError):
    """The checker cannot give a verdict it can stand behind: the engine and PyTorch disagree about a
    reference
    derivative, or an exercise spec is unusable. A student is never blamed for one of these."""


class MalformedRawError(ValueError):
    """Collected data that does not have the shape ``collect`` produces (it crossed a process boundary, so it
    may have been damaged or forged). ``judge`` turns it into an ``error`` result."""
