"""Fast tests of the NLP stage's rule-based and model-free parts: safety, VoC, business area, text cleaning,
topics (on synthetic embeddings), author scores, training-data loading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from groundswell.config import parse_config
from groundswell.mention import BUSINESS_AREAS, SAFETY_HAZARDS, VOC_KINDS, Mention
from groundswell.store.sqlite import SqliteStore
from nlp.authors import score_authors
from nlp.enricher import _as_labels, clean_text
from nlp.safety import detect_safety, keyword_baseline
from nlp.topics import TopicModel
from nlp.train import cv_folds, load_csv, macro_recall
from nlp.voc import business_area, voc_kind


# ---- safety ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "hazard", "min_severity"),
    [
        ("My son swallowed a magnet from the toy and we went to the emergency room.", "choking", 3),
        ("The charger overheated and melted the outlet cover.", "fire_burn", 2),
        ("While driving 45 mph the brakes failed and the car would not stop.", "defect", 1),
        ("Received a recall notice for the stroller last week.", "recall", 1),
        ("The paint on the toy tested positive for lead, my daughter chews on it.", "illness", 2),
        ("My daughter cut her finger on a sharp edge of the toy and needed stitches.", "injury", 2),
    ],
)
def test_detect_safety_finds_hazard_with_severity(text: str, hazard: str, min_severity: int) -> None:
    signal = detect_safety(text)
    assert hazard in signal.hazards
    assert signal.severity >= min_severity
    assert set(signal.hazards) <= set(SAFETY_HAZARDS)
    assert signal.evidence[hazard]


@pytest.mark.parametrize(
    "text",
    [
        "This movie was a total fire, the soundtrack killed it!",
        "I'm sick of waiting for the weekend.",
        "Great phone, battery lasts all day.",
        "Forest fire near the highway, stay safe everyone",
        "I recall the first time I saw them live.",
    ],
)
def test_detect_safety_ignores_ordinary_talk(text: str) -> None:
    assert detect_safety(text).hazards == []


@pytest.mark.parametrize(
    "text",
    [
        # vehicle reports the rules missed (issue 19: vehicles 0.921 -> 0.980 with these patterns)
        "Pulling onto the highway there was a loud boom and the SUV had a total loss of power.",
        "While driving at any speed the vehicle will completely shutdown without warning.",
        "The car stops while driving and the warning light flashes.",
        "The driver's side door comes open and the hinge does not let it close.",
        "The fuel gauge reads half a tank and then it stops working, so I ran out of gas.",
        "At 50 mph the car became uncontrolable after hitting a seam in the pavement.",
    ],
)
def test_detect_safety_finds_vehicle_loss_of_power_and_control(text: str) -> None:
    assert "defect" in detect_safety(text).hazards


@pytest.mark.parametrize(
    "text",
    [
        "We lost power in the storm, no wifi all night",
        "My phone randomly stops playing music, so annoying",
        "The door swung open and my cat walked in like she owned the place",
        "Driving home without warning the rain started, love this weather",
    ],
)
def test_detect_safety_machine_stop_words_need_a_vehicle(text: str) -> None:
    assert detect_safety(text).hazards == []


def test_detect_safety_negated_injury_is_not_injury() -> None:
    signal = detect_safety("The toy broke apart but no one was injured.")
    assert "injury" not in signal.hazards


def test_detect_safety_severity_escalates_on_hospital() -> None:
    mild = detect_safety("The heater caught fire in the bedroom.")
    severe = detect_safety("The heater caught fire and my father was taken to the hospital.")
    assert severe.severity == 3
    assert mild.severity < severe.severity


def test_detect_safety_product_context_enables_ambiguous_words() -> None:
    text = "It started to smoke after an hour"
    assert detect_safety(text).hazards == []
    assert detect_safety(text, product_context=True).hazards == ["fire_burn"]


def test_keyword_baseline_is_naive() -> None:
    assert keyword_baseline("my heart is on fire for this song")
    assert not detect_safety("my heart is on fire for this song").hazards


# ---- VoC kind and business area ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "sentiment", "score", "expected"),
    [
        ("You should add a dark mode to the app.", "neutral", 0.0, "idea"),
        ("Does anyone know if the X2 works with Android?", "neutral", 0.0, "question"),
        ("Who in their right mind would buy this junk?", "negative", -0.8, "complaint"),
        ("Terrible battery, died after a day.", "negative", -0.9, "complaint"),
        ("Love this phone, best purchase this year.", "positive", 0.9, "compliment"),
        ("The store opens at nine.", "neutral", 0.0, "other"),
    ],
)
def test_voc_kind_rules(text: str, sentiment: str, score: float, expected: str) -> None:
    kind = voc_kind(text, sentiment=sentiment, sentiment_score=score)
    assert kind == expected
    assert kind in VOC_KINDS


def test_voc_kind_rating_overrides_neutral_model() -> None:
    assert voc_kind("It is what it is.", sentiment="neutral", sentiment_score=0.0, rating=1.0) == "complaint"
    assert voc_kind("It is what it is.", sentiment="neutral", sentiment_score=0.0, rating=5.0) == "compliment"


@pytest.mark.parametrize(
    ("text", "area"),
    [
        ("The package arrived two weeks late and the courier lost the tracking.", "delivery"),
        ("Way too expensive for what you get, not worth the price.", "pricing"),
        ("The staff were rude and the manager never called back.", "customer_service"),
        ("Their new TV commercial and the billboard campaign are everywhere.", "marketing"),
        ("The screen cracked and the battery drains in hours.", "product"),
        ("What a lovely sunny afternoon.", None),
    ],
)
def test_business_area_rules(text: str, area: str | None) -> None:
    found = business_area(text)
    assert found == area
    assert found is None or found in BUSINESS_AREAS


# ---- text cleaning --------------------------------------------------------------------------------
def test_clean_text_replaces_lone_surrogates_and_truncates() -> None:
    text, flags = clean_text("bad \ud800 char " + "x" * 100, max_chars=50)
    text.encode("utf-8")  # must not raise
    assert len(text) == 50
    assert any(f.startswith("invalid_unicode") for f in flags)
    assert any(f.startswith("truncated") for f in flags)


def test_clean_text_drops_exactly_the_unprintable_characters_up_to_u009f() -> None:
    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    kept = "".join(ch for ch in every if ch in "\n\t" or ch.isprintable() or ord(ch) > 0x9F)
    assert clean_text(every, max_chars=len(every)) == (kept, [])


def test_as_labels_reorders_model_columns() -> None:
    probs = np.array([[0.7, 0.2, 0.1]])  # a model whose labels are positive, neutral, negative
    out = _as_labels(probs, ("positive", "neutral", "negative"), ("negative", "neutral", "positive"))
    assert out[0].tolist() == pytest.approx([0.1, 0.2, 0.7])
    with pytest.raises(ValueError, match="lack"):
        _as_labels(probs, ("pos", "neu", "neg"), ("negative", "neutral", "positive"))


# ---- topics -------------------------------------------------------------------------------------
def _cluster(rng: np.random.Generator, centre: np.ndarray, n: int) -> np.ndarray:
    return centre + 0.05 * rng.standard_normal((n, centre.size))


def test_topic_model_creates_assigns_and_labels_topics() -> None:
    rng = np.random.default_rng(0)
    a, b = np.eye(16)[0], np.eye(16)[1]
    model = TopicModel(min_topic_size=3)
    texts_a = ["battery charger overheating battery"] * 5
    assignments, _ = model.update([f"a{i}" for i in range(5)], _cluster(rng, a, 5), texts_a)
    assert len({x.topic_id for x in assignments}) == 1
    assert assignments[0].topic_id >= 0 and assignments[0].emerging
    assert "battery" in (assignments[0].label or "")

    texts_b = ["delivery courier late parcel"] * 4
    second, _ = model.update([f"b{i}" for i in range(4)], _cluster(rng, b, 4), texts_b)
    assert {x.topic_id for x in second} != {assignments[0].topic_id}
    assert all(x.emerging for x in second)

    # a later battery mention joins the existing topic, which is no longer emerging
    third, _ = model.update(["a9"], _cluster(rng, a, 1), ["battery died again"])
    assert third[0].topic_id == assignments[0].topic_id
    assert not third[0].emerging


def test_topic_model_pooled_outliers_are_reassigned_later() -> None:
    rng = np.random.default_rng(1)
    centre = np.eye(8)[2]
    model = TopicModel(min_topic_size=3)
    first, reassigned = model.update(
        ["x0", "x1"], _cluster(rng, centre, 2), ["screen cracked", "screen cracked again"]
    )
    assert [x.topic_id for x in first] == [-1, -1] and reassigned == {}
    later, reassigned = model.update(["x2"], _cluster(rng, centre, 1), ["cracked screen"])
    assert later[0].topic_id >= 0
    assert reassigned == {"x0": later[0].topic_id, "x1": later[0].topic_id}


def test_topic_model_state_round_trip() -> None:
    rng = np.random.default_rng(2)
    model = TopicModel(min_topic_size=2)
    model.update(
        ["a", "b", "c"], _cluster(rng, np.eye(8)[0], 3), ["price hike", "price increase", "price up"]
    )
    restored = TopicModel.from_state(model.to_state())
    assert restored.topics.keys() == model.topics.keys()
    assert restored.topics[0].label == model.topics[0].label
    again, _ = restored.update(["d"], _cluster(rng, np.eye(8)[0], 1), ["price"])
    assert again[0].topic_id == 0


# ---- authors ------------------------------------------------------------------------------------
def _m(
    author: str,
    ext: str,
    *,
    reach: int = 0,
    likes: int = 0,
    source: str = "forum",
    parent: str | None = None,
    day: int = 0,
) -> Mention:
    return Mention(
        source=source,
        source_kind="forum",
        url=f"https://example.org/{ext}",
        external_id=ext,
        author=author,
        author_reach=reach,
        likes=likes,
        parent_id=parent,
        published=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=day),
        text=f"post {ext}",
    )


def test_score_authors_ranks_amplified_leader_first_and_marks_watched() -> None:
    config = parse_config({"opinion_leaders": [{"id": "jane", "name": "Jane", "handles": ["@JaneTech"]}]})
    store = SqliteStore(":memory:")
    leader = [
        _m("JaneTech", f"j{i}", reach=50_000, likes=40, source=s, day=i)
        for i, s in enumerate(["forum", "blog", "x"])
    ]
    replies = [_m(f"fan{i}", f"r{i}", parent=leader[0].id) for i in range(6)]
    self_reply = _m("JaneTech", "j-self", parent=leader[0].id, day=1)
    store.upsert_mentions([*leader, *replies, self_reply, _m("lurker", "l1")])
    docs = score_authors(config, store)
    assert docs[0]["author"] == "JaneTech"
    assert docs[0]["watched"] is True and docs[0]["person_id"] == "jane"
    assert docs[0]["replies_by_others"] == 6  # her reply to herself does not count
    assert docs[0]["sources"] == ["blog", "forum", "x"]
    lurker = next(d for d in docs if d["author"] == "lurker")
    assert lurker["score"] < docs[0]["score"] and lurker["watched"] is False
    assert store.get_doc("authors", "JaneTech")["score"] == docs[0]["score"]


# ---- training data ------------------------------------------------------------------------------
def test_load_csv_accepts_names_and_indices_and_rejects_unknown(tmp_path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("text,label\ngood,positive\nbad,0\nmeh,1\n")
    data = load_csv(path, ("negative", "neutral", "positive"))
    assert data.labels == [2, 0, 1]
    path.write_text("text,label\nodd,angry\n")
    with pytest.raises(ValueError, match="angry"):
        load_csv(path, ("negative", "neutral", "positive"))


def test_macro_recall_averages_per_class_recall() -> None:
    assert macro_recall([0, 0, 1, 2], [0, 1, 1, 2], 3) == pytest.approx((0.5 + 1 + 1) / 3)


def test_cv_folds_partition_the_rows_the_same_way_every_time() -> None:
    folds = cv_folds(103, 5)
    assert sorted(i for f in folds for i in f) == list(range(103))
    assert [len(f) for f in folds] == [21, 21, 21, 20, 20]
    assert cv_folds(103, 5) == folds and cv_folds(103, 5, seed=1) != folds
    with pytest.raises(ValueError, match="2 <= folds <= rows"):
        cv_folds(3, 5)
