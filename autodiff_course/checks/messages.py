"""Words a student reads that are not tied to one mistake's numbers: one table, so each is reviewed once.

The diagnoses of single mistakes (a missing path, a sign, a product-rule slip) are written where the
mistake is recognised, from the student's own names; this table holds the sentences every kind shares:
the summary of an answer wrong only at hidden points, the unanswered state, the words of each reveal
level and the stand-in for a problem of the grader's own. ``tests/checks/test_check_messages.py`` renders
every entry and reads them for jargon.
"""

from __future__ import annotations

#: Sentence templates by key (``str.format`` fields in braces).
NOTES: dict[str, str] = {
    "hidden-only": "Right at {visible}, wrong at {wrong}. The hidden "
                   "points are kept private so they test your method rather than your numbers; what follows "
                   "describes the mistake without them.",
    "unanswered": "Not answered yet: {what} is still the stub from the released notebook. Write your answer "
                  "in its place and run this cell again.",
    "unanswered-variables": "Not answered yet: {what} still {verb} the value it had in the released notebook "
                            "(None). Write your answer and run this cell again.",
    "verdict-only": "Not yet right. This check tells you only whether your answer is right; look again at "
                    "each step.",
    "culprit-only": "Not yet right. Start with {culprit}: it is the first value that is wrong.",
    "checker-fault": "This exercise could not be checked because of a problem on the grader's side, not in "
                     "your answer. Your instructor has the details.",
    "ladder": "(After {runs} more unsuccessful run{s} of this cell you will see {more}.)",
}

#: What each reveal level adds, in the words the ladder note uses.
LEVEL_WORDS = {
    "culprit": "which value to fix first",
    "hint": "a hint about the rule",
    "solution": "the corrected line",
}


def note(key: str, **fields) -> str:
    """The sentence ``key`` of ``NOTES`` with ``fields`` filled in. Raises KeyError for an unknown key."""
    return NOTES[key].format(**fields)
