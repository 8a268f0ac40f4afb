"""Kibana saved objects: the versioned NDJSON is current, every field a saved object references exists in
the mappings with a type that supports its use, references resolve, and the import command posts the
file to Kibana's import API (tested against a local fake Kibana)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from index_mappings.cli import app
from index_mappings.kibana import (
    SAVED_OBJECTS_PATH,
    field_uses,
    import_saved_objects,
    read_ndjson,
    saved_objects,
    to_ndjson,
)
from index_mappings.templates import collection_mapping, mentions_mapping

NUMERIC = {"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float"}
AGGREGATABLE = NUMERIC | {"keyword", "date", "boolean", "ip"}


def flatten(properties: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Field path -> type, multi-fields included (`title.keyword`); objects without `enabled` are walked."""
    out: dict[str, str] = {}
    for name, spec in properties.items():
        path = f"{prefix}{name}"
        if "properties" in spec:
            out.update(flatten(spec["properties"], f"{path}."))
            if spec.get("type") == "nested":
                out[path] = "nested"
            continue
        out[path] = spec.get("type", "object")
        for sub, sub_spec in spec.get("fields", {}).items():
            out[f"{path}.{sub}"] = sub_spec["type"]
    return out


def supports(field_type: str, use: str) -> bool:
    return {
        "time": field_type == "date",
        "date": field_type == "date",
        "aggregatable": field_type in AGGREGATABLE,
        "numeric": field_type in NUMERIC,
        "sort": field_type in AGGREGATABLE,
        "column": field_type not in ("nested", "object"),
        "query": field_type not in ("nested", "object"),
    }[use]


def fields_by_view(objects: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    views = {o["attributes"]["title"]: o["id"] for o in objects if o["type"] == "index-pattern"}
    mappings = {"groundswell-mentions*": flatten(mentions_mapping()["properties"])}
    for collection in ("tickets", "trends", "authors"):
        mappings[f"groundswell-{collection}*"] = flatten(collection_mapping(collection)["properties"])
    assert set(views) == set(mappings)
    return {views[title]: fields for title, fields in mappings.items()}


def test_saved_objects_file_is_current() -> None:
    assert SAVED_OBJECTS_PATH.read_text(encoding="utf-8") == to_ndjson(saved_objects()), (
        "run: python -m index_mappings.kibana"
    )


def test_saved_objects_cover_the_dashboards_analysts_need() -> None:
    objects = read_ndjson(SAVED_OBJECTS_PATH)
    titles = {o["attributes"]["title"] for o in objects if o["type"] == "dashboard"}
    assert titles == {
        f"Groundswell - {t}"
        for t in (
            "Share of voice",
            "Sentiment over time",
            "Topics",
            "Safety signals",
            "Opinion leaders",
            "Tickets",
        )
    }
    kinds = {o["type"] for o in objects}
    assert kinds == {"index-pattern", "search", "visualization", "dashboard"}
    assert all(o["coreMigrationVersion"] == "8.8.0" for o in objects)


def test_every_referenced_field_is_mapped_with_a_fitting_type() -> None:
    objects = read_ndjson(SAVED_OBJECTS_PATH)
    by_view = fields_by_view(objects)
    uses = field_uses(objects)
    assert len(uses) > 60
    problems = []
    for use in uses:
        fields = by_view.get(use.data_view)
        if fields is None:
            problems.append(f"{use.object_title}: unknown data view {use.data_view}")
        elif use.field not in fields:
            problems.append(f"{use.object_title}: field '{use.field}' is not mapped")
        elif not supports(fields[use.field], use.use):
            problems.append(
                f"{use.object_title}: field '{use.field}' ({fields[use.field]}) cannot be used as {use.use}"
            )
    assert not problems, "\n".join(problems)


def test_every_reference_resolves_within_the_file() -> None:
    objects = read_ndjson(SAVED_OBJECTS_PATH)
    ids = {(o["type"], o["id"]) for o in objects}
    assert len(ids) == len(objects)
    seen: set[tuple[str, str]] = set()
    for obj in objects:
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in seen, (
                f"{obj['attributes']['title']} references {ref} before (or without) defining it"
            )
        seen.add((obj["type"], obj["id"]))
        if obj["type"] == "dashboard":
            panels = json.loads(obj["attributes"]["panelsJSON"])
            names = {r["name"].split(":", 1)[1] for r in obj["references"]}
            assert {p["panelRefName"] for p in panels} == names


def test_field_checker_finds_fields_in_real_kibana_exports(shared_data: Path) -> None:
    folder = shared_data / "real_sources" / "kibana"
    if not folder.is_dir():
        pytest.skip(f"real Kibana exports not found in {folder}")
    objects = read_ndjson(folder / "pfelk_24.07-unbound.ndjson")
    uses = field_uses(objects)
    assert ("@timestamp", "time") in {(u.field, u.use) for u in uses}
    assert {"client.ip", "dns.question.registered_domain"} <= {
        u.field for u in uses if u.use == "aggregatable"
    }
    lines = (folder / "pfelk_24.07-unbound.mapping.json").read_text().splitlines()
    component = (folder / "pfelk_24.07-unbound.component.mapping.json").read_text().splitlines()
    mapped = flatten(json.loads("\n".join(lines[1:]))["template"]["mappings"].get("properties", {}))
    mapped |= flatten(json.loads("\n".join(component[1:]))["template"]["mappings"]["properties"])
    assert mapped["client.ip"] == "ip" and supports(mapped["client.ip"], "aggregatable")


class FakeKibana:
    """Records saved-object imports; answers like Kibana 8."""

    def __init__(self, fail: bool = False) -> None:
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                message = BytesParser(policy=HTTP).parsebytes(
                    f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode() + body
                )
                parts = {
                    p.get_param("name", header="content-disposition"): p.get_content()
                    for p in message.iter_parts()
                }
                fake.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "file": parts.get("file")}
                )
                if self.headers.get("kbn-xsrf") is None:
                    self._reply(
                        400,
                        {
                            "statusCode": 400,
                            "error": "Bad Request",
                            "message": "Request must contain a kbn-xsrf header.",
                        },
                    )
                    return
                lines = [json.loads(x) for x in (parts.get("file") or b"").decode().splitlines() if x.strip()]
                if fail:
                    self._reply(
                        200,
                        {
                            "success": False,
                            "successCount": len(lines) - 1,
                            "errors": [
                                {
                                    "id": lines[0]["id"],
                                    "type": lines[0]["type"],
                                    "error": {"type": "conflict", "message": "version conflict"},
                                }
                            ],
                        },
                    )
                else:
                    self._reply(200, {"success": True, "successCount": len(lines), "successResults": []})

            def _reply(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(name="kibana")
def kibana_fixture() -> Iterator[FakeKibana]:
    fake = FakeKibana()
    yield fake
    fake.close()


def test_import_saved_objects_posts_ndjson_with_xsrf_header(kibana: FakeKibana) -> None:
    result = import_saved_objects(kibana.url, auth=("elastic", "secret"), space="marketing")
    (request,) = kibana.requests
    assert request["path"] == "/s/marketing/api/saved_objects/_import?overwrite=true"
    assert request["headers"]["kbn-xsrf"] == "true"
    assert request["headers"]["Authorization"].startswith("Basic ")
    assert request["file"] == SAVED_OBJECTS_PATH.read_bytes()
    assert (result.success, result.count, result.errors) == (True, len(read_ndjson(SAVED_OBJECTS_PATH)), [])


def _config_file(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "groundswell.yaml"
    path.write_text(
        f"store:\n  backend: elasticsearch\n  elasticsearch:\n    username_env: GS_TEST_ES_USER\n    password_env: GS_TEST_ES_PASS\n{extra}"
    )
    return path


def test_cli_kibana_import_reports_success(
    kibana: FakeKibana, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GS_TEST_ES_USER", "elastic")
    monkeypatch.setenv("GS_TEST_ES_PASS", "pw")
    result = CliRunner().invoke(
        app, ["kibana-import", "-c", str(_config_file(tmp_path)), "--url", kibana.url]
    )
    assert result.exit_code == 0, result.output
    assert f"imported {len(read_ndjson(SAVED_OBJECTS_PATH))} saved objects" in result.output
    assert kibana.requests[0]["path"] == "/api/saved_objects/_import?overwrite=true"


def test_cli_kibana_import_fails_on_import_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GS_TEST_ES_USER", raising=False)
    monkeypatch.delenv("GS_TEST_ES_PASS", raising=False)
    fake = FakeKibana(fail=True)
    try:
        config = _config_file(tmp_path, f"    kibana_url: {fake.url}\n")
        result = CliRunner().invoke(app, ["kibana-import", "-c", str(config)])
    finally:
        fake.close()
    assert result.exit_code == 1
    assert "conflict" in result.output and "errors" in result.output


def test_cli_kibana_import_without_url_says_what_to_set(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["kibana-import", "-c", str(_config_file(tmp_path))])
    assert result.exit_code == 2
    assert "pass --url or set store.elasticsearch.kibana_url" in result.output
