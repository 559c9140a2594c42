"""refit.core.durations: the duration strings of the API."""

from __future__ import annotations

from datetime import timedelta

import pytest

from refit.core.durations import DurationError, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("6h", timedelta(hours=6)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d", timedelta(days=1)),
        ("7d", timedelta(days=7)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("1h90m", timedelta(hours=2, minutes=30)),
        ("0s", timedelta(0)),
        ("24h", timedelta(days=1)),
    ],
)
def test_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("6", "not valid"),
        ("h", "not valid"),
        ("1w", "not valid"),
        ("1.5h", "not valid"),
        ("-1h", "not valid"),
        ("1h 30m", "not valid"),
        ("30m1h", "large to small"),
        ("1h1h", "appears twice"),
        ("1H", "not valid"),
        ("99999999d", "100 years"),
    ],
)
def test_parse_errors(text: str, words: str) -> None:
    with pytest.raises(DurationError, match=words):
        parse_duration(text)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(seconds=-5), "0s"),
        (timedelta(seconds=0.4), "1s"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(days=1, seconds=1), "1d1s"),
        (timedelta(hours=6), "6h"),
    ],
)
def test_format(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


@pytest.mark.parametrize("text", ["1m30s", "6h", "1h30m", "1d", "2d3h4m5s"])
def test_round_trip(text: str) -> None:
    assert format_duration(parse_duration(text)) == text
