"""Index templates, ILM policy and aliases for the Elasticsearch store, and the mapping-version check.

Layout (with the default prefix `groundswell`):

- mentions: time-based indices `groundswell-mentions-000001`, `-000002`, ... behind the alias
  `groundswell-mentions` (read over all of them, write to the one marked `is_write_index`), rolled
  over by the ILM policy `groundswell-mentions` on real Elasticsearch;
- one index per document collection (`groundswell-tickets-000001` behind `groundswell-tickets`, and
  the same for trends, authors, notifications, state, queries, briefs).

Every mapping is `dynamic: strict` at the top level and carries `_meta.groundswell_mapping_version`;
the store refuses to start when templates are missing or older than `MAPPING_VERSION` and tells the
user to run `groundswell es install`. Servers without ILM or rollover (osmem-server, OpenSearch)
get the same templates without the lifecycle settings, with a logged warning.
"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from elasticsearch import ApiError, Elasticsearch, NotFoundError

from groundswell.store.base import COLLECTIONS, StoreError

logger = logging.getLogger(__name__)

MAPPING_VERSION = 1
META_KEY = "groundswell_mapping_version"
FIRST_INDEX_SUFFIX = "-000001"

# When to roll the mentions write index over where no ILM policy does it (same as the ILM hot phase).
ROLLOVER_CONDITIONS = {"max_age": "30d", "max_primary_shard_size": "25gb"}

# Collections whose documents hold values of changing type: only these top-level fields are indexed
# (the whole document is always kept verbatim in `original`).
PROJECTED_FIELDS: dict[str, tuple[str, ...]] = {"state": ("key",)}


@cache
def _load(name: str) -> Any:
    text = resources.files("index_mappings").joinpath("templates", name).read_text(encoding="utf-8")
    return json.loads(text)


def analysis() -> dict[str, Any]:
    """Analyzers for social text: standard tokenizer, possessives, lower case, ASCII folding, English stemming."""
    return copy.deepcopy(_load("analysis.json"))


def mentions_mapping() -> dict[str, Any]:
    """The explicit mapping of mention documents (every `Mention` field plus derived fields)."""
    mapping = copy.deepcopy(_load("mentions.json"))
    mapping["_meta"] = {META_KEY: MAPPING_VERSION, "kind": "mentions"}
    return mapping


def collection_mapping(collection: str) -> dict[str, Any]:
    """The mapping of one document collection: envelope fields plus the collection's known fields."""
    if collection not in COLLECTIONS:
        raise StoreError(f"unknown collection '{collection}'; allowed: {', '.join(COLLECTIONS)}")
    mapping = copy.deepcopy(_load("documents.json"))
    mapping["properties"]["doc"]["properties"] = copy.deepcopy(_load("collections.json")[collection])
    if collection in PROJECTED_FIELDS:
        mapping["properties"]["doc"]["dynamic"] = False
    mapping["_meta"] = {META_KEY: MAPPING_VERSION, "kind": "collection", "collection": collection}
    return mapping


def ilm_policy() -> dict[str, Any]:
    return copy.deepcopy(_load("ilm-mentions.json"))["policy"]


def mentions_alias(prefix: str) -> str:
    return f"{prefix}-mentions"


def collection_alias(prefix: str, collection: str) -> str:
    return f"{prefix}-{collection}"


def aliases(prefix: str) -> dict[str, str]:
    """Template name -> alias for everything `install` manages."""
    names = {mentions_alias(prefix): mentions_alias(prefix)}
    names.update({collection_alias(prefix, c): collection_alias(prefix, c) for c in COLLECTIONS})
    return names


def index_templates(prefix: str, ilm: bool) -> dict[str, dict[str, Any]]:
    """Composable index templates by name, ready for `PUT _index_template/<name>`."""
    meta = {META_KEY: MAPPING_VERSION, "managed_by": "groundswell"}
    settings: dict[str, Any] = {
        "number_of_shards": 1,
        "auto_expand_replicas": "0-1",
        "analysis": analysis(),
    }
    mention_settings = copy.deepcopy(settings)
    if ilm:
        mention_settings["index.lifecycle.name"] = mentions_alias(prefix)
        mention_settings["index.lifecycle.rollover_alias"] = mentions_alias(prefix)
    templates = {
        mentions_alias(prefix): {
            "index_patterns": [f"{mentions_alias(prefix)}-*"],
            "priority": 200,
            "_meta": meta,
            "template": {"settings": mention_settings, "mappings": mentions_mapping()},
        }
    }
    for collection in COLLECTIONS:
        templates[collection_alias(prefix, collection)] = {
            "index_patterns": [f"{collection_alias(prefix, collection)}-*"],
            "priority": 200,
            "_meta": meta,
            "template": {"settings": copy.deepcopy(settings), "mappings": collection_mapping(collection)},
        }
    return templates


@dataclass
class InstallReport:
    ilm: bool
    templates: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    upgraded: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def supports_ilm(client: Elasticsearch) -> bool:
    """True when the server has index lifecycle management (real Elasticsearch); False on osmem/OpenSearch."""
    try:
        client.perform_request("GET", "/_ilm/status", headers={"accept": "application/json"})
    except ApiError as err:
        if err.status_code in (400, 404, 405):
            return False
        raise
    return True


def install(client: Elasticsearch, prefix: str) -> InstallReport:
    """Install or upgrade the ILM policy, index templates and aliases; safe to run again."""
    report = InstallReport(ilm=supports_ilm(client))
    if report.ilm:
        client.ilm.put_lifecycle(name=mentions_alias(prefix), policy=ilm_policy())
    else:
        message = "the server has no _ilm API (osmem-server or OpenSearch?): mentions indices will not roll over by themselves"
        logger.warning(message)
        report.warnings.append(message)
    templates = index_templates(prefix, report.ilm)
    for name, body in templates.items():
        try:
            client.indices.put_index_template(
                name=name,
                index_patterns=body["index_patterns"],
                priority=body["priority"],
                meta=body["_meta"],
                template=body["template"],
            )
        except ApiError as err:
            raise StoreError(f"cannot install index template '{name}': {_reason(err)}") from err
        report.templates.append(name)
    for name, body in templates.items():
        alias = name
        indices = _alias_indices(client, alias)
        if not indices:
            index = f"{alias}{FIRST_INDEX_SUFFIX}"
            try:
                client.indices.create(index=index, aliases={alias: {"is_write_index": True}})
            except ApiError as err:
                raise StoreError(
                    f"cannot create index '{index}' behind alias '{alias}': {_reason(err)}"
                ) from err
            report.created.append(index)
            continue
        mappings = body["template"]["mappings"]
        for index in indices:
            try:
                client.indices.put_mapping(
                    index=index,
                    properties=mappings["properties"],
                    meta=mappings["_meta"],
                    dynamic=mappings["dynamic"],
                )
            except ApiError as err:
                raise StoreError(
                    f"cannot upgrade the mapping of '{index}' to version {MAPPING_VERSION}: {_reason(err)}; "
                    f"the change is not additive: reindex '{alias}' into a new index"
                ) from err
            report.upgraded.append(index)
    logger.info(
        "installed %d templates (ILM %s), created %s, upgraded %s",
        len(report.templates),
        "on" if report.ilm else "off",
        report.created or "nothing",
        report.upgraded or "nothing",
    )
    return report


def check(client: Elasticsearch, prefix: str) -> list[str]:
    """Problems with the installed templates and indices (empty when everything is current)."""
    problems: list[str] = []
    for alias in aliases(prefix):
        try:
            found = client.indices.get_index_template(name=alias)["index_templates"]
        except NotFoundError:
            found = []
        if not found:
            problems.append(f"index template '{alias}' is missing")
            continue
        version = (found[0]["index_template"].get("_meta") or {}).get(META_KEY)
        if version != MAPPING_VERSION:
            problems.append(_version_problem(f"index template '{alias}'", version))
        indices = _alias_indices(client, alias)
        if not indices:
            problems.append(f"alias '{alias}' does not exist")
            continue
        mappings = client.indices.get_mapping(index=alias)
        for index, body in mappings.items():
            version = (body.get("mappings", {}).get("_meta") or {}).get(META_KEY)
            if version != MAPPING_VERSION:
                problems.append(_version_problem(f"index '{index}'", version))
    return problems


def ensure_current(client: Elasticsearch, prefix: str) -> None:
    """Raise `StoreError` telling the user to run `groundswell es install` when anything is missing or old."""
    problems = check(client, prefix)
    if problems:
        raise StoreError(
            f"Elasticsearch indices for prefix '{prefix}' are not at mapping version {MAPPING_VERSION}: "
            + "; ".join(problems)
            + ". Run `groundswell es install` to install or upgrade them."
        )


def _version_problem(what: str, version: object) -> str:
    if isinstance(version, int) and version > MAPPING_VERSION:
        return f"{what} has mapping version {version}, newer than this Groundswell ({MAPPING_VERSION}): upgrade Groundswell"
    return f"{what} has mapping version {version}, expected {MAPPING_VERSION}"


def _alias_indices(client: Elasticsearch, alias: str) -> list[str]:
    try:
        return sorted(client.indices.get_alias(name=alias).keys())
    except NotFoundError:
        return []


def _reason(err: ApiError) -> str:
    info = err.info if isinstance(err.info, dict) else {}
    error = info.get("error")
    if isinstance(error, dict):
        return f"{error.get('type')}: {error.get('reason')}"
    return str(err)
