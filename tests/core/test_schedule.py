"""refit.core.schedule: parsing, H, DST policy, counting; fixed clock, tables and properties."""

from __future__ import annotations

import collections
import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from refit.core.schedule import (
    Schedule,
    ScheduleError,
    count_fires_between,
    fire_times_between,
    iter_fires,
    next_fire,
    parse_schedule,
    previous_fire,
    validate_time_zone,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# --- parsing --------------------------------------------------------------------------------------

PARSE_CASES = [
    # cron, expression after parsing, minutes, hours
    ("0 2 * * *", "0 2 * * *", (0,), (2,)),
    ("*/15 * * * *", "*/15 * * * *", (0, 15, 30, 45), tuple(range(24))),
    ("5/20 1-3 * * *", "5/20 1-3 * * *", (5, 25, 45), (1, 2, 3)),
    ("0,30 9-17/4 * * MON-FRI", "0,30 9-17/4 * * MON-FRI", (0, 30), (9, 13, 17)),
    ("  0   0   1   1   *  ", "0 0 1 1 *", (0,), (0,)),
    ("@daily", "0 0 * * *", (0,), (0,)),
    ("@HOURLY", "0 * * * *", (0,), tuple(range(24))),
]


@pytest.mark.parametrize(("cron", "expression", "minutes", "hours"), PARSE_CASES)
def test_parse_values(
    cron: str, expression: str, minutes: tuple[int, ...], hours: tuple[int, ...]
) -> None:
    schedule = parse_schedule(cron, "UTC")
    assert schedule.expression == expression
    assert schedule.minutes == minutes
    assert schedule.hours == hours
    assert schedule.source == cron


@pytest.mark.parametrize(
    ("macro", "expression"),
    [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
    ],
)
def test_macros(macro: str, expression: str) -> None:
    assert parse_schedule(macro, "Europe/Berlin").expression == expression


def test_day_fields_names_sunday_seven_and_vixie_or_rule() -> None:
    schedule = parse_schedule("0 0 13 * FRI", "UTC")  # Vixie: the 13th OR any Friday
    assert schedule.day_or
    assert schedule.matches_day(date(2026, 1, 13))  # a Tuesday
    assert schedule.matches_day(date(2026, 1, 16))  # a Friday
    assert not schedule.matches_day(date(2026, 1, 14))
    star = parse_schedule("0 0 * JAN,mar 7", "UTC")  # dom is *, so both must match; 7 is Sunday
    assert not star.day_or
    assert star.days_of_week == frozenset({0})
    assert star.months == frozenset({1, 3})
    assert star.matches_day(date(2026, 1, 4)) and not star.matches_day(date(2026, 2, 1))
    assert parse_schedule("0 0 ? * 1", "UTC").days_of_week == frozenset({1})


ERROR_CASES = [
    # cron, zone, words the message must contain
    ("61 * * * *", "UTC", ["minute", "61", "out of range 0-59"]),
    ("0 24 * * *", "UTC", ["hour", "24", "0-23"]),
    ("0 0 0 * *", "UTC", ["day-of-month", "out of range 1-31"]),
    ("0 0 * 13 *", "UTC", ["month", "13"]),
    ("0 0 * * 8", "UTC", ["day-of-week", "8", "0-7"]),
    ("0 0 * * FUNDAY", "UTC", ["day-of-week", "FUNDAY", "not a number", "SUN"]),
    ("*/0 * * * *", "UTC", ["minute", "step", "positive"]),
    ("*/61 * * * *", "UTC", ["minute", "step 61"]),
    ("30-10 * * * *", "UTC", ["minute", "backwards"]),
    ("0 0 * *", "UTC", ["4 fields", "expected 5"]),
    ("0 0 * * * *", "UTC", ["6 fields"]),
    ("", "UTC", ["empty"]),
    ("@fortnightly", "UTC", ["unknown cron macro", "@daily"]),
    ("0 0 30 2 *", "UTC", ["never fires", "day-of-month 30", "month 2"]),
    ("0 0 31 4,6,9,11 *", "UTC", ["never fires"]),
    ("? 0 * * *", "UTC", ["minute", "'?'"]),
    ("H(40-20) * * * *", "UTC", ["minute", "backwards"]),
    ("H(0-99) * * * *", "UTC", ["minute", "99", "out of range"]),
    ("HX * * * *", "UTC", ["minute", "HX", "H(a-b)"]),
    ("0,,5 * * * *", "UTC", ["minute", "empty list element"]),
    ("0 2 * * *", "Europe/Berlinn", ["unknown time zone", "Europe/Berlinn"]),
    ("0 2 * * *", "../etc/passwd", ["unknown time zone"]),
    ("0 2 * * *", "", ["time zone is empty"]),
]


@pytest.mark.parametrize(("cron", "zone", "words"), ERROR_CASES)
def test_errors_name_the_culprit(cron: str, zone: str, words: list[str]) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(cron, zone, "ns/p")
    for word in words:
        assert word in str(caught.value), (word, str(caught.value))


def test_h_needs_a_key() -> None:
    with pytest.raises(ScheduleError, match="H needs a key"):
        parse_schedule("H * * * *", "UTC")
    # Day names that contain an H (THU) are not H.
    assert parse_schedule("0 0 * * THU", "UTC").days_of_week == frozenset({4})


def test_validate_time_zone() -> None:
    assert validate_time_zone("America/New_York") == ZoneInfo("America/New_York")
    assert str(validate_time_zone("UTC")) == "UTC"
    with pytest.raises(ScheduleError, match="unknown time zone 'Mars/Olympus'"):
        validate_time_zone("Mars/Olympus")


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_fire(parse_schedule("0 0 * * *"), datetime(2026, 1, 1))


# --- H --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cron", "key", "expression"),
    [
        ("H H * * *", "default/fleet-00", "59 6 * * *"),
        ("H H * * *", "ml/churn", "47 21 * * *"),
        ("H/15 H(0-5) * * H", "ml/churn", "2-59/15 3 * * 4"),
    ],
)
def test_h_is_pinned_sha256_not_pythons_salted_hash(cron: str, key: str, expression: str) -> None:
    # Pinned values: a change here moves every installed fleet's schedule, so it must be deliberate.
    # (Python's hash() is salted per process and could never give fixed values like these.)
    assert parse_schedule(cron, "UTC", key).expression == expression


@pytest.mark.parametrize(
    ("cron", "check"),
    [
        ("H * * * *", lambda s: len(s.minutes) == 1 and 0 <= s.minutes[0] <= 59),
        ("0 H * * *", lambda s: len(s.hours) == 1 and 0 <= s.hours[0] <= 23),
        ("0 0 H * *", lambda s: len(s.days_of_month) == 1 and 1 <= min(s.days_of_month) <= 28),
        ("0 0 * * H", lambda s: len(s.days_of_week) == 1 and 0 <= min(s.days_of_week) <= 6),
        ("H(0-29) * * * *", lambda s: 0 <= s.minutes[0] <= 29),
        ("H(10-12) * * * *", lambda s: 10 <= s.minutes[0] <= 12),
        (
            "H/15 * * * *",
            lambda s: (
                len(s.minutes) == 4
                and s.minutes[0] < 15
                and all(b - a == 15 for a, b in itertools.pairwise(s.minutes))
            ),
        ),
        (
            "H(0-29)/10 * * * *",
            lambda s: len(s.minutes) == 3 and s.minutes[0] < 10 and s.minutes[-1] <= 29,
        ),
        ("0 H/6 * * *", lambda s: len(s.hours) == 4 and s.hours[0] < 6),
    ],
)
def test_h_forms_stay_in_range(cron: str, check: object) -> None:
    for index in range(40):
        schedule = parse_schedule(cron, "UTC", f"ns/pipeline-{index}")
        assert check(schedule), (cron, schedule)  # type: ignore[operator]
        # The substituted expression is itself plain cron meaning the same thing.
        again = parse_schedule(schedule.expression, "UTC")
        assert (again.minutes, again.hours, again.days_of_month) == (
            schedule.minutes,
            schedule.hours,
            schedule.days_of_month,
        )


def test_h_fields_hash_independently() -> None:
    # Minute and hour come from different hashes, so H H is not always a "diagonal" like 7 7.
    pairs = {parse_schedule("H H * * *", "UTC", f"ns/p{i}").expression for i in range(50)}
    assert any(e.split()[0] != e.split()[1] for e in pairs)


def test_h_spreads_a_fleet_of_50_over_the_day() -> None:
    """H H * * * for fleet-00..fleet-49: a spread, not a stampede.

    H is a hash, so it promises an even spread, not distinct slots: 50 names over the 1440 minutes
    of a day collide somewhere with probability ~57% (birthday bound), and for these names one
    pair does. The test states exactly that instead of choosing names that happen to miss.
    """
    keys = [f"default/fleet-{i:02d}" for i in range(50)]
    starts = [next_fire(parse_schedule("H H * * *", "UTC", key), utc(2026, 6, 1)) for key in keys]
    again = [next_fire(parse_schedule("H H * * *", "UTC", key), utc(2026, 6, 1)) for key in keys]
    assert starts == again  # deterministic
    per_minute = collections.Counter(starts)
    assert len(per_minute) == 49  # 49 distinct minutes for 50 pipelines (one shared pair)
    assert max(per_minute.values()) == 2  # never more than two at once (vs 50 with `0 0 * * *`)
    assert len({t.hour for t in starts}) >= 20  # spread over most hours of the day
    # The same fleet with a plain daily cron would all fire in one minute.
    plain = {next_fire(parse_schedule("0 0 * * *", "UTC"), utc(2026, 6, 1)) for _ in keys}
    assert len(plain) == 1


def test_h_distribution_is_even_for_a_large_fleet() -> None:
    keys = [f"ns-{i % 7}/model-{i}" for i in range(1200)]
    hours = collections.Counter(parse_schedule("0 H * * *", "UTC", key).hours[0] for key in keys)
    minutes = collections.Counter(
        parse_schedule("H * * * *", "UTC", key).minutes[0] for key in keys
    )
    assert len(hours) == 24 and len(minutes) == 60
    # Expected 50 per hour and 20 per minute; allow generous statistical slack.
    assert max(hours.values()) < 80 and min(hours.values()) > 25
    assert max(minutes.values()) < 40 and min(minutes.values()) > 5


# --- DST: daily schedules fire exactly once per local day ------------------------------------------


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York"])
@pytest.mark.parametrize("cron", ["0 2 * * *", "30 2 * * *"])
def test_daily_fires_exactly_once_per_local_day_in_2026(cron: str, zone: str) -> None:
    schedule = parse_schedule(cron, zone)
    tz = ZoneInfo(zone)
    start = datetime(2026, 1, 1, tzinfo=tz)
    end = datetime(2027, 1, 1, tzinfo=tz)
    fires = fire_times_between(schedule, start, end, limit=1000)
    local_days = [f.astimezone(tz).date() for f in fires]
    assert len(fires) == 365
    assert len(set(local_days)) == 365
    assert local_days[0] == date(2026, 1, 1) and local_days[-1] == date(2026, 12, 31)
    assert count_fires_between(schedule, start, end) == 365
    assert all(b > a for a, b in itertools.pairwise(fires))
    # Every day at the written time, except the spring-forward day, which fires at the gap's end.
    minute = schedule.minutes[0]
    odd = [
        f.astimezone(tz)
        for f in fires
        if (f.astimezone(tz).hour, f.astimezone(tz).minute) != (2, minute)
    ]
    spring = {"Europe/Berlin": date(2026, 3, 29), "America/New_York": date(2026, 3, 8)}[zone]
    assert [f.date() for f in odd] == [spring]
    assert (odd[0].hour, odd[0].minute) == (3, 0)


DST_CASES = [
    # zone, cron, after (UTC), expected next fires (local ISO), why
    (
        "Europe/Berlin",
        "30 2 * * *",
        utc(2026, 3, 28, 12),
        ["2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"],
        "02:30 does not exist on 29 March: fire at the first instant after the gap",
    ),
    (
        "Europe/Berlin",
        "30 2 * * *",
        utc(2026, 10, 24, 12),
        ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"],
        "02:30 happens twice on 25 October: fire once, at the first (CEST) occurrence",
    ),
    (
        "America/New_York",
        "30 1 * * *",
        utc(2026, 10, 31, 12),
        ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"],
        "01:30 repeats on 1 November: once, EDT",
    ),
    (
        "America/New_York",
        "0,15,30,45 2 * * *",
        utc(2026, 3, 7, 12),
        [
            "2026-03-08T03:00:00-04:00",
            "2026-03-09T02:00:00-04:00",
        ],
        "four ticks inside the gap collapse into one fire at 03:00",
    ),
    (
        "America/New_York",
        "0 2,3 * * *",
        utc(2026, 3, 7, 12),
        ["2026-03-08T03:00:00-04:00", "2026-03-09T02:00:00-04:00"],
        "the skipped 02:00 and the real 03:00 are the same instant: one fire",
    ),
    (
        "America/New_York",
        "*/30 * * * *",
        utc(2026, 11, 1, 4, 45),
        [
            "2026-11-01T01:00:00-04:00",
            "2026-11-01T01:30:00-04:00",
            "2026-11-01T01:00:00-05:00",
            "2026-11-01T01:30:00-05:00",
            "2026-11-01T02:00:00-05:00",
        ],
        "an hourly-or-faster schedule follows elapsed time: the repeated hour ticks twice",
    ),
    (
        "America/New_York",
        "*/30 * * * *",
        utc(2026, 3, 8, 6, 15),
        ["2026-03-08T01:30:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T03:30:00-04:00"],
        "an hourly-or-faster schedule has no ticks in the gap, and nothing piles up at its end",
    ),
    (
        "Australia/Lord_Howe",
        "15 2 * * *",
        utc(2026, 10, 3, 0),
        ["2026-10-04T02:30:00+11:00", "2026-10-05T02:15:00+11:00"],
        "a 30-minute DST shift: 02:15 falls in the 02:00→02:30 gap",
    ),
    (
        "Pacific/Chatham",
        "0 3 * * *",
        utc(2026, 6, 1, 0),
        ["2026-06-02T03:00:00+12:45"],
        "a 45-minute offset zone",
    ),
]


@pytest.mark.parametrize(
    ("zone", "cron", "after", "expected", "why"), DST_CASES, ids=[c[-1][:40] for c in DST_CASES]
)
def test_dst_policy(zone: str, cron: str, after: datetime, expected: list[str], why: str) -> None:
    schedule = parse_schedule(cron, zone)
    fires = fire_times_between(schedule, after, after + timedelta(days=3), limit=len(expected))
    assert [f.astimezone(ZoneInfo(zone)).isoformat() for f in fires] == expected, why
    assert all(f.tzinfo is UTC for f in fires)
    for fire in fires:
        assert previous_fire(schedule, fire) == fire


def _oracle(schedule: Schedule, start: datetime, end: datetime) -> list[datetime]:
    """Brute force over every UTC minute: the DST policy restated as directly as possible."""
    zone = schedule.zone
    fires = []
    instant = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while instant <= end:
        local = instant.astimezone(zone)
        naive = local.replace(tzinfo=None)
        previous_naive = (instant - timedelta(minutes=1)).astimezone(zone).replace(tzinfo=None)
        if schedule.follows_elapsed_time:
            fire = schedule.matches_local(naive)
        else:
            first_occurrence = naive.replace(tzinfo=zone, fold=0).astimezone(UTC) == instant
            fire = schedule.matches_local(naive) and first_occurrence
            if naive - previous_naive > timedelta(minutes=1):  # the clock jumped: a gap ended now
                skipped = previous_naive + timedelta(minutes=1)
                while skipped < naive and not fire:
                    fire = schedule.matches_local(skipped)
                    skipped += timedelta(minutes=1)
        if fire:
            fires.append(instant)
        instant += timedelta(minutes=1)
    return fires


ORACLE_CASES = [
    ("Europe/Berlin", "*/20 1-3 * * *", utc(2026, 3, 28, 22)),
    ("Europe/Berlin", "*/20 1-3 * * *", utc(2026, 10, 24, 22)),
    ("Europe/Berlin", "10 * * * *", utc(2026, 10, 24, 22)),
    ("America/New_York", "H H * * *", utc(2026, 3, 8, 0)),
    ("America/New_York", "*/7 * * * *", utc(2026, 11, 1, 3)),
    ("America/New_York", "0,59 1,2 * * *", utc(2026, 11, 1, 3)),
    ("America/New_York", "0,59 1,2 * * *", utc(2026, 3, 8, 3)),
    ("Australia/Lord_Howe", "*/15 1-2 * * *", utc(2026, 4, 4, 12)),
    ("Australia/Lord_Howe", "*/15 1-2 * * *", utc(2026, 10, 3, 12)),
    ("Australia/Lord_Howe", "*/15 * * * *", utc(2026, 4, 4, 12)),
    ("America/Sao_Paulo", "0 0 * * *", utc(2018, 11, 3, 0)),  # DST began at midnight
    ("America/Havana", "30 0 * * *", utc(2026, 3, 7, 12)),
]


@pytest.mark.parametrize(("zone", "cron", "start"), ORACLE_CASES)
def test_against_brute_force_over_dst_days(zone: str, cron: str, start: datetime) -> None:
    schedule = parse_schedule(cron, zone, "ns/oracle")
    end = start + timedelta(hours=36)
    expected = _oracle(schedule, start, end)
    assert expected  # each case exercises something
    assert fire_times_between(schedule, start, end, limit=10_000) == expected
    assert count_fires_between(schedule, start, end) == len(expected)
    assert fire_times_between(schedule, start, end, limit=3, newest=True) == expected[-3:]


# --- previous / between / count -----------------------------------------------------------------


def test_previous_fire_is_inclusive_and_next_fire_exclusive() -> None:
    schedule = parse_schedule("*/5 * * * *")
    tick = utc(2026, 5, 1, 10, 5)
    assert previous_fire(schedule, tick) == tick
    assert previous_fire(schedule, tick - timedelta(microseconds=1)) == utc(2026, 5, 1, 10, 0)
    assert next_fire(schedule, tick) == utc(2026, 5, 1, 10, 10)
    assert next_fire(schedule, tick - timedelta(seconds=1)) == tick
    assert schedule.next_fire(tick) == next_fire(schedule, tick)
    assert schedule.previous_fire(tick) == tick


def test_fire_times_between_limits_and_newest() -> None:
    schedule = parse_schedule("0 * * * *")
    start, end = utc(2026, 1, 1), utc(2026, 1, 2)
    assert fire_times_between(schedule, start, end, limit=2) == [
        utc(2026, 1, 1, 1),
        utc(2026, 1, 1, 2),
    ]
    assert fire_times_between(schedule, start, end, limit=2, newest=True) == [
        utc(2026, 1, 1, 23),
        utc(2026, 1, 2),
    ]
    assert len(fire_times_between(schedule, start, end, limit=100)) == 24
    assert fire_times_between(schedule, end, start, limit=5) == []
    assert fire_times_between(schedule, start, end, limit=0) == []


def test_rare_schedules_are_found_far_ahead() -> None:
    leap = parse_schedule("0 12 29 2 *", "Europe/Berlin")
    assert next_fire(leap, utc(2097, 1, 1)) == utc(2104, 2, 29, 11)  # 2100 is not a leap year
    assert previous_fire(leap, utc(2103, 1, 1)) == utc(2096, 2, 29, 11)
    fifth_monday = parse_schedule("0 0 1 1 MON")  # OR rule: 1 January or any Monday
    assert next_fire(fifth_monday, utc(2026, 1, 1)) == utc(2026, 1, 5)


def test_count_is_exact_and_cheap_for_minutely_over_years() -> None:
    schedule = parse_schedule("* * * * *", "Europe/Berlin")
    start, end = utc(2023, 1, 1), utc(2026, 1, 1)
    assert (
        count_fires_between(schedule, start, end) == (365 + 366 + 365) * 1440
    )  # 2024 is a leap year
    five = parse_schedule("*/5 * * * *", "America/New_York")
    assert (
        count_fires_between(five, utc(2026, 3, 1, 0, 0, 30), utc(2026, 3, 4, 0, 0, 30)) == 3 * 288
    )


# --- properties ---------------------------------------------------------------------------------

ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "America/Sao_Paulo",
    "Asia/Kolkata",
]
crons = st.builds(
    lambda m, h, dom, mon, dow: f"{m} {h} {dom} {mon} {dow}",
    st.sampled_from(["*", "*/5", "0", "30", "0,30", "15-45/15", "H", "H/20", "59"]),
    st.sampled_from(["*", "*/2", "2", "0-3", "1,2,3", "H", "9-17", "0", "23"]),
    st.sampled_from(["*", "*", "1", "15", "1-7", "H", "31"]),
    st.sampled_from(["*", "*", "1-6", "3,10,11", "FEB"]),
    st.sampled_from(["*", "*", "MON-FRI", "0", "6"]),
)
# Bias instants towards DST seasons so the interesting days come up often.
instants = st.one_of(
    st.datetimes(
        min_value=datetime(2015, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
    ),
    st.builds(
        lambda year, month, day, minute: (
            datetime(year, month, day, tzinfo=UTC) + timedelta(minutes=minute)
        ),
        st.integers(2015, 2035),
        st.sampled_from([2, 3, 4, 9, 10, 11]),
        st.integers(1, 28),
        st.integers(0, 2 * 1440),
    ),
)
PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _schedule(cron: str, zone: str) -> Schedule:
    try:
        return parse_schedule(cron, zone, "ns/property")
    except ScheduleError:
        return parse_schedule("0 2 * * *", zone)  # e.g. `31` in FEB never fires


@PROPERTY_SETTINGS
@given(cron=crons, zone=st.sampled_from(ZONES), start=instants)
def test_property_fires_increase_and_match_local_fields(
    cron: str, zone: str, start: datetime
) -> None:
    schedule = _schedule(cron, zone)
    tz = schedule.zone
    fires = list(itertools.islice(iter_fires(schedule, start), 12))
    assert all(b > a for a, b in itertools.pairwise(fires))
    assert fires[0] > start
    for fire in fires:
        assert fire.tzinfo is UTC and fire.second == 0 and fire.microsecond == 0
        local = fire.astimezone(tz).replace(tzinfo=None)
        if schedule.matches_local(local):
            continue
        # Otherwise it must stand for matching local times skipped by a gap that ends at `fire`.
        assert not schedule.follows_elapsed_time
        before = (fire - timedelta(seconds=1)).astimezone(tz).replace(tzinfo=None)
        assert local - before > timedelta(seconds=1), (fire, local, before)
        skipped = [
            before + timedelta(minutes=k)
            for k in range(int((local - before) / timedelta(minutes=1)) + 1)
        ]
        assert any(schedule.matches_local(s.replace(second=0)) for s in skipped if s < local)


@PROPERTY_SETTINGS
@given(cron=crons, zone=st.sampled_from(ZONES), at=instants)
def test_property_next_and_previous_agree(cron: str, zone: str, at: datetime) -> None:
    schedule = _schedule(cron, zone)
    previous = previous_fire(schedule, at)
    following = next_fire(schedule, at)
    assert previous <= at < following
    assert next_fire(schedule, previous) == following  # nothing fires in (previous, at]
    assert previous_fire(schedule, following) == following
    assert previous_fire(schedule, following - timedelta(microseconds=1)) == previous


@settings(max_examples=60, deadline=None)
@given(
    cron=crons,
    zone=st.sampled_from(ZONES),
    start=instants,
    hours=st.integers(0, 24 * 3),
)
def test_property_count_matches_enumeration(
    cron: str, zone: str, start: datetime, hours: int
) -> None:
    schedule = _schedule(cron, zone)
    end = start + timedelta(hours=hours, seconds=17)
    listed = fire_times_between(schedule, start, end, limit=100_000)
    assert count_fires_between(schedule, start, end) == len(listed)
