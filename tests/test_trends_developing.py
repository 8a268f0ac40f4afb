"""The two-stage event: a change under way is raised as 'developing' within days, then confirmed as a
shift under the same id; smooth growth is a trend, not a shift; a one-day spike is not developing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from groundswell.config import Config, parse_config
from groundswell.store.sqlite import SqliteStore
from tests.kit.synthetic import SCENARIOS, generate
from tests.kit.trends import DAY0, SHIFT_DAY, planted_mentions
from trends.detect import detect
from trends.detector import ShiftDetector
from trends.series import CountSeries


@pytest.fixture(scope="module")
def config() -> Config:
    return parse_config(
        {
            "brands": [
                {"id": "acme", "name": "Acme", "products": [{"id": "acme-phone", "name": "Acme Phone"}]}
            ],
            "competitors": [{"id": "globex", "name": "Globex"}],
        }
    )


def test_a_shift_is_developing_within_days_then_confirmed_under_the_same_id(config: Config) -> None:
    mentions = planted_mentions()
    store = SqliteStore(":memory:")
    seen: dict[int, dict[str, str]] = {}
    for day in range(SHIFT_DAY + 1, SHIFT_DAY + 11):  # the daily online run, one more day of data each
        store.upsert_mentions(
            [
                m
                for m in mentions
                if DAY0 + timedelta(days=day - 1) <= m.published < DAY0 + timedelta(days=day)
            ]
            if day > SHIFT_DAY + 1
            else [m for m in mentions if m.published < DAY0 + timedelta(days=day)]
        )
        summary = detect(config, store, now=DAY0 + timedelta(days=day, hours=1))
        seen[day] = {
            e.kind: e.id
            for e in summary.events
            if e.key == "acme-phone" and e.metric == "negative_share" and e.direction == "up"
        }
    first_developing = min(d for d, kinds in seen.items() if "developing" in kinds)
    first_shift = min(d for d, kinds in seen.items() if "shift" in kinds)
    assert first_developing - SHIFT_DAY <= 4  # the run of that day saw buckets up to day - 1
    assert first_developing < first_shift
    assert seen[first_developing]["developing"] == seen[first_shift]["shift"]
    stored = store.get_doc("trends", seen[first_shift]["shift"])
    assert stored is not None and stored["kind"] == "shift"
    developing = [
        d for d in store.query_docs("trends", where={"kind": "developing"}) if d["key"] == "acme-phone"
    ]
    assert not [d for d in developing if d["metric"] == "negative_share"]


def test_a_developing_signal_is_watched_by_the_owning_team_and_opens_no_ticket(config: Config) -> None:
    import alerts

    store = SqliteStore(":memory:")
    store.upsert_mentions(
        [m for m in planted_mentions() if m.published < DAY0 + timedelta(days=SHIFT_DAY + 3)]
    )
    summary = detect(config, store, now=DAY0 + timedelta(days=SHIFT_DAY + 3, hours=1))
    developing = [e for e in summary.events if e.kind == "developing" and e.key == "acme-phone"]
    assert developing and {e.team for e in developing} == {config.alerts.routing["product"]}
    assert all(e.authors >= config.trends.min_authors for e in developing)
    tickets = alerts.process_events(config, store, summary.events, now=DAY0 + timedelta(days=SHIFT_DAY + 3))
    assert tickets.opened == 0


def test_smooth_growth_is_not_a_shift() -> None:
    data = generate(202, n_series=150, scenarios={**{k: 0.0 for k in SCENARIOS}, "growth": 1.0})
    findings = ShiftDetector().fit(data.series).predict()
    shifted = {f.key for f in findings if f.kind == "shift"}
    assert len(shifted) <= 0.05 * len(data.series), sorted(shifted)


def test_a_one_day_spike_at_the_end_is_not_developing() -> None:
    rng = np.random.default_rng(4)
    times = [datetime(2026, 1, 5, tzinfo=UTC) + timedelta(days=i) for i in range(60)]
    series = []
    for k in range(50):
        count = rng.poisson(rng.gamma(15.0, np.full(60, 80.0) / 15.0)).astype(float)
        count[-1] *= 4  # a many-authored one-day spike on the last bucket
        series.append(CountSeries.from_arrays(group_by="entity", key=f"e{k}", times=times, count=count))
    findings = ShiftDetector().fit(series).predict()
    assert not [f for f in findings if f.kind in ("developing", "shift") and f.metric == "volume"]
