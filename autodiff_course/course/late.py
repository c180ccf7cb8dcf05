"""Late work: an assignment's due date, its penalty policy and per-student extensions, as nbgrader sees them.

Times are naive UTC datetimes, as nbgrader's gradebook stores them (`nbgrader.utils.parse_utc`); a hand-in is
timed by the `timestamp.txt` nbgrader's exchange writes next to it. A penalty is a share of the assignment's
points for every started hour or day past the due date (plus the student's extension), capped; nbgrader keeps
it apart from the raw score (`late_submission_penalty`) and so do we.
"""
from __future__ import annotations

import errno
import math
import os
import re
import stat
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from .config import ConfigError

__all__ = ["MISSING_TIMESTAMP", "Lateness", "LatePolicy", "parse_due", "parse_time", "read_timestamp",
           "timestamp_problem"]

#: What `[late] missing_timestamp` may say a hand-in with no readable time is, when a due date is set.
MISSING_TIMESTAMP = ("on-time", "late")

_UNITS = {"none": None, "hour": 3600.0, "day": 86400.0}
_NUMERIC_OFFSET = re.compile(r"^(?P<time>.*\d)\s+(?P<sign>[+-])(?P<hh>\d\d):?(?P<mm>\d\d)$")


def parse_time(value) -> datetime:
    """A TOML datetime, date or string ("2030-01-31 23:59", "...T23:59:00Z", "... UTC", "... +0100") as a naive
    UTC datetime; a date alone means its last second (23:59:59). Raises ValueError for text that is not a
    time."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time(23, 59, 59))
    elif isinstance(value, str):
        text = value.strip()
        offset = _NUMERIC_OFFSET.match(text)
        if offset:
            # nbgrader's parse_utc reads " +0100" as 100 seconds; the instructor means one hour.
            text = f"{offset['time']}{offset['sign']}{offset['hh']}:{offset['mm']}"
        if re.fullmatch(r"\d{4}-\d\d-\d\d", text):
            return parse_time(date.fromisoformat(text))
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            from nbgrader.utils import parse_utc

            # nbgrader's own reader for its timestamp.txt ("... 10:30:15.123456 UTC", zone names).
            return parse_utc(text)
    else:
        raise ValueError(f"{value!r} is not a date and time")
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


#: The written forms a `due` may take: ISO 8601 (year first, so it cannot be misread), with an optional time,
#: seconds, fraction and zone (Z, UTC, +01:00, +0100); no zone means UTC.
_ISO_DUE = re.compile(r"^(?P<date>\d{4}-\d\d-\d\d)(?:[T ](?P<time>\d\d:\d\d(?::\d\d(?:\.\d{1,6})?)?))?"
                      r"(?:\s*(?P<zone>Z|UTC|[+-]\d\d:?\d\d))?$")
DUE_EXAMPLE = 'due = "2026-11-30 23:59" (UTC), "2026-11-30T23:59:00+01:00" or a TOML date-time 2026-11-30T23:59:00Z'


def parse_due(value) -> datetime:
    """An assignment's due date (a config's `due`) as a naive UTC datetime: a TOML datetime or date, or an
    ISO 8601 string (`_ISO_DUE`). Raises ValueError, with an example of the right form, for anything else:
    "01/02/2026" is January 2 to some and February 1 to others, so no such form is guessed."""
    if not isinstance(value, str):
        if isinstance(value, (datetime, date)):
            return parse_time(value)
        raise ValueError(f"{value!r} is not a date and time; write it as {DUE_EXAMPLE}")
    match = _ISO_DUE.match(value.strip())
    if match is None:
        raise ValueError(f"{value!r} is not an ISO 8601 date and time (year-month-day); write it as {DUE_EXAMPLE}")
    zone = match["zone"] or ""
    if zone in ("Z", "UTC"):
        zone = "+00:00"
    elif zone and ":" not in zone:
        zone = f"{zone[:3]}:{zone[3:]}"
    try:
        if match["time"] is None:
            return parse_time(date.fromisoformat(match["date"]))
        return parse_time(f"{match['date']}T{match['time']}{zone}")
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a date and time ({exc}); write it as {DUE_EXAMPLE}") from None


def read_timestamp(folder: str | Path) -> datetime | None:
    """The hand-in time recorded in `folder/timestamp.txt` (nbgrader's exchange writes it), or None if there is
    no such file or it is empty. Raises ValueError naming the file when it holds no time."""
    path = Path(folder) / "timestamp.txt"
    try:
        # A hand-in folder is the student's: no link is followed, a FIFO cannot block, and no more is read
        # than a time can take.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except OSError as exc:
        reason = "a symbolic link" if exc.errno == errno.ELOOP else exc.strerror
        raise ValueError(f"{path}: not read ({reason})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"{path}: not a plain file; not read")
        text = os.read(fd, 200).decode("utf-8", errors="replace").strip()
    finally:
        os.close(fd)
    if not text:
        return None
    try:
        return parse_time(text)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"{path}: not a time ({exc})") from None


def timestamp_problem(folder: str | Path) -> tuple[datetime | None, str | None]:
    """(the hand-in time of `folder`, None) or (None, why there is none, in words that name no path): no
    timestamp.txt, an empty one, one that is not a plain file or holds no time. The time is the student's
    (nbgrader's exchange writes it, but the folder is theirs), so only its absence is flagged here."""
    try:
        moment = read_timestamp(folder)
    except ValueError as exc:
        # Fixed words: the file's text is the student's and is not repeated.
        text = str(exc).rpartition("timestamp.txt: ")[2]
        reason = ("is not a plain file" if text.startswith("not a plain")
                  else "holds no time" if text.startswith("not a time") else "could not be read")
        return None, f"timestamp.txt {reason}"
    if moment is not None:
        return moment, None
    path = Path(folder) / "timestamp.txt"
    return None, "timestamp.txt is empty" if path.is_file() and not path.is_symlink() else "no timestamp.txt"


@dataclass(frozen=True)
class Lateness:
    """How late one hand-in was and what it costs."""

    due: datetime | None
    timestamp: datetime | None
    seconds_late: float = 0.0
    penalty: float = 0.0
    #: Why a hand-in with a due date has no usable time ("no timestamp.txt"), else None.
    unknown: str | None = None
    #: With `unknown`: what the policy made of it, "on-time" or "late" (the capped penalty).
    treated_as: str | None = None

    @property
    def late(self) -> bool:
        return self.seconds_late > 0 or self.treated_as == "late"

    def describe(self) -> str:
        """'' when on time, else e.g. 'handed in 1 day 2 h late (due 2030-01-31 23:59 UTC): -1.5 points', or for
        a hand-in without a time 'no readable submission time (no timestamp.txt): treated as on time'."""
        if self.unknown is not None:
            cost = f": -{self.penalty:g} points" if self.penalty else ""
            treated = "as late" if self.treated_as == "late" else "as on time"
            return f"no readable submission time ({self.unknown}): treated {treated}{cost}"
        if not self.late:
            return ""
        hours = self.seconds_late / 3600
        span = f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"
        cost = f": -{self.penalty:g} points" if self.penalty else " (no penalty)"
        return f"handed in {span} late (due {self.due:%Y-%m-%d %H:%M} UTC){cost}"


@dataclass(frozen=True)
class LatePolicy:
    """An assignment's due date and late penalty (from its grader config's `due` and `[late]`)."""

    due: datetime | None = None
    per: str = "none"
    penalty: float = 0.0
    cap: float = 100.0
    extensions: dict[str, float] = field(default_factory=dict)
    #: A hand-in with no readable time: "on-time" (nbgrader's behaviour) or "late" (the capped penalty);
    #: either way it is flagged.
    missing_timestamp: str = "on-time"

    @classmethod
    def from_config(cls, config, *, due: datetime | None = None) -> LatePolicy:
        """The policy of `config` (an AssignmentConfig); `due` (e.g. the gradebook's) is used when the config
        sets none. Raises `ConfigError` naming the config file and the field."""
        path = config.path
        problems: list[str] = []
        raw_due = config.due
        if raw_due is not None:
            try:
                due = parse_due(raw_due)
            except (ValueError, OverflowError) as exc:
                problems.append(f"`due`: {exc}")
        late = dict(config.late or {})
        per = late.pop("per", "day" if late.get("penalty") else "none")
        if per not in _UNITS:
            problems.append(f"[late] `per`: {per!r}; expected one of {', '.join(_UNITS)}")
        numbers = {}
        for key, default in (("penalty", 0.0), ("cap", 100.0)):
            value = late.pop(key, default)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
                problems.append(f"[late] `{key}`: must be a percentage 0..100, got {value!r}")
                value = default
            numbers[key] = float(value)
        extensions = late.pop("extensions", {})
        if not isinstance(extensions, dict) or not all(
                isinstance(h, (int, float)) and not isinstance(h, bool) and h >= 0 for h in extensions.values()):
            problems.append(f"[late.extensions]: each entry is `student = hours` (a number >= 0), got {extensions!r}")
            extensions = {}
        missing = late.pop("missing_timestamp", "on-time")
        if missing not in MISSING_TIMESTAMP:
            problems.append(f"[late] `missing_timestamp`: {missing!r}; expected "
                            + " or ".join(map(repr, MISSING_TIMESTAMP)))
        if late:
            from .config import unknown_keys

            problems += unknown_keys(late, ("per", "penalty", "cap", "extensions", "missing_timestamp"), "[late]")
        if problems:
            raise ConfigError("\n".join(f"{path}: {problem}" for problem in problems))
        return cls(due=due, per=per, penalty=numbers["penalty"], cap=numbers["cap"],
                   extensions={str(k): float(v) for k, v in extensions.items()}, missing_timestamp=missing)

    def unknown_students(self, path, known) -> list[str]:
        """One line per `[late.extensions]` entry of the config at `path` naming none of the `known` students
        (with the closest one): such an extension would silently do nothing. [] when `known` is empty (no
        roster and no hand-ins yet: nothing to compare with)."""
        import difflib

        known = sorted(set(known))
        if not known:
            return []
        lines = []
        for student in sorted(set(self.extensions) - set(known)):
            close = difflib.get_close_matches(student, known, n=1, cutoff=0.6)
            guess = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(known)})"
            lines.append(f"{path}: [late.extensions]: {student!r} is neither a student of the gradebook nor a "
                         f"folder of the submissions, so this extension does nothing{guess}")
        return lines

    def extension(self, student: str) -> timedelta:
        return timedelta(hours=self.extensions.get(student, 0.0))

    def assess(self, student: str, timestamp: datetime | None, max_score: float, *,
               unknown: str | None = None) -> Lateness:
        """The lateness of `student`'s hand-in at `timestamp`: seconds past due (extension included) and the
        penalty in points (rounded to 4 places, never more than `cap` percent of `max_score`). `unknown` says why
        a hand-in has no time (None: nothing was handed in, or there is nothing to say); with a due date it is
        flagged and `missing_timestamp` decides: on time, or late by the capped penalty."""
        if self.due is not None and timestamp is None and unknown is not None:
            due = self.due + self.extension(student)
            if self.missing_timestamp != "late":
                return Lateness(due, None, unknown=unknown, treated_as="on-time")
            percent = self.cap if _UNITS[self.per] is not None and self.penalty else 0.0
            return Lateness(due, None, penalty=round(max_score * percent / 100, 4), unknown=unknown,
                            treated_as="late")
        if self.due is None or timestamp is None:
            return Lateness(self.due, timestamp)
        due = self.due + self.extension(student)
        seconds = max(0.0, (timestamp - due).total_seconds())
        unit = _UNITS[self.per]
        if not seconds or unit is None:
            return Lateness(due, timestamp, seconds, 0.0)
        percent = min(self.cap, self.penalty * math.ceil(seconds / unit))
        return Lateness(due, timestamp, seconds, round(max_score * percent / 100, 4))
