"""The submission secret each feedback page is released under.

`nbgrader release_feedback` copies `feedback/<student>/<assignment>/<notebook>.html` into the exchange as
``md5(secret + notebook id).html``, the secret read from the `submission_secret.txt` beside the page, and
`nbgrader fetch_feedback` finds a student's page by the secret `nbgrader submit` left in that student's cache.
Two pages released under one secret land in one file: the last one copied is what both students fetch.

So the secret a page is released under is:

- the hand-in's own `submission_secret.txt` (written by `nbgrader submit`; hex digits), when no other hand-in
  of the course would be released under the same name; its student can then fetch the page;
- otherwise (no secret, as with folders placed by hand or downloaded from an LMS; a malformed one; one two
  hand-ins share) a keyed hash of the course secret with the assignment and the student: different for every
  student and assignment, the same on every run, and unknown to students, so nobody can compute where another
  student's page lies. `fetch_feedback` cannot find such a page (the student's cache has no such secret):
  the instructor hands it over from `graded/feedback/`.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

__all__ = ["ReleaseNames", "made_secret", "own_secret", "release_names"]

# nbgrader writes secrets.token_hex(64); older or other exchanges may write shorter hex.
_HEX_SECRET = re.compile(r"[0-9a-fA-F]{16,200}")


def own_secret(text: str) -> str:
    """`text` (a hand-in's submission_secret.txt, as read) if it is a secret as nbgrader writes one, else "".
    Kept byte for byte: `fetch_feedback` hashes the student's copy of the file as it is."""
    return text if _HEX_SECRET.fullmatch(text.strip()) else ""


def made_secret(course_key: str, assignment: str, student: str) -> str:
    """The secret of a hand-in without a usable one of its own: a keyed hash (the course secret) of the
    assignment and the student, so it differs for every pair and is stable across runs."""
    message = "\0".join(("autodiff-course feedback secret", assignment, student)).encode("utf-8")
    return hmac.new(course_key.encode("ascii"), message, hashlib.sha256).hexdigest()


def _release_name(secret: str, notebook_id: str) -> str:
    # nbgrader.utils.notebook_hash(secret=..., notebook_id=...): the exchange's file name, without ".html".
    return hashlib.md5((secret + notebook_id).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ReleaseNames:
    """The secret to write beside each feedback page, keyed by (student, assignment), and one line for the
    instructor per group of hand-ins whose own secrets would have shared a released file."""

    secrets: dict[tuple[str, str], str]
    problems: list[str]


def release_names(results: list[dict], notebooks: dict[str, str], course_key: str) -> ReleaseNames:
    """The secrets of the handed-in `results` (stored results: ``student``, ``assignment``,
    ``submission_secret``, ``handed_in``); `notebooks` maps an assignment to its notebook's id (its file name
    without ``.ipynb``). A hand-in's own secret is used unless another hand-in of the course would be released
    under the same exchange name (md5 of secret and notebook id; the exchange's feedback folder is one per
    course): then every one of them gets a made secret."""
    handed = [r for r in results if r.get("handed_in", True) and r["assignment"] in notebooks]
    by_name: dict[str, list[tuple[str, str]]] = {}
    for result in handed:
        own = own_secret(result.get("submission_secret") or "")
        if own:
            key = (result["student"], result["assignment"])
            by_name.setdefault(_release_name(own, notebooks[result["assignment"]]), []).append(key)
    shared = {key for keys in by_name.values() if len(keys) > 1 for key in keys}
    problems = [
        f"{', '.join(f'{s}/{a}' for s, a in sorted(keys))}: the same submission_secret.txt, so their feedback "
        "would be released into one file; each is released under a secret of the course's making instead "
        "(nbgrader fetch_feedback will not find it: hand them their pages from the feedback folder)"
        for keys in sorted(by_name.values()) if len(keys) > 1]
    secrets = {}
    for result in handed:
        key = (result["student"], result["assignment"])
        own = own_secret(result.get("submission_secret") or "")
        secrets[key] = own if own and key not in shared else made_secret(course_key, result["assignment"],
                                                                          result["student"])
    return ReleaseNames(secrets, problems)
