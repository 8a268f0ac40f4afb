"""Date parsing for collected items: every timestamp becomes a timezone-aware UTC `datetime`.

Accepted: `datetime` (naive = UTC), epoch seconds / milliseconds / microseconds (int, float or digit
strings), ISO 8601 (including "Z", fractions of any length), RFC 2822 (RSS `pubDate`), the formats
dateutil understands ("Mar 3, 2026 14:05", "03 March 2026", "Wed Oct 10 20:19:24 +0000 2018", "2026/03/03
2:05 PM EST"), and relative forum times ("3 hours ago", "yesterday", "just now") measured from `now`.
Ambiguous numeric dates like "03/04/2026" are read month first (US), as dateutil does by default.
"""

from __future__ import annotations

import email.utils
import logging
import math
import re
import warnings
from datetime import UTC, date, datetime, timedelta

from dateutil import parser as dateutil_parser

logger = logging.getLogger(__name__)

__all__ = ["parse_datetime"]

_EPOCH_DIGITS = re.compile(r"^[+-]?\d{9,19}(?:\.\d+)?$")
_RELATIVE = re.compile(
    r"^(?:about\s+|over\s+|almost\s+)?(?P<n>\d+|an?|one)\s*(?P<unit>s|sec|secs|seconds?|m|min|mins|minutes?|h|hr|hrs|hours?|d|days?|w|wk|wks|weeks?|mo|mos|months?|y|yr|yrs|years?)\s+ago$",
    re.I,
)
_UNIT_SECONDS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "wk": 604800, "wks": 604800, "week": 604800, "weeks": 604800,
    "mo": 2592000, "mos": 2592000, "month": 2592000, "months": 2592000,
    "y": 31536000, "yr": 31536000, "yrs": 31536000, "year": 31536000, "years": 31536000,
}  # fmt: skip
# Abbreviations dateutil does not know by itself (it only knows UTC/GMT and the local zone).
_TZINFOS = {
    "UT": 0, "UTC": 0, "GMT": 0, "Z": 0,
    "EST": -5 * 3600, "EDT": -4 * 3600, "CST": -6 * 3600, "CDT": -5 * 3600,
    "MST": -7 * 3600, "MDT": -6 * 3600, "PST": -8 * 3600, "PDT": -7 * 3600,
    "AKST": -9 * 3600, "AKDT": -8 * 3600, "HST": -10 * 3600,
    "BST": 1 * 3600, "IST": 5 * 3600 + 1800, "WET": 0, "WEST": 3600,
    "CET": 3600, "CEST": 2 * 3600, "EET": 2 * 3600, "EEST": 3 * 3600, "MSK": 3 * 3600,
    "JST": 9 * 3600, "KST": 9 * 3600, "HKT": 8 * 3600, "SGT": 8 * 3600, "AWST": 8 * 3600,
    "AEST": 10 * 3600, "AEDT": 11 * 3600, "NZST": 12 * 3600, "NZDT": 13 * 3600,
}  # fmt: skip
# Anything outside this window is a parse accident (e.g. "12" read as a day of this month is fine, but
# year 9999 or 1900 is not a social media post).
_MIN = datetime(1990, 1, 1, tzinfo=UTC)
_MAX_AHEAD = timedelta(days=366 * 5)


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _from_epoch(number: float, original: object) -> datetime:
    if math.isnan(number) or math.isinf(number):
        raise ValueError(f"cannot parse date {original!r}: not a finite epoch number")
    magnitude = abs(number)
    if magnitude >= 1e17:
        number /= 1e9  # nanoseconds
    elif magnitude >= 1e14:
        number /= 1e6  # microseconds
    elif magnitude >= 1e11:
        number /= 1e3  # milliseconds
    try:
        return datetime.fromtimestamp(number, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise ValueError(f"cannot parse date {original!r}: epoch value out of range ({exc})") from exc


def _relative(text: str, now: datetime) -> datetime | None:
    lowered = text.lower()
    if lowered in {"now", "just now", "moments ago", "a moment ago", "today"}:
        return now
    if lowered == "yesterday":
        return now - timedelta(days=1)
    match = _RELATIVE.match(lowered)
    if match is None:
        return None
    count = match["n"]
    amount = 1 if count in {"a", "an", "one"} else int(count)
    return now - timedelta(seconds=amount * _UNIT_SECONDS[match["unit"]])


def _parse_text(text: str, now: datetime) -> datetime:
    if _EPOCH_DIGITS.match(text):
        return _from_epoch(float(text), text)
    try:
        return _as_utc(datetime.fromisoformat(text))
    except ValueError:
        pass
    if "," in text[:5] or re.search(r"[+-]\d{4}$|\b(?:GMT|UT|[A-Z]{3})$", text):
        try:
            return _as_utc(email.utils.parsedate_to_datetime(text))
        except (TypeError, ValueError, IndexError):
            pass
    relative = _relative(text, now)
    if relative is not None:
        return relative
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", dateutil_parser.UnknownTimezoneWarning)
        try:
            parsed = dateutil_parser.parse(text, tzinfos=_TZINFOS, default=datetime(now.year, 1, 1))
        except (ValueError, OverflowError, TypeError) as exc:
            raise ValueError(
                f"cannot parse date {text!r}: not ISO 8601, RFC 2822, epoch seconds/ms, a relative time "
                f"or a format dateutil understands ({exc})"
            ) from exc
    if any(issubclass(w.category, dateutil_parser.UnknownTimezoneWarning) for w in caught):
        logger.debug("unknown time zone name in %r; reading the time as UTC", text)
    return _as_utc(parsed)


def parse_datetime(value: str | int | float | datetime | date, *, now: datetime | None = None) -> datetime:
    """Parse a timestamp from any common source format into an aware UTC `datetime`.

    `now` anchors relative times ("2 hours ago") and the plausibility check (default: the current time).
    Raises ValueError naming the value when it is empty, unparseable, or implausible (before 1990 or
    more than five years after `now`).
    """
    reference = _as_utc(now) if now is not None else datetime.now(UTC)
    if isinstance(value, bool):
        raise ValueError(f"cannot parse date {value!r}: a boolean is not a timestamp")
    if isinstance(value, datetime):
        result = _as_utc(value)
    elif isinstance(value, date):
        result = datetime(value.year, value.month, value.day, tzinfo=UTC)
    elif isinstance(value, int | float):
        result = _from_epoch(float(value), value)
    elif isinstance(value, str):
        text = " ".join(value.split())
        if not text:
            raise ValueError(f"cannot parse date {value!r}: empty string")
        result = _parse_text(text, reference)
    else:
        raise ValueError(
            f"cannot parse date {value!r}: type {type(value).__name__} is not str, int, float or datetime"
        )
    if result < _MIN or result > reference + _MAX_AHEAD:
        raise ValueError(
            f"cannot parse date {value!r}: {result.isoformat()} is outside the plausible range "
            f"{_MIN.date()} .. {(reference + _MAX_AHEAD).date()}"
        )
    return result
