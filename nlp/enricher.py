"""The enricher: fills every enrichment field of a `Mention`, in batches, never dropping one.

Order per batch: clean the text (lone surrogates, length) -> language -> spaCy + entity ruler ->
sentiment (mention and per target clause) -> emotion -> embeddings + incremental topics -> VoC kind,
business area, safety signal. Anything that could not be done is recorded in `mention.flags` with the
reason; a failing component flags the batch instead of crashing the run.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from groundswell.config import Config
from groundswell.mention import EMOTIONS, SENTIMENTS, Mention, TargetSentiment
from groundswell.store.base import Filters, Store
from nlp import safety, voc
from nlp.classifier import ARTIFACTS_DIR, Classifier, load_classifier, pick_device
from nlp.entities import EntityLinker, target_segments
from nlp.safety_model import SafetyClassifier, combine, load_safety_head, safety_model_name
from nlp.topics import VERSION as TOPICS_VERSION
from nlp.topics import TopicModel

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from nlp.encoder import EncoderEmbedder, SharedEncoder

logger = logging.getLogger(__name__)

_URL = re.compile(r"https?://\S+|www\.\S+", re.I)
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
TOPIC_STATE_FILE = "nlp/topics.json"
MIN_LANGUAGE_CHARS = 20  # below this, language identification is a guess: kept, but not used to flag


# The shared encoder encodes at least this many mention texts per pass (`Enricher._prefetch`): with two
# threads, enrich() took ~10-30% less CPU per mention with passes of 128 than of 32 (same outputs).
PREFETCH_TEXTS = 128


def _joined(title: str, text: str) -> str:
    """A mention's title joined to its text, unless the text already holds it."""
    return f"{title}. {text}" if title and title not in text else text


# The control characters up to U+009F but tab and newline: every character up to U+009F that is not
# printable (above it, every character is kept); one regular expression instead of a test per character.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_text(text: str, max_chars: int) -> tuple[str, list[str]]:
    """Text safe for every model: lone surrogates replaced, control characters dropped, length capped."""
    flags: list[str] = []
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
        flags.append("invalid_unicode: lone surrogates replaced with '?'")
    text = _CONTROL.sub("", text)
    if len(text) > max_chars:
        flags.append(f"truncated: {len(text)} characters, models read the first {max_chars}")
        text = text[:max_chars]
    return text, flags


def _repair(text: str) -> str:
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


class LanguageDetector:
    name = "py3langid@0.4"

    def __init__(self) -> None:
        self._identifier = _language_identifier()

    def detect(self, text: str) -> tuple[str, float]:
        lang, prob = self._identifier.classify(text)
        return str(lang), float(prob)


# set (to "1") in the environment the enrichment fork server starts with (`nlp.preload`)
FORK_SERVER_ENV = "GROUNDSWELL_FORK_SERVER"
# py3langid's model file unpacked ahead (`unpack_language_model`), for `_language_identifier`
_UNPACKED_LANGUAGE_MODEL: list[bytes] = []


@cache
def _language_identifier() -> Any:
    """py3langid's model, read once per process: unpacking it (LZMA, then arrays) costs ~0.4 s of CPU,
    which every enricher built in the process paid again (the DAG's partitions under `dag.test()`, a
    worker's successive tasks, a demo and its re-runs). Classifying only reads it, so enrichers share it.
    Built from the bytes `unpack_language_model` unpacked, when it did."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    if _UNPACKED_LANGUAGE_MODEL:
        try:
            return _identifier_from_npz(_UNPACKED_LANGUAGE_MODEL.pop())
        except Exception:  # another py3langid layout: its own loader
            logger.warning("language model: unpacked bytes not readable; loading the file", exc_info=True)
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def unpack_language_model() -> Callable[[], None]:
    """Start unpacking py3langid's model file in a thread: one LZMA decompression of the whole file,
    which releases the GIL (~0.25 s of CPU beside what the caller does meanwhile; py3langid's own
    loader decompresses in 8 KB steps, each taking the GIL back). The returned function waits for it;
    `_language_identifier` then builds the identifier from those bytes (`nlp.preload`)."""
    import lzma
    import threading

    from py3langid.langid import MODEL_DIR, MODEL_FILE

    path = Path(MODEL_FILE)
    packed = (path if path.is_absolute() else Path(MODEL_DIR) / path).read_bytes()
    unpacked: list[bytes] = []
    thread = threading.Thread(target=lambda: unpacked.append(lzma.decompress(packed)), daemon=True)
    thread.start()

    def done() -> None:
        thread.join()
        _UNPACKED_LANGUAGE_MODEL[:] = unpacked

    return done


def _identifier_from_npz(raw: bytes) -> Any:
    """`LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)` from the file's unpacked
    bytes (what py3langid's `modelio.load_model` reads from them)."""
    import io

    from py3langid.langid import LanguageIdentifier
    from py3langid.modelio import _to_array

    with np.load(io.BytesIO(raw), allow_pickle=False) as data:
        return LanguageIdentifier(
            np.asarray(data["ptc"]),
            np.asarray(data["pc"]),
            data["classes"].tolist(),
            _to_array(data["nextmove"]),
            data["out_feat"].tolist(),
            norm_probs=True,
            tk_row=_to_array(data["nextmove_row"]),
        )


def _target_clauses(doc: Any, hits: list[Any]) -> dict[str, list[str]]:
    """The target clauses per entity of a mention naming several entities (`target_segments`); none
    for a mention naming one or none (its mention-level sentiment is its target's)."""
    if len({h.entity_id for h in hits}) < 2:
        return {}
    return target_segments(doc, hits)


@dataclass
class Models:
    """The heavy components; built once by `Enricher.from_settings`, injectable in tests."""

    linker: EntityLinker
    sentiment: Classifier
    emotion: Classifier
    embedder: SentenceTransformer | EncoderEmbedder
    embedder_name: str
    language: LanguageDetector = field(default_factory=LanguageDetector)
    # One MiniLM pass for sentiment, emotion and the embedding (offline artifacts); None: one pass each.
    encoder: SharedEncoder | None = None
    # issue 19: the learned safety head on that embedding (nlp/safety_model.py); None: rules only.
    safety_head: SafetyClassifier | None = field(default_factory=load_safety_head)


class Enricher:
    """Batched enrichment of mentions with every NLP component, on GPU when present."""

    def __init__(
        self, config: Config, models: Models, topics: TopicModel, *, topic_state: Path | None
    ) -> None:
        self._setup(config, models, topics, topic_state=topic_state)

    def _setup(
        self, config: Config, models: Models | None, topics: TopicModel, *, topic_state: Path | None
    ) -> None:
        self.config = config
        self._models = models
        self._load: Callable[[], Models] = _no_models
        self.topics = topics
        self.topic_state = topic_state
        self.batch_size = config.nlp.batch_size
        if models is not None and models.encoder is not None and models.encoder.device == "cuda":
            from nlp.encoder import GPU_MIN_BATCH

            self.batch_size = max(self.batch_size, GPU_MIN_BATCH)  # a GPU idles on small batches
        self.max_chars = config.nlp.max_chars
        self.reassigned_topics: dict[str, int] = {}
        self._docs: dict[int, tuple[Any, list[Any]]] = {}
        self._encoded: dict[str, Any] | None = None
        self._embeddings: np.ndarray | None = None
        self._embedding_row: dict[int, int] = {}
        # `_prefetch`'s `EntityLinker.link` result per batch, keyed by the batch's analysed texts
        self._linked: dict[tuple[str, ...], list[Any]] = {}

    @classmethod
    def from_settings(cls, config: Config, *, backend: str | None = None) -> Self:
        """Load every model. `backend` (torch, onnx, onnx-int8, auto): see `nlp.encoder`."""
        models = _load_models(config, pick_device(config.nlp.device), backend)
        topics, state_path = _topic_model(config)
        return cls(config, models, topics, topic_state=state_path)

    @classmethod
    def for_topics(cls, config: Config) -> Self:
        """An enricher for the ordered topics pass after partitions (`groundswell.app.partitions`): the
        topic model and state of `from_settings`, with the models loaded only if an embedding must be
        computed (the partitions cache theirs). On CUDA the models are loaded at once: they decide the
        batch size, which the topic model's updates follow."""
        device = pick_device(config.nlp.device)
        if device != "cpu":
            return cls.from_settings(config)
        topics, state_path = _topic_model(config)
        enricher = cls.__new__(cls)
        enricher._setup(config, None, topics, topic_state=state_path)
        enricher._load = partial(_load_models, config, device, None)
        return enricher

    @property
    def models(self) -> Models:
        if self._models is None:
            self._models = self._load()
        return self._models

    # ---- public ----------------------------------------------------------------------------
    def enrich(self, mentions: list[Mention], *, save_topics: bool = True) -> list[Mention]:
        """Enrich every mention (in place and returned, same order); never drops one.

        `save_topics=False` leaves the topic state to the caller's `save_topics()`: `enrich_store` saves
        it once per run instead of once per batch (the state grows with the topics and the pool; its
        JSON was ~5% of enrichment time when written after every batch).
        """
        step = self.batch_size
        group = step * self._prefetch_batches()
        for first in range(0, len(mentions), group):
            part = mentions[first : first + group]
            self._prefetch(part)
            try:
                for start in range(0, len(part), step):
                    self._enrich_batch(part[start : start + step])
            finally:
                self._linked = {}
                if self.models.encoder is not None:
                    self.models.encoder.release()
        if save_topics:
            self.save_topics()
        return mentions

    def write_reassigned_topics(self, store: Store) -> int:
        """Give stored mentions that were pooled, and later formed a topic, that topic; returns how many."""
        if not self.reassigned_topics:
            return 0
        pending = dict(self.reassigned_topics)
        self.topics.ensure_labels()
        earlier = store.get_mentions(list(pending))
        for mention in earlier:
            topic = self.topics.topics.get(pending[mention.id])
            if topic is not None:
                mention.topic_id, mention.topic_label = topic.id, topic.label
        store.upsert_mentions(earlier)
        self.reassigned_topics.clear()
        return len(earlier)

    def save_topics(self) -> None:
        if self.topic_state is None:
            return
        self.topic_state.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.topic_state.parent, suffix=".tmp")
        # json.dumps, not json.dump: dumping to a file takes the pure-Python encoder, 8x slower
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(self.topics.to_state()))
        os.replace(tmp, self.topic_state)

    def _prefetch_batches(self) -> int:
        """How many batches the shared encoder encodes at once (on the CPU packed path, where a row's
        result does not depend on its batch): at least `PREFETCH_TEXTS` texts per pass."""
        encoder = self.models.encoder
        if encoder is None or encoder.device != "cpu" or encoder.backend != "torch":
            return 1
        return max(1, -(-PREFETCH_TEXTS // self.batch_size))

    def _prefetch(self, part: list[Mention]) -> None:
        """Encode the mention texts of several batches and their target clauses in one pass
        (`SharedEncoder.prefetch`); each batch then takes its rows from there. The clauses need the
        entities: each batch's texts are linked here, in the same `EntityLinker.link` call per batch as
        the batch makes, and the batch takes the result (`_linked`) instead of linking again. Only the
        speed depends on it: a text that comes out otherwise in its batch (or a failure here) is simply
        computed there."""
        encoder = self.models.encoder
        self._linked = {}
        if encoder is None or len(part) <= self.batch_size:
            return
        try:
            texts: list[str] = []
            clauses: list[str] = []
            for start in range(0, len(part), self.batch_size):
                batch = part[start : start + self.batch_size]
                analysed = [t for t in (self.analysis_text(m) for m in batch) if t.strip()]
                texts += analysed
                if not analysed:
                    continue
                linked = self.models.linker.link(analysed)
                self._linked[tuple(analysed)] = linked
                for doc, hits in linked:
                    clauses += [c for found in _target_clauses(doc, hits).values() for c in found]
            encoder.prefetch(
                texts,
                ("sentiment", "emotion", "embedding"),
                batch_size=max(1, len(texts), len(clauses)),
                more=[(clauses, ("sentiment",))],
            )
        except Exception:  # the batches compute their own rows (and link their own texts)
            logger.warning("shared encoder prefetch failed on %d mentions", len(part), exc_info=True)
            encoder.release()

    def analysis_text(self, mention: Mention) -> str:
        """The text `_enrich_batch` analyses for `mention` (and embeds for its topic), without changing
        the mention."""
        return clean_text(_joined(_repair(mention.title), _repair(mention.text)) or "", self.max_chars)[0]

    # ---- one batch ---------------------------------------------------------------------------
    def _enrich_batch(self, batch: list[Mention]) -> None:
        models = self.models
        self._docs = {}
        texts: list[str] = []
        analysable: list[int] = []
        for i, mention in enumerate(batch):
            mention.flags = [f for f in mention.flags if not f.startswith(_OWN_FLAGS)]
            # Lone surrogates (a bad upstream decoder) cannot be stored or serialised: repair the fields.
            repaired = _repair(mention.text), _repair(mention.title)
            if repaired != (mention.text, mention.title):
                mention.flags.append("invalid_unicode: lone surrogates replaced with U+FFFD")
                mention.text, mention.title = repaired
            text, flags = clean_text(_joined(mention.title, mention.text) or "", self.max_chars)
            mention.flags.extend(flags)
            texts.append(text)
            words = _URL.sub(" ", text)
            if not text.strip():
                mention.flags.append("empty_text: nothing to analyse")
            elif not _LETTER.search(words):
                mention.flags.append("no_words: only links, emoji, digits or symbols")
                analysable.append(i)
            else:
                analysable.append(i)
            mention.models = {
                "language": models.language.name,
                "entities": models.linker.name,
                "sentiment": models.sentiment.name,
                "emotion": models.emotion.name,
                "topics": models.embedder_name,
                "voc_kind": voc.RULES_VERSION,
                "business_area": voc.RULES_VERSION,
                "safety": safety_model_name(models.safety_head),
            }
            self._language(mention, text, words)

        self._guard(batch, analysable, "entities", lambda: self._entities(batch, texts, analysable))
        self._encoded = self._shared_pass(texts, analysable)
        self._guard(batch, analysable, "sentiment", lambda: self._sentiment(batch, texts, analysable))
        self._guard(batch, analysable, "emotion", lambda: self._emotion(batch, texts, analysable))
        self._guard(batch, analysable, "topics", lambda: self._topics(batch, texts, analysable))
        for i, mention in enumerate(batch):
            text = texts[i]
            try:
                if i in analysable:
                    mention.voc_kind = voc.voc_kind(
                        text,
                        sentiment=mention.sentiment,
                        sentiment_score=mention.sentiment_score,
                        rating=mention.rating,
                    )
                    mention.business_area = voc.business_area(text)
                else:
                    mention.voc_kind, mention.business_area = "other", None
                signal = self._safety(text, mention, self._embedding(i))
                mention.safety_hazards = signal.hazards
                mention.safety_severity = signal.severity
            except Exception as exc:  # a rule must never lose a mention
                logger.exception("rules failed on mention %s", mention.id)
                mention.flags.append(f"rules_failed: {type(exc).__name__}: {exc}")
            mention.enriched = True

    def _safety(self, text: str, mention: Mention, embedding: np.ndarray | None) -> safety.SafetySignal:
        """The safety signal of one mention; `embedding` is its pooled MiniLM sentence embedding
        (L2-normalised, as `SentenceTransformer.encode` gives it; None when not computed)."""
        context = any(self._is_product(e) for e in mention.entities)
        # issue 19: the learned head reads this mention's shared MiniLM embedding and decides *whether*
        # it reports a product-safety incident (it generalises to products the rules were not written
        # from); the rules still name the hazard and the severity (nlp.safety_model.combine).
        head = self.models.safety_head
        if head is None or embedding is None:
            return safety.detect_safety(text, product_context=context)
        probability = float(head.predict_proba(embedding)[0])
        return combine(
            text, probability, head.threshold, alone_threshold=head.alone_threshold, product_context=context
        )

    def _embedding(self, i: int) -> np.ndarray | None:
        if self._embeddings is None or i not in self._embedding_row:
            return None
        return self._embeddings[self._embedding_row[i]]

    def _target_inputs(
        self, texts: list[str], idx: list[int]
    ) -> tuple[list[str], list[tuple[int, str, int, int]]]:
        """Mention-level texts plus, for mentions naming several entities, one text per target clause."""
        inputs = [texts[i] for i in idx]
        targets: list[tuple[int, str, int, int]] = []  # (mention index, entity id, first input, count)
        for i in idx:
            doc, hits = self._docs.get(i, (None, []))
            if doc is None:
                continue
            for entity_id, clauses in _target_clauses(doc, hits).items():
                targets.append((i, entity_id, len(inputs), len(clauses)))
                inputs.extend(clauses)
        return inputs, targets

    def _shared_pass(self, texts: list[str], idx: list[int]) -> dict[str, Any] | None:
        """Sentiment, emotion and embedding of the batch (and sentiment of its target clauses) in one
        encoder pass; None without a shared encoder, or when it failed (each step then runs alone and
        flags its own failure)."""
        self._embeddings, self._embedding_row = None, {}
        encoder = self.models.encoder
        if encoder is None or not idx:
            return None
        try:
            inputs, targets = self._target_inputs(texts, idx)
            mention_texts = inputs[: len(idx)]
            whole, clauses = encoder.encode_many(
                [
                    (mention_texts, ("sentiment", "emotion", "embedding")),
                    (inputs[len(idx) :], ("sentiment",)),
                ],
                batch_size=self.batch_size,
            )
        except Exception:
            logger.exception("shared encoder pass failed on a batch of %d mentions", len(idx))
            return None
        self._embeddings = whole["embedding"]
        self._embedding_row = {i: k for k, i in enumerate(idx)}
        sentiment = np.concatenate([whole["sentiment"], clauses["sentiment"]])
        return {
            "sentiment": sentiment,
            "targets": targets,
            "emotion": whole["emotion"],
            "embedding": whole["embedding"],
        }

    def _guard(self, batch: list[Mention], idx: list[int], component: str, step: Callable[[], None]) -> None:
        if not idx:
            return
        try:
            step()
        except Exception as exc:
            logger.exception("%s failed on a batch of %d mentions", component, len(idx))
            for i in idx:
                batch[i].flags.append(f"{component}_failed: {type(exc).__name__}: {exc}")

    def _language(self, mention: Mention, text: str, words: str) -> None:
        letters = len(_LETTER.findall(words))
        if letters == 0:
            return  # nothing to identify: keep the source's tag, if any
        lang, prob = self.models.language.detect(words)
        if mention.language and letters < MIN_LANGUAGE_CHARS:
            lang = mention.language  # the source's own language tag beats a guess on a few letters
        mention.language = lang
        if lang != "en" and letters >= MIN_LANGUAGE_CHARS and prob >= 0.5:
            mention.flags.append(f"non_english: {lang} (kept; the sentiment/emotion models are English-only)")

    def _is_product(self, entity_id: str) -> bool:
        entity = self.models.linker.entities.get(entity_id)
        return entity is not None and entity.kind == "product"

    def _entities(self, batch: list[Mention], texts: list[str], idx: list[int]) -> None:
        inputs = [texts[i] for i in idx]
        linked = self._linked.pop(tuple(inputs), None)  # linked by `_prefetch` for the clauses
        if linked is None:
            linked = self.models.linker.link(inputs)
        for i, (doc, hits) in zip(idx, linked, strict=True):
            batch[i].entities = self.models.linker.entity_ids(hits, batch[i].author)
            self._docs[i] = (doc, hits)
        for i, mention in enumerate(batch):
            if i not in self._docs:
                mention.entities = self.models.linker.entity_ids([], mention.author)

    def _sentiment(self, batch: list[Mention], texts: list[str], idx: list[int]) -> None:
        clf = self.models.sentiment
        if self._encoded is not None:
            raw, targets = self._encoded["sentiment"], self._encoded["targets"]
        else:
            inputs, targets = self._target_inputs(texts, idx)
            raw = clf.predict_proba(inputs, batch_size=self.batch_size)
        probs = _as_labels(raw, clf.labels, SENTIMENTS)
        for k, i in enumerate(idx):
            p = probs[k]
            mention = batch[i]
            mention.sentiment_probs = {lab: round(float(v), 4) for lab, v in zip(SENTIMENTS, p, strict=True)}
            mention.sentiment = SENTIMENTS[int(p.argmax())]
            mention.sentiment_score = round(float(p[2] - p[0]), 4)
            mention.target_sentiments = []
        per_target: dict[int, dict[str, np.ndarray]] = {}
        for i, entity_id, first, count in targets:
            per_target.setdefault(i, {})[entity_id] = probs[first : first + count].mean(axis=0)
        for i in idx:
            mention = batch[i]
            found = per_target.get(i, {})
            out = []
            for entity_id in mention.entities:
                entity = self.models.linker.entities.get(entity_id)
                p = found.get(entity_id)
                if p is None and entity is not None and entity.kind in ("brand", "competitor"):
                    # a brand linked through its product takes the product's target sentiment
                    products = [found[e] for e in found if self.models.linker.entities[e].brand == entity_id]
                    p = np.mean(products, axis=0) if products else None
                if p is None:
                    out.append(
                        TargetSentiment(
                            entity=entity_id,
                            label=mention.sentiment or "neutral",
                            score=mention.sentiment_score or 0.0,
                        )
                    )
                else:
                    out.append(
                        TargetSentiment(
                            entity=entity_id,
                            label=SENTIMENTS[int(p.argmax())],
                            score=round(float(p[2] - p[0]), 4),
                        )
                    )
            mention.target_sentiments = out

    def _emotion(self, batch: list[Mention], texts: list[str], idx: list[int]) -> None:
        clf = self.models.emotion
        raw = (
            self._encoded["emotion"]
            if self._encoded is not None
            else clf.predict_proba([texts[i] for i in idx], batch_size=self.batch_size)
        )
        probs = _as_labels(raw, clf.labels, EMOTIONS)
        for k, i in enumerate(idx):
            batch[i].emotion_probs = {
                lab: round(float(v), 4) for lab, v in zip(EMOTIONS, probs[k], strict=True)
            }
            batch[i].emotion = EMOTIONS[int(probs[k].argmax())]

    def _topics(self, batch: list[Mention], texts: list[str], idx: list[int]) -> None:
        if self._encoded is not None:
            embeddings = self._encoded["embedding"]
        else:
            embeddings = self.models.embedder.encode(
                [texts[i] for i in idx],
                batch_size=self.batch_size,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            self._embeddings, self._embedding_row = embeddings, {i: k for k, i in enumerate(idx)}
        assignments, reassigned = self.topics.update(
            [batch[i].id for i in idx], embeddings, [texts[i] for i in idx]
        )
        self.reassigned_topics.update(reassigned)
        for k, i in enumerate(idx):
            a = assignments[k]
            batch[i].topic_id = a.topic_id
            batch[i].topic_label = a.label
            if a.emerging:
                batch[i].flags.append(f"emerging_topic: {a.topic_id} ({a.label})")


def _no_models() -> Models:
    raise RuntimeError("this enricher was built with its models")  # pragma: no cover - never called


def _load_models(config: Config, device: str, backend: str | None) -> Models:
    """Every model of `Enricher.from_settings` on `device`."""
    import torch

    from nlp.encoder import default_threads

    if device == "cpu":
        torch.set_num_threads(default_threads())
    encoder = _shared_encoder(config, device, backend)
    if encoder is not None:
        sentiment: Classifier = encoder.classifier("sentiment")
        emotion: Classifier = encoder.classifier("emotion")
        embedder: SentenceTransformer | EncoderEmbedder = encoder.embedder()
    else:
        from sentence_transformers import SentenceTransformer

        from nlp.classifier import resolve_base

        profile = config.nlp.profile
        sentiment = load_classifier(
            "sentiment", config.nlp.sentiment_model, profile=profile, device=device, backend=backend
        )
        emotion = load_classifier(
            "emotion", config.nlp.emotion_model, profile=profile, device=device, backend=backend
        )
        try:
            embedder = SentenceTransformer(resolve_base(config.nlp.embedding_model), device=device)
        except OSError as exc:
            raise RuntimeError(
                f"nlp.embedding_model '{config.nlp.embedding_model}' could not be loaded: {exc}"
            ) from exc
    models = Models(
        linker=EntityLinker.from_settings(config),
        sentiment=sentiment,
        emotion=emotion,
        embedder=embedder,
        embedder_name=f"{config.nlp.embedding_model}@{TOPICS_VERSION}",
        encoder=encoder,
    )
    logger.info(
        "enricher ready on %s (%s): sentiment=%s emotion=%s entities=%s",
        device,
        encoder.backend if encoder else "separate models",
        sentiment.name,
        emotion.name,
        models.linker.name,
    )
    return models


def _topic_model(config: Config) -> tuple[TopicModel, Path]:
    """The persisted incremental topic model (a new one when there is no state yet) and its file."""
    state_path = config.path(TOPIC_STATE_FILE)
    topics = TopicModel()
    if state_path.exists():
        topics = TopicModel.from_state(json.loads(state_path.read_text()))
    logger.info("topic model: %d topics", len(topics.topics))
    return topics, state_path


def _shared_encoder(config: Config, device: str, backend: str | None) -> SharedEncoder | None:
    """The shared MiniLM encoder when sentiment, emotion and the embedding are offline artifacts on one base."""
    from nlp.classifier import PACKAGED_MINILM, ArtifactMeta, resolve_base

    nlp = config.nlp
    tasks: dict[str, Path] = {}
    for task, model in (("sentiment", nlp.sentiment_model), ("emotion", nlp.emotion_model)):
        if model is None and nlp.profile == "offline":
            tasks[task] = ARTIFACTS_DIR / task
        elif model is not None and (Path(model) / "meta.json").exists():
            tasks[task] = Path(model)
        else:
            return None
    bases = {resolve_base(ArtifactMeta.read(d).base) for d in tasks.values()}
    if bases != {resolve_base(nlp.embedding_model)} or resolve_base(nlp.embedding_model) != resolve_base(
        PACKAGED_MINILM
    ):
        return None  # another embedding model: its own pass
    from nlp.encoder import SharedEncoder, default_threads, resolve_backend

    # One process often builds several enrichers (the DAG's partitions and topics pass under
    # `dag.test()`, a worker's successive tasks, a demo and its re-runs): the weights are read-only, so
    # they are loaded once per process and model choice (a few seconds and ~400 MB each time).
    key = (
        tuple(sorted((task, str(path.resolve()), _mtimes(path)) for task, path in tasks.items())),
        nlp.embedding_model,
        device,
        resolve_backend(backend, device),
        os.environ.get("GROUNDSWELL_NLP_PRECISION", ""),
    )
    encoder = _ENCODERS.get(key)
    if encoder is None:
        encoder = SharedEncoder(tasks, embedding_base=nlp.embedding_model, device=device, backend=backend)
        _ENCODERS[key] = encoder
    elif encoder.backend == "torch" and device == "cpu":
        import torch

        encoder.threads = default_threads()  # the load may have changed since it was built
        torch.set_num_threads(encoder.threads)
    return encoder


_ENCODERS: dict[tuple[Any, ...], SharedEncoder] = {}


def _mtimes(artifact: Path) -> tuple[int, ...]:
    """Modification times of an artifact's files: a retrained artifact is loaded again."""
    return tuple(p.stat().st_mtime_ns for p in sorted(artifact.rglob("*")) if p.is_file())


_OWN_FLAGS = (
    "invalid_unicode",
    "truncated",
    "empty_text",
    "no_words",
    "non_english",
    "entities_failed",
    "sentiment_failed",
    "emotion_failed",
    "topics_failed",
    "rules_failed",
    "emerging_topic",
)


def _as_labels(probs: np.ndarray, labels: tuple[str, ...], wanted: tuple[str, ...]) -> np.ndarray:
    """Reorder a model's probability columns to `wanted`; a model lacking a wanted label is an error."""
    probs = np.asarray(probs, dtype=np.float32).reshape(-1, len(labels))
    missing = [w for w in wanted if w not in labels]
    if missing:
        raise ValueError(
            f"model labels {list(labels)} lack {missing}; a {len(wanted)}-class model with {list(wanted)} is needed"
        )
    cols = [labels.index(w) for w in wanted]
    out = probs[:, cols]
    return out / np.clip(out.sum(axis=1, keepdims=True), 1e-9, None)


# ---- store-level runner -------------------------------------------------------------------------
@dataclass
class EnrichSummary:
    seen: int = 0
    enriched: int = 0
    flagged: int = 0
    failed_writes: int = 0
    topics_reassigned: int = 0
    models: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def enrich_store(
    config: Config,
    store: Store,
    *,
    filters: Filters | None = None,
    batch_size: int | None = None,
    progress: Callable[[int], None] | None = None,
    enricher: Enricher | None = None,
) -> EnrichSummary:
    """Enrich the matching mentions (default: not yet enriched) batch by batch and upsert them.

    Idempotent: a second run finds nothing left to do with the default filter. Mentions that waited
    in the topic pool and later formed a new topic are updated with their topic too.
    """
    chosen = filters if filters is not None else Filters(enriched=False)
    ids = store.mention_ids(chosen)
    summary = EnrichSummary()
    if not ids:
        logger.info("enrich: nothing to do")
        return summary
    enricher = enricher or Enricher.from_settings(config)
    size = batch_size or enricher.batch_size
    if size == enricher.batch_size:  # several batches per enrich() call: encoded in one pass, same batches
        size *= enricher._prefetch_batches()
    try:
        for start in range(0, len(ids), size):
            batch = store.get_mentions(ids[start : start + size])
            enricher.enrich(batch, save_topics=False)
            result = store.upsert_mentions(batch)
            summary.seen += len(batch)
            summary.enriched += result.written
            summary.failed_writes += result.failed
            summary.flagged += sum(1 for m in batch if m.flags)
            if batch:
                summary.models = dict(batch[0].models)
            if progress:
                progress(len(batch))
        summary.topics_reassigned = enricher.write_reassigned_topics(store)
    finally:
        enricher.save_topics()  # once per run, and also when a store write failed part-way
    logger.info("enrich: %s", summary.as_dict())
    return summary
