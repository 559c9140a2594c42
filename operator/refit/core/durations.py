"""Kubernetes-style durations ("90s", "6h", "1h30m", "1d") as timedelta, and back.

The API's `Duration` pattern admits one or more `<number><unit>` parts with units s, m, h, d;
this module gives them meaning. Parts add up ("1h90m" is 2h30m); each unit may appear once and
in descending order, so a typo such as "30m1h" is an error rather than a silent surprise.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Final

__all__ = ["DurationError", "format_duration", "parse_duration"]

_UNIT_SECONDS: Final = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
_PART = re.compile(r"([0-9]+)([dhms])")
# Anything above this is certainly a mistake and would overflow timedelta arithmetic later.
_MAX_SECONDS: Final = 100 * 365 * 86_400


class DurationError(ValueError):
    """A duration string that does not parse; the message says what is wrong."""


def parse_duration(text: str) -> timedelta:
    """Parse "6h", "1h30m", "1d", "90s" (units d, h, m, s; descending, each at most once)."""
    if not isinstance(text, str) or not text:
        raise DurationError("empty duration: expected e.g. 90s, 30m, 6h, 1h30m or 1d")
    pos = 0
    total = 0
    seen: list[str] = []
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        number, unit = match.groups()
        if unit in seen:
            raise DurationError(f"duration {text!r}: unit {unit!r} appears twice")
        if seen and list(_UNIT_SECONDS).index(unit) < list(_UNIT_SECONDS).index(seen[-1]):
            raise DurationError(
                f"duration {text!r}: units must go from large to small (d, h, m, s)"
            )
        seen.append(unit)
        total += int(number) * _UNIT_SECONDS[unit]
        pos = match.end()
    if pos != len(text) or not seen:
        raise DurationError(
            f"duration {text!r} is not valid: expected <number><unit> parts with units d, h, m, s, "
            "e.g. 90s, 6h, 1h30m, 1d"
        )
    if total > _MAX_SECONDS:
        raise DurationError(f"duration {text!r} is longer than 100 years")
    return timedelta(seconds=total)


def format_duration(value: timedelta) -> str:
    """The shortest canonical form: 5400s → "1h30m", 0 → "0s"; sub-second parts are rounded up."""
    seconds = int(-(-value.total_seconds() // 1))  # ceil, so "remaining 0.4s" never shows as 0s
    if seconds <= 0:
        return "0s"
    parts: list[str] = []
    for unit, size in _UNIT_SECONDS.items():
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
