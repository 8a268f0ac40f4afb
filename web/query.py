"""The search box's language: free text for the store's full-text search plus `field:value` filters.

`brand:acme source:demo-forum sentiment:negative kind:complaint area:delivery lang:en
after:2026-01-01 before:2026-02-01 "battery fire" OR smoke -refund` becomes the text
`"battery fire" OR smoke -refund` (handed to `Store.search`, which knows phrases, AND/OR/NOT and
-word) and a `groundswell.store.base.Filters`. Repeating a field means "any of these".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time
from typing import Any

from groundswell.config import Config
from groundswell.mention import BUSINESS_AREAS, SENTIMENTS, VOC_KINDS
from groundswell.store.base import Filters

# field name typed in the box -> canonical field (aliases read naturally in a query)
FIELD_ALIASES: dict[str, str] = {
    "brand": "brand",
    "competitor": "brand",
    "entity": "entity",
    "product": "entity",
    "source": "source",
    "sentiment": "sentiment",
    "kind": "kind",
    "voc": "kind",
    "area": "area",
    "lang": "lang",
    "language": "lang",
    "author": "author",
    "topic": "topic",
    "after": "after",
    "since": "after",
    "before": "before",
    "until": "before",
    "safety": "safety",
}
# the form controls of the search page, by canonical field
FORM_FIELDS = ("brand", "source", "sentiment", "kind", "area", "lang", "after", "before")

_FIELD_TOKEN = re.compile(r'(?<![\w"])(-?)([A-Za-z]+):("([^"]*)"|[^\s()"]+)')


class QueryError(ValueError):
    """A field filter in the query has a value that is not allowed; the message says which and what is."""


@dataclass(frozen=True)
class ParsedQuery:
    text: str  # what is left for full-text search
    filters: Filters
    fields: dict[str, tuple[str, ...]]  # canonical field -> the values as typed, for display


def parse_query(
    query: str, config: Config | None = None, *, form: dict[str, str] | None = None
) -> ParsedQuery:
    """Split `query` into full text and `Filters`; `form` adds the values of the form controls.

    Raises QueryError naming the field, the value and what is allowed when a value is invalid.
    """
    typed: dict[str, list[str]] = {}

    def take(match: re.Match[str]) -> str:
        negated, name, raw, quoted = match.group(1), match.group(2), match.group(3), match.group(4)
        field = FIELD_ALIASES.get(name.lower())
        if field is None:  # not a filter (a URL, a time like 10:30, a word with a colon): keep as text
            return match.group(0)
        if negated:
            raise QueryError(
                f"'-{name}:{raw}': excluding by a field is not supported; filter on the values you want instead"
            )
        typed.setdefault(field, []).append(quoted if quoted is not None else raw)
        return " "

    text = _FIELD_TOKEN.sub(take, query or "")
    for field, value in (form or {}).items():
        if field not in FORM_FIELDS:
            raise QueryError(f"unknown form field '{field}'; allowed: {', '.join(FORM_FIELDS)}")
        if value and value.strip():
            typed.setdefault(field, []).append(value.strip())
    changes: dict[str, Any] = {}
    for field, values in typed.items():
        _apply(field, values, changes, config)
    return ParsedQuery(
        text=" ".join(text.split()),
        filters=Filters(**changes),
        fields={k: tuple(dict.fromkeys(v)) for k, v in typed.items()},
    )


def _apply(field: str, values: list[str], changes: dict[str, Any], config: Config | None) -> None:
    def extend(name: str, items: list[Any]) -> None:
        changes[name] = tuple(dict.fromkeys([*changes.get(name, ()), *items]))

    if field == "brand":
        extend("entities", [eid for v in values for eid in _brand_entities(v, config)])
    elif field == "entity":
        extend("entities", [_entity_id(v, config) for v in values])
    elif field == "source":
        extend("sources", values)
    elif field == "sentiment":
        extend("sentiments", [_allowed("sentiment", v, SENTIMENTS) for v in values])
    elif field == "kind":
        extend("voc_kinds", [_allowed("kind", v, VOC_KINDS) for v in values])
    elif field == "area":
        extend("business_areas", [_allowed("area", v.replace("-", "_"), BUSINESS_AREAS) for v in values])
    elif field == "lang":
        extend("languages", [v.lower() for v in values])
    elif field == "author":
        extend("authors", values)
    elif field == "topic":
        try:
            extend("topic_ids", [int(v) for v in values])
        except ValueError:
            raise QueryError(f"topic:{values!r}: a topic is its number, e.g. topic:3") from None
    elif field == "after":
        changes["start"] = max(_when("after", v) for v in values)
    elif field == "before":
        changes["end"] = min(_when("before", v) for v in values)
    elif field == "safety":
        flag = values[-1].lower()
        if flag not in ("yes", "no", "true", "false"):
            raise QueryError(f"safety:{values[-1]}: allowed values are yes, no")
        changes["safety"] = flag in ("yes", "true")


def _allowed(field: str, value: str, allowed: tuple[str, ...]) -> str:
    v = value.lower()
    if v not in allowed:
        raise QueryError(f"{field}:{value} is not allowed; allowed values are {', '.join(allowed)}")
    return v


def _when(field: str, value: str) -> datetime:
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(0), tzinfo=UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(f"{field}:{value} is not a date; use YYYY-MM-DD or an ISO date-time") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _entity_id(value: str, config: Config | None) -> str:
    """An entity id from its id, name or alias (case-insensitive); unknown values pass through as ids."""
    if config is None:
        return value
    v = value.lower()
    for e in config.entities():
        if v == e.id or v in (n.lower() for n in e.names):
            return e.id
    return value


def _brand_entities(value: str, config: Config | None) -> list[str]:
    """A brand or competitor and its products."""
    eid = _entity_id(value, config)
    if config is None:
        return [eid]
    return [eid, *(e.id for e in config.entities() if e.kind == "product" and e.brand == eid)]


def filters_summary(filters: Filters) -> list[tuple[str, str]]:
    """(label, value) pairs of the active filters, for display."""
    out: list[tuple[str, str]] = []
    for f in fields(filters):
        value = getattr(filters, f.name)
        if value in ((), None):
            continue
        if isinstance(value, tuple):
            out.append((f.name, ", ".join(str(v) for v in value)))
        elif isinstance(value, datetime):
            out.append((f.name, value.isoformat()))
        else:
            out.append((f.name, str(value)))
    return out
