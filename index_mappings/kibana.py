"""Kibana saved objects for analysts: data views, saved searches, visualizations and dashboards.

`saved_objects(prefix)` builds them in Kibana 8 export format; the versioned file
`index_mappings/kibana/groundswell.ndjson` is its output for the default prefix (a test keeps the
two equal; regenerate with `python -m index_mappings.kibana`). `field_uses(objects)` lists every
field a saved object references and how (time field, terms, histogram, metric, search column,
query), so a test can check each against the index mappings. `import_saved_objects(url, ...)`
POSTs the NDJSON to Kibana's saved-objects import API.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from groundswell.store.base import StoreError

logger = logging.getLogger(__name__)

SAVED_OBJECTS_PATH = Path(__file__).parent / "kibana" / "groundswell.ndjson"
_NAMESPACE = uuid.UUID("6f1c7a52-35d4-4c53-9f0c-5d2f2f4e7a10")
_CORE = "8.8.0"
_TYPE_VERSIONS = {
    "index-pattern": "8.0.0",
    "search": "10.3.0",
    "visualization": "8.5.0",
    "dashboard": "10.2.0",
}


def _id(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def _obj(
    kind: str, obj_id: str, attributes: dict[str, Any], references: list[dict[str, str]]
) -> dict[str, Any]:
    return {
        "attributes": attributes,
        "coreMigrationVersion": _CORE,
        "id": obj_id,
        "managed": False,
        "references": references,
        "type": kind,
        "typeMigrationVersion": _TYPE_VERSIONS[kind],
    }


def _search_source(query: str = "", index_ref: bool = True) -> dict[str, str]:
    source: dict[str, Any] = {"query": {"query": query, "language": "kuery"}, "filter": []}
    if index_ref:
        source["indexRefName"] = "kibanaSavedObjectMeta.searchSourceJSON.index"
    return {"searchSourceJSON": json.dumps(source)}


def _index_ref(view_id: str) -> list[dict[str, str]]:
    return [{"id": view_id, "name": "kibanaSavedObjectMeta.searchSourceJSON.index", "type": "index-pattern"}]


def _agg(agg_id: str, kind: str, schema: str, **params: Any) -> dict[str, Any]:
    return {"id": agg_id, "enabled": True, "type": kind, "params": params, "schema": schema}


def _terms(
    agg_id: str, field: str, schema: str = "segment", size: int = 10, order_by: str = "1"
) -> dict[str, Any]:
    return _agg(
        agg_id,
        "terms",
        schema,
        field=field,
        orderBy=order_by,
        order="desc",
        size=size,
        otherBucket=False,
        missingBucket=False,
    )


def _date_histogram(agg_id: str, field: str) -> dict[str, Any]:
    return _agg(
        agg_id, "date_histogram", "segment", field=field, interval="auto", min_doc_count=1, extended_bounds={}
    )


def _count() -> dict[str, Any]:
    return _agg("1", "count", "metric")


def _vis(
    prefix: str,
    key: str,
    title: str,
    vis_type: str,
    view_id: str,
    aggs: list[dict[str, Any]],
    query: str = "",
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    vis_params = {
        "type": vis_type,
        "addTooltip": True,
        "addLegend": True,
        "legendPosition": "right",
        **(params or {}),
    }
    attributes = {
        "description": "",
        "kibanaSavedObjectMeta": _search_source(query),
        "title": f"Groundswell - {title}",
        "uiStateJSON": "{}",
        "version": 1,
        "visState": json.dumps(
            {"title": f"Groundswell - {title}", "type": vis_type, "aggs": aggs, "params": vis_params}
        ),
    }
    return _obj("visualization", _id(prefix, "vis", key), attributes, _index_ref(view_id))


def _saved_search(
    prefix: str, key: str, title: str, view_id: str, columns: list[str], sort_field: str, query: str
) -> dict[str, Any]:
    attributes = {
        "columns": columns,
        "description": "",
        "grid": {},
        "hideChart": False,
        "kibanaSavedObjectMeta": _search_source(query),
        "sort": [[sort_field, "desc"]],
        "title": f"Groundswell - {title}",
    }
    return _obj("search", _id(prefix, "search", key), attributes, _index_ref(view_id))


def _dashboard(
    prefix: str, key: str, title: str, description: str, panels: list[dict[str, Any]]
) -> dict[str, Any]:
    """A dashboard showing `panels` (saved visualizations and searches) two to a row, in order."""
    panels_json, references = [], []
    for n, panel in enumerate(panels):
        panel_id = _id(prefix, "panel", key, str(n))
        ref_name = f"panel_{panel_id}"
        panels_json.append(
            {
                "type": panel["type"],
                "gridData": {"x": (n % 2) * 24, "y": (n // 2) * 15, "w": 24, "h": 15, "i": panel_id},
                "panelIndex": panel_id,
                "embeddableConfig": {"enhancements": {}},
                "panelRefName": ref_name,
            }
        )
        references.append({"id": panel["id"], "name": f"{panel_id}:{ref_name}", "type": panel["type"]})
    attributes = {
        "description": description,
        "kibanaSavedObjectMeta": _search_source(index_ref=False),
        "optionsJSON": json.dumps(
            {
                "useMargins": True,
                "syncColors": False,
                "syncCursor": True,
                "syncTooltips": False,
                "hidePanelTitles": False,
            }
        ),
        "panelsJSON": json.dumps(panels_json),
        "timeRestore": False,
        "title": f"Groundswell - {title}",
        "version": 1,
    }
    return _obj("dashboard", _id(prefix, "dashboard", key), attributes, references)


def _data_view(prefix: str, key: str, pattern: str, time_field: str | None) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "fieldAttrs": "{}",
        "fields": "[]",
        "runtimeFieldMap": "{}",
        "title": pattern,
        "typeMeta": "{}",
        "name": f"Groundswell {key}",
    }
    if time_field:
        attributes["timeFieldName"] = time_field
    return _obj("index-pattern", _id(prefix, "data-view", key), attributes, [])


# The data view each saved object reads, by id, and the index (alias) pattern it covers.
def data_views(prefix: str = "groundswell") -> dict[str, dict[str, Any]]:
    return {
        "mentions": _data_view(prefix, "mentions", f"{prefix}-mentions*", "published"),
        "tickets": _data_view(prefix, "tickets", f"{prefix}-tickets*", "doc.created"),
        "trends": _data_view(prefix, "trends", f"{prefix}-trends*", "doc.detected_at"),
        "authors": _data_view(prefix, "authors", f"{prefix}-authors*", None),
    }


def saved_objects(prefix: str = "groundswell") -> list[dict[str, Any]]:
    """All saved objects, referenced objects before the objects that reference them."""
    views = data_views(prefix)
    m, t, tr, a = (views[k]["id"] for k in ("mentions", "tickets", "trends", "authors"))
    avg_sentiment = _agg("1", "avg", "metric", field="sentiment_score")
    vis = {
        "sov_pie": _vis(
            prefix,
            "sov_pie",
            "Share of voice",
            "pie",
            m,
            [_count(), _terms("2", "entities", size=15)],
            params={"isDonut": True},
        ),
        "sov_time": _vis(
            prefix,
            "sov_time",
            "Share of voice over time",
            "area",
            m,
            [_count(), _date_histogram("2", "published"), _terms("3", "entities", "group", size=8)],
        ),
        "sentiment_time": _vis(
            prefix,
            "sentiment_time",
            "Sentiment over time",
            "histogram",
            m,
            [_count(), _date_histogram("2", "published"), _terms("3", "sentiment", "group", size=3)],
        ),
        "sentiment_avg": _vis(
            prefix,
            "sentiment_avg",
            "Mean sentiment by entity",
            "line",
            m,
            [avg_sentiment, _date_histogram("2", "published"), _terms("3", "entities", "group", size=8)],
        ),
        "emotions": _vis(
            prefix, "emotions", "Emotions", "pie", m, [_count(), _terms("2", "emotion", size=4)]
        ),
        "topics_table": _vis(
            prefix,
            "topics_table",
            "Topics",
            "table",
            m,
            [
                _count(),
                _terms("2", "topic_label", "bucket", size=25),
                _agg("3", "avg", "metric", field="sentiment_score"),
            ],
        ),
        "topics_time": _vis(
            prefix,
            "topics_time",
            "Topics over time",
            "histogram",
            m,
            [_count(), _date_histogram("2", "published"), _terms("3", "topic_label", "group", size=8)],
        ),
        "words": _vis(
            prefix, "words", "Frequent words", "tagcloud", m, [_count(), _terms("2", "words", size=50)]
        ),
        "voc": _vis(
            prefix,
            "voc",
            "Voice of the customer by business area",
            "histogram",
            m,
            [_count(), _terms("2", "business_area", size=10), _terms("3", "voc_kind", "group", size=5)],
        ),
        "safety_time": _vis(
            prefix,
            "safety_time",
            "Safety signals over time",
            "histogram",
            m,
            [_count(), _date_histogram("2", "published"), _terms("3", "safety_hazards", "group", size=6)],
            query="safety_severity > 0",
        ),
        "safety_products": _vis(
            prefix,
            "safety_products",
            "Safety signals by entity and severity",
            "table",
            m,
            [
                _count(),
                _terms("2", "entities", "bucket", size=20),
                _agg("3", "max", "metric", field="safety_severity"),
                _agg("4", "cardinality", "metric", field="author"),
            ],
            query="safety_severity > 0",
        ),
        "leaders_reach": _vis(
            prefix,
            "leaders_reach",
            "Opinion leaders by reach",
            "table",
            m,
            [
                _agg("1", "max", "metric", field="author_reach"),
                _terms("2", "author", "bucket", size=25),
                _agg("3", "sum", "metric", field="likes"),
                _agg("4", "sum", "metric", field="shares"),
                _agg("5", "avg", "metric", field="sentiment_score"),
            ],
        ),
        "leaders_score": _vis(
            prefix,
            "leaders_score",
            "Opinion-leader scores",
            "table",
            a,
            [
                _agg("1", "max", "metric", field="doc.score"),
                _terms("2", "doc.author", "bucket", size=25),
                _agg("3", "max", "metric", field="doc.reach"),
            ],
        ),
        "tickets_state": _vis(
            prefix,
            "tickets_state",
            "Tickets by state",
            "pie",
            t,
            [_count(), _terms("2", "doc.state", size=5)],
        ),
        "tickets_team": _vis(
            prefix,
            "tickets_team",
            "Tickets by team and severity",
            "histogram",
            t,
            [_count(), _terms("2", "doc.team", size=15), _terms("3", "doc.severity", "group", size=4)],
        ),
        "tickets_time": _vis(
            prefix,
            "tickets_time",
            "Tickets opened over time",
            "histogram",
            t,
            [_count(), _date_histogram("2", "doc.created"), _terms("3", "doc.type", "group", size=3)],
        ),
        "trends_time": _vis(
            prefix,
            "trends_time",
            "Shifts and blips detected",
            "histogram",
            tr,
            [_count(), _date_histogram("2", "doc.detected_at"), _terms("3", "doc.kind", "group", size=2)],
        ),
        "trend_drivers": _vis(
            prefix,
            "trend_drivers",
            "What drives the shifts",
            "tagcloud",
            tr,
            [_count(), _terms("2", "doc.drivers", size=40)],
            query='doc.kind : "shift"',
        ),
    }
    searches = {
        "negative": _saved_search(
            prefix,
            "negative",
            "Negative mentions",
            m,
            ["source", "author", "entities", "title", "sentiment_score"],
            "published",
            'sentiment : "negative"',
        ),
        "complaints": _saved_search(
            prefix,
            "complaints",
            "Complaints",
            m,
            ["source", "author", "business_area", "entities", "title"],
            "published",
            'voc_kind : "complaint"',
        ),
        "safety": _saved_search(
            prefix,
            "safety",
            "Safety signals",
            m,
            ["source", "author", "entities", "safety_hazards", "safety_severity", "url"],
            "published",
            "safety_severity > 0",
        ),
        "open_tickets": _saved_search(
            prefix,
            "open_tickets",
            "Open tickets",
            t,
            ["doc.title", "doc.team", "doc.severity", "doc.assignee", "doc.due"],
            "doc.created",
            'not doc.state : ("resolved" or "dismissed")',
        ),
        "shifts": _saved_search(
            prefix,
            "shifts",
            "Detected shifts",
            tr,
            ["doc.group_by", "doc.key", "doc.metric", "doc.direction", "doc.confidence", "doc.drivers"],
            "doc.detected_at",
            'doc.kind : "shift"',
        ),
    }

    dashboards = [
        _dashboard(
            prefix,
            "share_of_voice",
            "Share of voice",
            "Mentions per brand, product and competitor, and how the split moves.",
            [vis["sov_pie"], vis["sov_time"], vis["words"], searches["negative"]],
        ),
        _dashboard(
            prefix,
            "sentiment",
            "Sentiment over time",
            "Sentiment and emotion per day; mean sentiment per entity uses the mention-level score.",
            [
                vis["sentiment_time"],
                vis["sentiment_avg"],
                vis["emotions"],
                vis["voc"],
                searches["complaints"],
            ],
        ),
        _dashboard(
            prefix,
            "topics",
            "Topics",
            "What people talk about, and how topics rise and fall.",
            [vis["topics_table"], vis["topics_time"], vis["words"]],
        ),
        _dashboard(
            prefix,
            "safety",
            "Safety signals",
            "Mentions that describe injuries, burns, fires, choking, defects, illness or recalls.",
            [vis["safety_time"], vis["safety_products"], searches["safety"]],
        ),
        _dashboard(
            prefix,
            "opinion_leaders",
            "Opinion leaders",
            "Who is heard: reach and engagement, and the opinion-leader score computed by the NLP stage.",
            [vis["leaders_reach"], vis["leaders_score"]],
        ),
        _dashboard(
            prefix,
            "tickets",
            "Tickets",
            "Action tickets by state, team and severity, the shifts that opened them, and what drove those shifts.",
            [
                vis["tickets_state"],
                vis["tickets_team"],
                vis["tickets_time"],
                vis["trends_time"],
                vis["trend_drivers"],
                searches["open_tickets"],
                searches["shifts"],
            ],
        ),
    ]
    return [*views.values(), *searches.values(), *vis.values(), *dashboards]


def to_ndjson(objects: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(o, sort_keys=True, ensure_ascii=False) + "\n" for o in objects)


def read_ndjson(path: Path) -> list[dict[str, Any]]:
    """Saved objects of an export file (Kibana's trailing summary line, which has no `type`, is skipped)."""
    objects = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as err:
            raise StoreError(f"{path}:{number} is not JSON: {err}") from err
        if "type" in obj:
            objects.append(obj)
    return objects


# ---- which fields the saved objects use -----------------------------------------------------
@dataclass(frozen=True)
class FieldUse:
    object_id: str
    object_title: str
    data_view: str  # id of the index-pattern the field belongs to
    field: str
    use: str  # "time", "aggregatable", "numeric", "date", "column", "sort", "query"


_AGG_USES = {
    "terms": "aggregatable",
    "significant_terms": "aggregatable",
    "cardinality": "aggregatable",
    "top_hits": "column",
    "date_histogram": "date",
    "date_range": "date",
    "histogram": "numeric",
    "range": "numeric",
    "avg": "numeric",
    "sum": "numeric",
    "min": "numeric",
    "max": "numeric",
    "median": "numeric",
    "percentiles": "numeric",
    "std_dev": "numeric",
}
_KQL_FIELD = re.compile(r"(?:^|[\s(])(?:not\s+)?([A-Za-z_@][\w.@]*)\s*(?::|<=|>=|<|>)", re.I)


def field_uses(objects: list[dict[str, Any]]) -> list[FieldUse]:
    """Every (data view, field, use) the saved objects reference, for checking against the mappings."""
    uses: list[FieldUse] = []
    for obj in objects:
        attributes = obj.get("attributes", {})
        title = str(attributes.get("title", obj.get("id")))
        refs = {r["name"]: r["id"] for r in obj.get("references", []) if r.get("type") == "index-pattern"}
        view = refs.get("kibanaSavedObjectMeta.searchSourceJSON.index", "")

        def add(
            field: str | None, use: str, view_id: str = view, _title: str = title, _obj: dict[str, Any] = obj
        ) -> None:
            if field:
                uses.append(FieldUse(str(_obj.get("id")), _title, view_id, field, use))

        if obj.get("type") == "index-pattern":
            add(attributes.get("timeFieldName"), "time", str(obj.get("id")))
            continue
        source = _json_attr(attributes.get("kibanaSavedObjectMeta", {}).get("searchSourceJSON"))
        query = (source.get("query") or {}).get("query") if isinstance(source.get("query"), dict) else None
        if isinstance(query, str):
            for name in _KQL_FIELD.findall(query):
                if name.lower() not in ("and", "or", "not"):
                    add(name, "query")
        for flt in source.get("filter") or []:
            add((flt.get("meta") or {}).get("key"), "query")
        for column in attributes.get("columns") or []:
            if column != "_source":
                add(column, "column")
        for sort in attributes.get("sort") or []:
            if isinstance(sort, list) and sort:
                add(sort[0], "sort")
        vis_state = _json_attr(attributes.get("visState"))
        for agg in vis_state.get("aggs") or []:
            field = (agg.get("params") or {}).get("field")
            if isinstance(field, str) and agg.get("type") in _AGG_USES:
                add(field, _AGG_USES[agg["type"]])
    return uses


def _json_attr(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip():
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


# ---- import into Kibana -------------------------------------------------------------------------
@dataclass
class ImportResult:
    success: bool
    count: int
    errors: list[str]


def import_saved_objects(
    url: str,
    *,
    path: Path | None = None,
    prefix: str = "groundswell",
    auth: tuple[str, str] | None = None,
    verify: bool | str = True,
    space: str | None = None,
    timeout: float = 60.0,
) -> ImportResult:
    """POST the NDJSON to `<url>[/s/<space>]/api/saved_objects/_import?overwrite=true` (objects are replaced by id).

    `path` is a saved-objects NDJSON file; without it the objects are generated for `prefix` (the
    configured index prefix), so that the data views match the indices.
    """
    from groundswell.exitcodes import ServerUnreachable, short_reason

    if path is not None and not path.is_file():
        raise StoreError(f"saved-objects file not found: {path}")
    name, content = (
        (path.name, path.read_bytes())
        if path is not None
        else (f"{prefix}.ndjson", to_ndjson(saved_objects(prefix)).encode("utf-8"))
    )
    base = url.rstrip("/") + (f"/s/{space}" if space else "")
    endpoint = f"{base}/api/saved_objects/_import"
    try:
        response = httpx.post(
            endpoint,
            params={"overwrite": "true"},
            headers={"kbn-xsrf": "true"},
            files={"file": (name, content, "application/ndjson")},
            auth=auth,
            verify=verify,
            timeout=timeout,
        )
    except httpx.TransportError as err:
        raise ServerUnreachable(
            "Kibana",
            url,
            short_reason(err),
            "check that Kibana is running and reachable from here, and --url or store.elasticsearch.kibana_url",
        ) from err
    except httpx.HTTPError as err:
        raise StoreError(f"cannot reach Kibana at {endpoint}: {err}") from err
    if response.status_code >= 400:
        raise StoreError(
            f"Kibana refused the import at {endpoint}: {response.status_code} {response.text[:500]}"
        )
    try:
        body = response.json()
    except ValueError as err:
        raise StoreError(
            f"Kibana answered {endpoint} with something that is not JSON: {response.text[:200]!r}"
        ) from err
    errors = [
        f"{e.get('type')} {e.get('id')}: {(e.get('error') or {}).get('type')} {(e.get('error') or {}).get('message', '')}".strip()
        for e in body.get("errors") or []
    ]
    result = ImportResult(
        success=bool(body.get("success")), count=int(body.get("successCount", 0)), errors=errors
    )
    logger.info(
        "imported %d saved objects into %s (success=%s, %d errors)",
        result.count,
        base,
        result.success,
        len(errors),
    )
    return result


if __name__ == "__main__":
    SAVED_OBJECTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    SAVED_OBJECTS_PATH.write_text(to_ndjson(saved_objects()), encoding="utf-8")
    print(f"wrote {SAVED_OBJECTS_PATH}")
