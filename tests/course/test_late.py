"""Late work: due dates, nbgrader's timestamps and the penalty policy of a grader config."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autodiff_course.course.config import AssignmentConfig, ConfigError
from autodiff_course.course.late import LatePolicy, parse_time, read_timestamp

DUE = datetime(2030, 1, 31, 23, 59)


def config(due="2030-01-31 23:59:00", **late) -> AssignmentConfig:
    return AssignmentConfig(path=Path("graders/hw.toml"), assignment="hw", notebook="hw.ipynb", title="hw",
                            exercises=[], due=due, late=late)


def test_times_in_every_spelling_become_naive_utc():
    expected = datetime(2030, 1, 31, 22, 59)
    for text in ("2030-01-31 22:59:00", "2030-01-31 22:59:00 UTC", "2030-01-31T22:59:00Z",
                 "2030-01-31 23:59:00 +0100", "2030-01-31 23:59:00.000000 CET"):
        assert parse_time(text) == expected, text
    assert parse_time(datetime(2030, 1, 31, 23, 59, tzinfo=timezone(timedelta(hours=1)))) == expected
    # A due date without a time is the end of that day, quoted or as a TOML date.
    assert parse_time("2030-01-31") == parse_time(date(2030, 1, 31)) == datetime(2030, 1, 31, 23, 59, 59)


def test_timestamp_written_by_nbgraders_exchange_is_read(tmp_path):
    from nbgrader.exchange.abc.exchange import Exchange

    moment = datetime(2030, 2, 1, 10, 30, 15, 123456, tzinfo=timezone.utc)
    (tmp_path / "timestamp.txt").write_text(moment.strftime(Exchange.timestamp_format.default_value))
    assert read_timestamp(tmp_path) == moment.replace(tzinfo=None)
    assert read_timestamp(tmp_path / "nowhere") is None
    (tmp_path / "timestamp.txt").write_text("not a time")
    with pytest.raises(ValueError, match=r"timestamp\.txt"):
        read_timestamp(tmp_path)


def test_per_day_penalty_counts_started_days_and_stops_at_the_cap():
    policy = LatePolicy.from_config(config(per="day", penalty=10, cap=25))
    assess = lambda delta: policy.assess("amy", DUE + delta, 20.0).penalty  # noqa: E731
    assert assess(timedelta(0)) == 0.0 and assess(-timedelta(days=3)) == 0.0
    assert assess(timedelta(seconds=1)) == 2.0           # 10 % of 20 points, first started day
    assert assess(timedelta(days=1)) == 2.0
    assert assess(timedelta(days=1, seconds=1)) == 4.0
    assert assess(timedelta(days=9)) == 5.0              # capped at 25 %


def test_per_hour_penalty_and_an_extension_for_one_student():
    policy = LatePolicy.from_config(config(per="hour", penalty=1, extensions={"bo": 48}))
    assert policy.assess("amy", DUE + timedelta(hours=2, minutes=30), 10.0).penalty == 0.3
    bo = policy.assess("bo", DUE + timedelta(hours=50), 10.0)
    assert bo.seconds_late == 2 * 3600 and bo.penalty == 0.2
    assert bo.due == DUE + timedelta(hours=48)
    assert policy.assess("bo", DUE + timedelta(hours=47), 10.0).late is False


def test_no_policy_marks_lateness_without_a_penalty():
    late = LatePolicy.from_config(config()).assess("amy", DUE + timedelta(hours=5), 10.0)
    assert late.late and late.penalty == 0.0 and "no penalty" in late.describe()
    assert LatePolicy.from_config(config(due=None)).assess("amy", DUE, 10.0).late is False


@given(st.integers(min_value=-10**6, max_value=10**7), st.integers(min_value=0, max_value=10**7),
       st.sampled_from(["hour", "day"]), st.floats(0, 100), st.floats(0, 100))
def test_penalty_grows_with_lateness_and_never_passes_the_cap(a, b, per, penalty, cap):
    policy = LatePolicy.from_config(config(per=per, penalty=penalty, cap=cap))
    early, later = (policy.assess("x", DUE + timedelta(seconds=s), 7.0).penalty for s in (a, a + b))
    assert 0.0 <= early <= later <= round(7.0 * cap / 100, 4) + 1e-12


@pytest.mark.parametrize("due, late, field", [
    ("tomorrow", {}, "`due`"),
    ("2030-01-31", {"per": "week"}, "`per`"),
    ("2030-01-31", {"per": "day", "penalty": 150}, "`penalty`"),
    ("2030-01-31", {"cap": -1}, "`cap`"),
    ("2030-01-31", {"extensions": {"bo": "two days"}}, "[late.extensions]"),
    ("2030-01-31", {"missing_timestamp": "ignore"}, "`missing_timestamp`"),
    ("2030-01-31", {"grace": 5}, "unknown key `grace`"),
])
def test_config_mistakes_name_the_file_and_the_field(due, late, field):
    with pytest.raises(ConfigError) as caught:
        LatePolicy.from_config(config(due, **late))
    assert str(caught.value).startswith("graders/hw.toml: ") and field in str(caught.value)
