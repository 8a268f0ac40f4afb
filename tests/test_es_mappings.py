"""Index templates: every `Mention` field (and every record field the dashboards use) is mapped
explicitly, strictly, with analyzers that exist."""

from __future__ import annotations

import types
import typing
from typing import Any

import pytest
from pydantic import BaseModel

from groundswell.mention import Mention, TargetSentiment
from groundswell.records import Ticket, TrendEvent
from groundswell.store.base import COLLECTIONS, TERM_FIELDS, StoreError
from index_mappings.templates import (
    MAPPING_VERSION,
    META_KEY,
    analysis,
    collection_mapping,
    index_templates,
    mentions_mapping,
)

AGGREGATABLE = {"keyword", "long", "integer", "short", "byte", "double", "float", "date", "boolean"}


def _scalar_fields(model: type[BaseModel]) -> list[str]:
    """Top-level fields whose values are scalars or lists of scalars (what the store indexes for queries)."""
    names = []
    for name, info in model.model_fields.items():
        inner = info.annotation
        if typing.get_origin(inner) in (typing.Union, types.UnionType):
            inner = next(a for a in typing.get_args(inner) if a is not type(None))
        if typing.get_origin(inner) is list:
            inner = typing.get_args(inner)[0]
        if typing.get_origin(inner) in (dict,) or (isinstance(inner, type) and issubclass(inner, BaseModel)):
            continue
        names.append(name)
    return names


def test_mentions_mapping_maps_every_mention_field() -> None:
    properties = mentions_mapping()["properties"]
    missing = sorted(set(Mention.model_fields) - set(properties))
    assert not missing, (
        f"Mention fields without a mapping: {missing}; add them to index_mappings/templates/mentions.json"
    )
    for name in TargetSentiment.model_fields:
        assert name in properties["target_sentiments"]["properties"]
        assert name in properties["entity_sentiments"]["properties"]


def test_mentions_mapping_is_strict_and_versioned() -> None:
    mapping = mentions_mapping()
    assert mapping["dynamic"] == "strict"
    assert mapping["_meta"][META_KEY] == MAPPING_VERSION
    assert mapping["properties"]["entity_sentiments"]["type"] == "nested"  # target-level sentiment per entity


@pytest.mark.parametrize("field", TERM_FIELDS)
def test_term_fields_are_aggregatable(field: str) -> None:
    assert mentions_mapping()["properties"][field]["type"] in AGGREGATABLE


def test_text_fields_use_the_social_text_analyzer() -> None:
    properties = mentions_mapping()["properties"]
    settings = analysis()
    for name in ("title", "text"):
        assert properties[name]["type"] == "text"
        assert properties[name]["analyzer"] == "social_text"
    social = settings["analyzer"]["social_text"]
    assert {"lowercase", "asciifolding", "english_stemmer"} <= set(social["filter"])
    assert settings["filter"]["english_stemmer"] == {"type": "stemmer", "language": "english"}


def _analyzers_used(mapping: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for spec in mapping.get("properties", {}).values():
        for key in ("analyzer", "search_analyzer", "normalizer"):
            if key in spec:
                found.add(spec[key])
        found |= _analyzers_used(spec)
        for sub in spec.get("fields", {}).values():
            found |= {sub[k] for k in ("analyzer", "normalizer") if k in sub}
    return found


def test_every_analyzer_and_normalizer_is_defined() -> None:
    settings = analysis()
    defined = set(settings["analyzer"]) | set(settings["normalizer"])
    for template in index_templates("groundswell", ilm=True).values():
        assert _analyzers_used(template["template"]["mappings"]) <= defined


@pytest.mark.parametrize(("collection", "model"), [("tickets", Ticket), ("trends", TrendEvent)])
def test_record_fields_are_mapped(collection: str, model: type[BaseModel]) -> None:
    doc_properties = collection_mapping(collection)["properties"]["doc"]["properties"]
    missing = sorted(set(_scalar_fields(model)) - set(doc_properties))
    assert not missing, f"{model.__name__} fields without a mapping in {collection}: {missing}"


def test_collection_mappings_keep_the_document_verbatim() -> None:
    for collection in COLLECTIONS:
        mapping = collection_mapping(collection)
        assert mapping["dynamic"] == "strict"
        assert mapping["properties"]["original"] == {"type": "object", "enabled": False}
        assert mapping["_meta"] == {META_KEY: MAPPING_VERSION, "kind": "collection", "collection": collection}
    with pytest.raises(StoreError, match="unknown collection 'users'"):
        collection_mapping("users")


def test_templates_add_lifecycle_only_with_ilm() -> None:
    with_ilm = index_templates("gs", ilm=True)["gs-mentions"]["template"]["settings"]
    without = index_templates("gs", ilm=False)["gs-mentions"]["template"]["settings"]
    assert with_ilm["index.lifecycle.name"] == "gs-mentions"
    assert with_ilm["index.lifecycle.rollover_alias"] == "gs-mentions"
    assert "index.lifecycle.name" not in without
    assert index_templates("gs", ilm=True)["gs-mentions"]["index_patterns"] == ["gs-mentions-*"]
    assert set(index_templates("gs", ilm=False)) == {"gs-mentions", *(f"gs-{c}" for c in COLLECTIONS)}
