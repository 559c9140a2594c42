"""Cron schedules in an IANA time zone, with Jenkins-style `H`, and DST handled on purpose.

Syntax. Five fields, `minute hour day-of-month month day-of-week`, as in Vixie/Debian cron and
Kubernetes CronJob: `*`, `?` (day fields only, same as `*`), values, `a-b` ranges, `,` lists and
`/n` steps (`*/15`, `5/15` = 5-59/15, `1-30/10`); month names JAN-DEC and day names SUN-SAT; day
of week 0-7 with 0 and 7 both Sunday. When both day fields are restricted a day matches either
(Vixie's OR rule); when either starts with `*` both must match. Macros: `@yearly`/`@annually`,
`@monthly`, `@weekly`, `@daily`/`@midnight`, `@hourly` mean what they mean for CronJob (fixed
times, e.g. @daily = `0 0 * * *`); write `H H * * *` for a spread daily schedule.

H (Jenkins semantics). `H` stands for a value hashed from a stable key, the pipeline's
"namespace/name", so a fleet of pipelines written as `H H * * *` spreads over the day instead of
all firing at midnight. The hash is SHA-256 (never Python's salted `hash()`), so a pipeline keeps
its slot across operator restarts, versions and replicas. Each field hashes separately (key plus
field name), so `H H * * *` picks one of the 1440 minutes of the day uniformly. Forms:
`H` (the whole field; day-of-month uses 1-28 so every month has the day), `H(a-b)` (a value in
a-b), `H/n` (every n starting at a hashed offset below n: `H/15` → e.g. `7-59/15`) and
`H(a-b)/n`. `H` is a hash, not an allocator: two pipelines can land on the same slot (for 50
names over 1440 daily slots the birthday bound makes some pair colliding likely), so the promise
is an even spread, not distinct slots; use `H(a-b)` or explicit values where two pipelines must
not overlap. `Schedule.expression` shows the expression after substitution.

Time zones and DST. Fields are matched against local wall-clock time in `time_zone` (zoneinfo,
with the tzdata package as fallback database). Like Debian cron, schedules fall in two kinds:

* Fixed-time schedules (the hour field does not start with `*`, e.g. `0 2 * * *`, `30 2 * * 1-5`,
  `H H * * *`, `*/10 9-17 * * *`) follow the local clock, and every matching local time fires
  exactly once: a local time skipped by a spring-forward gap fires at the first instant after the
  gap (02:30 on a day that jumps 02:00→03:00 fires at 03:00), and several skipped times that land
  on the same instant fire once; a local time repeated by a fall-back overlap fires once, at its
  first occurrence. So a daily schedule fires exactly once every local day, all year.
* Hourly-or-faster schedules (the hour field starts with `*`: `*/5 * * * *`, `H * * * *`,
  `0 */2 * * *`) follow elapsed time, like Debian's wildcard jobs: an instant fires when its local
  time matches, so a gap simply has no ticks (nothing piles up at its end) and the repeated hour
  of a fall-back ticks twice, keeping the cadence steady.

This is the behaviour of Debian cron and of Kubernetes CronJob's intent; Debian classifies by
"minute or hour is a wildcard", Refit by the hour field alone, so `*/15 2 * * *` is fixed-time
and still fires on the spring-forward day. Second-level precision: fire times are whole minutes
(UTC offsets of modern zones are whole minutes).

All functions take and return timezone-aware datetimes; results are in UTC. Nothing here reads a
clock: `after`, `at`, `start` and `end` are always passed in.
"""

from __future__ import annotations

import hashlib
import re
import zoneinfo
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

__all__ = [
    "MACROS",
    "Schedule",
    "ScheduleError",
    "count_fires_between",
    "fire_times_between",
    "hash_value",
    "iter_fires",
    "next_fire",
    "parse_schedule",
    "previous_fire",
    "schedule_key",
    "validate_time_zone",
]

MACROS: Final = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

_MINUTE: Final = timedelta(minutes=1)
# A valid schedule fires at least every 8 years (Feb 29 across a skipped leap year such as 2100);
# searching further means a bug, not a rare schedule.
_HORIZON_DAYS: Final = 366 * 12


class ScheduleError(ValueError):
    """A cron expression or time zone that cannot be used; the message names the culprit."""


@dataclass(frozen=True)
class _FieldSpec:
    name: str
    low: int
    high: int
    hash_low: int
    hash_high: int
    names: tuple[str, ...] = ()  # symbolic names, index + low = value (JAN=1, SUN=0)


_FIELDS: Final = (
    _FieldSpec("minute", 0, 59, 0, 59),
    _FieldSpec("hour", 0, 23, 0, 23),
    # H in day-of-month stays within 1-28 so that it exists in every month (Jenkins does the same).
    _FieldSpec("day-of-month", 1, 31, 1, 28),
    _FieldSpec(
        "month",
        1,
        12,
        1,
        12,
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"),
    ),
    _FieldSpec("day-of-week", 0, 7, 0, 6, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")),
)
_DAYS_IN_MONTH: Final = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # max, leap years included
_H_TERM = re.compile(r"^H(?:\((\d+)-(\d+)\))?(?:/(\d+))?$")


@dataclass(frozen=True)
class Schedule:
    """A parsed cron schedule: the expression after `H` substitution, and its zone.

    Build it with `parse_schedule`; the sorted value tuples are what matching uses.
    """

    expression: str
    time_zone: str
    source: str = field(compare=False)
    minutes: tuple[int, ...] = field(repr=False)
    hours: tuple[int, ...] = field(repr=False)
    days_of_month: frozenset[int] = field(repr=False)
    months: frozenset[int] = field(repr=False)
    days_of_week: frozenset[int] = field(repr=False)  # 0 = Sunday .. 6 = Saturday
    # Vixie: both day fields restricted → a day matches either; otherwise both must match.
    day_or: bool = field(repr=False)
    # Hourly-or-faster schedules follow elapsed time; the others follow the local clock.
    follows_elapsed_time: bool = field(repr=False)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def next_fire(self, after: datetime) -> datetime:
        return next_fire(self, after)

    def previous_fire(self, at: datetime) -> datetime:
        return previous_fire(self, at)

    def matches_day(self, day: date) -> bool:
        """Whether the day-of-month, month and day-of-week fields admit this local date."""
        if day.month not in self.months:
            return False
        dom = day.day in self.days_of_month
        dow = day.isoweekday() % 7 in self.days_of_week
        return (dom or dow) if self.day_or else (dom and dow)

    def matches_local(self, local: datetime) -> bool:
        """Whether a local wall-clock time (naive or aware, seconds ignored) matches the fields."""
        return (
            local.minute in self.minutes
            and local.hour in self.hours
            and self.matches_day(local.date())
        )


# --- parsing ---------------------------------------------------------------------------------


def validate_time_zone(name: str) -> zoneinfo.ZoneInfo:
    """The zone for an IANA name, or ScheduleError saying it is unknown."""
    if not name or not isinstance(name, str):
        raise ScheduleError("time zone is empty: use an IANA name such as UTC or Europe/Berlin")
    # zoneinfo also accepts file-system paths; an IANA key never has these.
    if name.startswith(("/", ".")) or ".." in name or "\\" in name:
        raise ScheduleError(f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin")
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ScheduleError(
            f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin"
        ) from None


def hash_value(key: str, field_name: str, modulus: int) -> int:
    """A stable value in [0, modulus) for (key, field): SHA-256, identical on every machine."""
    digest = hashlib.sha256(f"{key}\x00{field_name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % modulus


def schedule_key(namespace: str | None, name: str | None) -> str:
    """The `key` that seeds a pipeline's `H` fields: "<namespace>/<name>"."""
    return f"{namespace or 'default'}/{name or ''}"


def parse_schedule(cron: str, time_zone: str = "UTC", key: str | None = None) -> Schedule:
    """Parse a 5-field cron (or macro) in an IANA zone; `key` ("namespace/name") seeds `H`.

    Raises ScheduleError naming the field and value at fault, or the unknown zone.
    """
    validate_time_zone(time_zone)
    if not isinstance(cron, str) or not cron.strip():
        raise ScheduleError("cron expression is empty: expected 5 fields, e.g. '0 2 * * *'")
    text = cron.strip()
    if text.startswith("@"):
        macro = MACROS.get(text.lower())
        if macro is None:
            raise ScheduleError(f"unknown cron macro {text!r}: use one of {', '.join(MACROS)}")
        text = macro
    parts = text.split()
    if len(parts) != 5:
        raise ScheduleError(
            f"cron expression {cron!r} has {len(parts)} fields; expected 5 (minute hour day-of-month month day-of-week)"
        )

    values: list[set[int]] = []
    rendered: list[str] = []
    for spec, raw in zip(_FIELDS, parts, strict=True):
        field_values, field_text = _parse_field(spec, raw.upper(), key or "")
        values.append(field_values)
        rendered.append(field_text)
    minutes, hours, doms, months, dows = values
    dows = {d % 7 for d in dows}
    dom_star = parts[2].startswith(("*", "?"))
    dow_star = parts[4].startswith(("*", "?"))
    day_or = not dom_star and not dow_star
    if not day_or and not dom_star and min(doms) > max(_DAYS_IN_MONTH[m - 1] for m in months):
        raise ScheduleError(
            f"cron expression {cron!r} never fires: day-of-month {parts[2]} does not occur in month {parts[3]}"
        )
    return Schedule(
        expression=" ".join(rendered),
        time_zone=time_zone,
        source=cron,
        minutes=tuple(sorted(minutes)),
        hours=tuple(sorted(hours)),
        days_of_month=frozenset(doms),
        months=frozenset(months),
        days_of_week=frozenset(dows),
        day_or=day_or,
        follows_elapsed_time=parts[1].startswith("*"),
    )


def _parse_field(spec: _FieldSpec, raw: str, key: str) -> tuple[set[int], str]:
    """The set of values of one field, and its text with H substituted."""
    if raw == "?":
        if spec.name not in ("day-of-month", "day-of-week"):
            raise ScheduleError(f"{spec.name} field {raw!r}: '?' is only allowed in the day fields")
        return set(range(spec.low, spec.high + 1)), "*"
    result: set[int] = set()
    texts: list[str] = []
    for term in raw.split(","):
        if not term:
            raise ScheduleError(f"{spec.name} field {raw!r}: empty list element")
        if term.startswith("H"):
            term_values, term_text = _parse_h_term(spec, raw, term, key)
        else:
            term_values, term_text = _parse_plain_term(spec, raw, term), term
        result |= term_values
        texts.append(term_text)
    return result, ",".join(texts)


def _parse_h_term(spec: _FieldSpec, raw: str, term: str, key: str) -> tuple[set[int], str]:
    match = _H_TERM.match(term)
    if match is None:
        raise ScheduleError(
            f"{spec.name} field {raw!r}: {term!r} is not H, H(a-b), H/n or H(a-b)/n"
        )
    if not key:
        raise ScheduleError(f"{spec.name} field {raw!r}: H needs a key (namespace/name) to hash")
    low_s, high_s, step_s = match.groups()
    low, high = spec.hash_low, spec.hash_high
    if low_s is not None and high_s is not None:
        low, high = int(low_s), int(high_s)
        for value in (low, high):
            _check_range(spec, raw, value)
        if low > high:
            raise ScheduleError(f"{spec.name} field {raw!r}: range H({low}-{high}) is backwards")
    if step_s is None:
        value = low + hash_value(key, spec.name, high - low + 1)
        return {value}, str(value)
    step = _parse_step(spec, raw, step_s, high - low + 1)
    start = low + hash_value(key, spec.name, step)
    values = set(range(start, high + 1, step))
    return values, f"{start}-{high}/{step}" if start + step <= high else str(start)


def _parse_plain_term(spec: _FieldSpec, raw: str, term: str) -> set[int]:
    body, slash, step_s = term.partition("/")
    if body in ("*", "?"):
        if body == "?" and spec.name not in ("day-of-month", "day-of-week"):
            raise ScheduleError(f"{spec.name} field {raw!r}: '?' is only allowed in the day fields")
        low, high = spec.low, spec.high
    elif "-" in body:
        first, _, last = body.partition("-")
        low, high = _parse_value(spec, raw, first), _parse_value(spec, raw, last)
        if low > high:
            raise ScheduleError(
                f"{spec.name} field {raw!r}: range {body} is backwards (wrap-around is not supported)"
            )
    else:
        low = _parse_value(spec, raw, body)
        # "5/15" means 5-59/15, as in Vixie cron; a bare value is just itself.
        high = spec.high if slash else low
    if not slash:
        return set(range(low, high + 1))
    step = _parse_step(spec, raw, step_s, spec.high - spec.low + 1)
    return set(range(low, high + 1, step))


def _parse_value(spec: _FieldSpec, raw: str, text: str) -> int:
    if text in spec.names:
        return spec.names.index(text) + spec.low
    if not text.isdigit():
        hint = f" (names: {', '.join(spec.names)})" if spec.names else ""
        raise ScheduleError(f"{spec.name} field {raw!r}: {text!r} is not a number{hint}")
    value = int(text)
    _check_range(spec, raw, value)
    return value


def _parse_step(spec: _FieldSpec, raw: str, text: str, width: int) -> int:
    if not text.isdigit() or int(text) == 0:
        raise ScheduleError(f"{spec.name} field {raw!r}: step {text!r} must be a positive number")
    step = int(text)
    if step > width:
        raise ScheduleError(
            f"{spec.name} field {raw!r}: step {step} is larger than the field's range"
        )
    return step


def _check_range(spec: _FieldSpec, raw: str, value: int) -> None:
    if not spec.low <= value <= spec.high:
        raise ScheduleError(
            f"{spec.name} field {raw!r}: {value} is out of range {spec.low}-{spec.high}"
        )


# --- local wall-clock candidates ---------------------------------------------------------------


def _next_local(schedule: Schedule, start: datetime) -> datetime:
    """The first matching local wall-clock minute at or after naive `start` (minute-aligned)."""
    day = start.date()
    first = True
    for _ in range(_HORIZON_DAYS):
        if schedule.matches_day(day):
            hour_index = bisect_left(schedule.hours, start.hour) if first else 0
            while hour_index < len(schedule.hours):
                hour = schedule.hours[hour_index]
                minute_index = 0
                if first and hour == start.hour:
                    minute_index = bisect_left(schedule.minutes, start.minute)
                if minute_index < len(schedule.minutes):
                    return datetime.combine(day, time(hour, schedule.minutes[minute_index]))
                hour_index += 1
        day += timedelta(days=1)
        first = False
    raise ScheduleError(
        f"schedule {schedule.expression!r} does not fire within {_HORIZON_DAYS} days of {start}"
    )


def _previous_local(schedule: Schedule, start: datetime) -> datetime:
    """The last matching local wall-clock minute at or before naive `start` (minute-aligned)."""
    day = start.date()
    first = True
    for _ in range(_HORIZON_DAYS):
        if schedule.matches_day(day):
            hour_index = (
                bisect_right(schedule.hours, start.hour) - 1 if first else len(schedule.hours) - 1
            )
            while hour_index >= 0:
                hour = schedule.hours[hour_index]
                minute_index = len(schedule.minutes) - 1
                if first and hour == start.hour:
                    minute_index = bisect_right(schedule.minutes, start.minute) - 1
                if minute_index >= 0:
                    return datetime.combine(day, time(hour, schedule.minutes[minute_index]))
                hour_index -= 1
        day -= timedelta(days=1)
        first = False
    raise ScheduleError(
        f"schedule {schedule.expression!r} does not fire within {_HORIZON_DAYS} days before {start}"
    )


# --- local time → instants ----------------------------------------------------------------------


def _to_utc(local: datetime, zone: zoneinfo.ZoneInfo, fold: int) -> datetime:
    return local.replace(tzinfo=zone, fold=fold).astimezone(UTC)


def _exists(local: datetime, zone: zoneinfo.ZoneInfo) -> bool:
    return _to_utc(local, zone, 0).astimezone(zone).replace(tzinfo=None) == local


def _gap_end(local: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    """The first instant after the DST gap that swallows naive `local`."""
    # fold=1 applies the post-transition offset (an instant before the gap), fold=0 the
    # pre-transition one (an instant after it); the transition lies between, found by bisection.
    low = _to_utc(local, zone, 1)
    high = _to_utc(local, zone, 0)
    if low > high:
        low, high = high, low
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle.astimezone(zone).replace(tzinfo=None) > local:
            high = middle
        else:
            low = middle
    return high


def _instants(schedule: Schedule, local: datetime, zone: zoneinfo.ZoneInfo) -> tuple[datetime, ...]:
    """The fire instants of one matching local wall-clock time, per the DST policy above."""
    first = _to_utc(local, zone, 0)
    if first.astimezone(zone).replace(tzinfo=None) != local:  # in a spring-forward gap
        return () if schedule.follows_elapsed_time else (_gap_end(local, zone),)
    if not schedule.follows_elapsed_time:
        return (first,)  # first occurrence of a repeated time
    second = _to_utc(local, zone, 1)
    return (first,) if second == first else (first, second)


def _fold_delta(local: datetime, zone: zoneinfo.ZoneInfo) -> timedelta:
    """Length of the fall-back overlap that naive `local` is in (zero outside overlaps)."""
    return abs(_to_utc(local, zone, 1) - _to_utc(local, zone, 0))


def _lowest(local: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    """A bound: no matching local time after `local` fires before this (elapsed-time mode).

    Per fold, instants grow with local time, so a later local time's first occurrence is no
    earlier than this one's; for a time inside a gap the bound is the gap's end.
    """
    return _gap_end(local, zone) if not _exists(local, zone) else _to_utc(local, zone, 0)


def _highest(local: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    """A bound: no matching local time before `local` fires after this (elapsed-time mode)."""
    return _gap_end(local, zone) if not _exists(local, zone) else _to_utc(local, zone, 1)


def _require_aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (got naive {value.isoformat()})")
    return value.astimezone(UTC)


def _floor_minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


# --- public queries -------------------------------------------------------------------------------


def next_fire(schedule: Schedule, after: datetime) -> datetime:
    """The first fire time strictly after `after`, in UTC."""
    after = _require_aware(after, "after")
    zone = schedule.zone
    local = after.astimezone(zone).replace(tzinfo=None)
    # Local times up to one overlap earlier can still map to instants after `after` (their second
    # occurrence); mappings are monotonic per fold, so the first hit of a forward scan is the answer.
    candidate = _floor_minute(local - _fold_delta(local, zone))
    best: datetime | None = None
    while True:
        candidate = _next_local(schedule, candidate)
        hits = [t for t in _instants(schedule, candidate, zone) if t > after]
        if hits:
            hit = min(hits)
            best = hit if best is None else min(best, hit)
        if best is not None and (
            not schedule.follows_elapsed_time or _lowest(candidate, zone) >= best
        ):
            return best
        candidate += _MINUTE


def previous_fire(schedule: Schedule, at: datetime) -> datetime:
    """The last fire time at or before `at` (inclusive: a fire time is its own previous), in UTC."""
    at = _require_aware(at, "at")
    zone = schedule.zone
    local = at.astimezone(zone).replace(tzinfo=None)
    candidate = _floor_minute(local + _fold_delta(local, zone))
    best: datetime | None = None
    while True:
        candidate = _previous_local(schedule, candidate)
        hits = [t for t in _instants(schedule, candidate, zone) if t <= at]
        if hits:
            hit = max(hits)
            best = hit if best is None else max(best, hit)
        if best is not None and (
            not schedule.follows_elapsed_time or _highest(candidate, zone) <= best
        ):
            return best
        candidate -= _MINUTE


def iter_fires(schedule: Schedule, after: datetime) -> Iterator[datetime]:
    """Fire times strictly after `after`, ascending, forever (callers bound it)."""
    current = after
    while True:
        current = next_fire(schedule, current)
        yield current


def fire_times_between(
    schedule: Schedule, start: datetime, end: datetime, limit: int, *, newest: bool = False
) -> list[datetime]:
    """Fire times t with start < t ≤ end, ascending, at most `limit` of them.

    With `newest`, the latest `limit` times of the window (still ascending); otherwise the earliest.
    The work is proportional to `limit`, never to the length of the window.
    """
    start = _require_aware(start, "start")
    end = _require_aware(end, "end")
    if limit <= 0 or end <= start:
        return []
    result: list[datetime] = []
    if newest:
        current = end
        while len(result) < limit:
            current = previous_fire(schedule, current)
            if current <= start:
                break
            result.append(current)
            current -= timedelta(microseconds=1)
        result.reverse()
        return result
    for fire in iter_fires(schedule, start):
        if fire > end or len(result) >= limit:
            break
        result.append(fire)
    return result


def count_fires_between(schedule: Schedule, start: datetime, end: datetime) -> int:
    """How many fire times t satisfy start < t ≤ end, in time proportional to the days spanned.

    Days without an offset change are counted by bisection over the sorted minutes of the day;
    only DST-change days are enumerated, so `* * * * *` over years costs a few thousand day
    checks, not millions of ticks.
    """
    start = _require_aware(start, "start")
    end = _require_aware(end, "end")
    if end <= start:
        return 0
    zone = schedule.zone
    day_minutes = sorted(
        hour * 60 + minute for hour in schedule.hours for minute in schedule.minutes
    )
    first_day = start.astimezone(zone).date() - timedelta(days=1)
    last_day = end.astimezone(zone).date() + timedelta(days=1)
    total = 0
    previous: datetime | None = None  # last instant counted, to merge gap collapses across days
    day = first_day
    while day <= last_day:
        if schedule.matches_day(day):
            midnight = datetime.combine(day, time())
            next_midnight = midnight + timedelta(days=1)
            bounds = [
                _to_utc(local, zone, fold) for local in (midnight, next_midnight) for fold in (0, 1)
            ]
            if max(bounds) <= start or min(bounds) > end:
                day += timedelta(days=1)
                continue  # every instant of this day lies outside the window
            if (
                bounds[0] == bounds[1]
                and bounds[2] == bounds[3]
                and bounds[2] - bounds[0] == timedelta(days=1)
            ):
                # A plain day has one UTC offset throughout: minute-of-day x fires at midnight + x,
                # so the window is an index range of the sorted minutes, found by bisection.
                low = bisect_right(day_minutes, (start - bounds[0]) // _MINUTE)
                high = bisect_right(day_minutes, (end - bounds[0]) // _MINUTE)
                if high > low:
                    total += high - low
                    if previous is not None and previous == bounds[0] + day_minutes[low] * _MINUTE:
                        total -= 1
                    previous = bounds[0] + day_minutes[high - 1] * _MINUTE
            else:
                for minute_of_day in day_minutes:
                    local = midnight + minute_of_day * _MINUTE
                    for instant in _instants(schedule, local, zone):
                        if start < instant <= end and instant != previous:
                            total += 1
                            previous = instant
        day += timedelta(days=1)
    return total
