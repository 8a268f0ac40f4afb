"""The weekly market brief: numbers match the store, evidence is real, the PDF prints, empty weeks
are said plainly, the CLI works, and hostile post text never reaches the HTML unescaped."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from brief.build import BriefResult, build_brief, delta, pts, signed
from brief.cli import brief as brief_command
from brief.cli import parse_week
from brief.data import BriefData, collect_brief_data, kibana_discover_url, safe_url, week_bounds
from groundswell.store.base import Filters
from groundswell.store.sqlite import SqliteStore
from tests.kit.sample import HOSTILE, MarketTruth, make_market, synthetic_config

WEEK = date(2026, 11, 16)  # a Monday
NOW = datetime(2026, 11, 24, 9, tzinfo=UTC)
START, END = week_bounds(WEEK)


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> tuple[SqliteStore, MarketTruth, Path]:
    store = SqliteStore(":memory:")
    truth = make_market(store, week_start=WEEK, seed=7, per_week=100, weeks=3)
    return store, truth, tmp_path_factory.mktemp("brief")


@pytest.fixture(scope="module")
def data(market: tuple[SqliteStore, MarketTruth, Path]) -> BriefData:
    store, _, tmp = market
    return collect_brief_data(synthetic_config(tmp), store, WEEK, now=NOW)


@pytest.fixture(scope="module")
def built(market: tuple[SqliteStore, MarketTruth, Path]) -> tuple[BriefResult, str]:
    store, _, tmp = market
    result = build_brief(
        synthetic_config(tmp), store, week_start=WEEK, out_dir=tmp / "out", pdf=True, now=NOW
    )
    return result, result.html_path.read_text(encoding="utf-8")


def test_build_brief_writes_html_pdf_and_record(market, built) -> None:
    import pypdfium2 as pdfium

    store, truth, tmp = market
    result, _ = built
    assert result.html_path == tmp / "out" / "brief-2026-11-16.html"
    assert result.pdf_path == tmp / "out" / "brief-2026-11-16.pdf"
    assert result.mentions == len(truth.week_mention_ids) == store.count(Filters(start=START, end=END))
    pdf = pdfium.PdfDocument(str(result.pdf_path))
    assert len(pdf) == result.pages >= 3
    first = pdf[0].render(scale=0.5).to_pil().convert("L")
    lo, hi = first.getextrema()
    assert hi - lo > 100, "the first page renders blank"
    assert "share of voice" in pdf[0].get_textpage().get_text_range().lower()
    record = store.get_doc("briefs", "2026-11-16")
    assert record is not None
    assert record["pdf_path"] == str(result.pdf_path)
    assert record["pages"] == result.pages
    assert record["mentions"] == result.mentions


def test_brief_html_has_every_section_and_is_self_contained(built) -> None:
    result, html = built
    for section in (
        "summary",
        "share-of-voice",
        "sentiment",
        "voice-of-customer",
        "emerging-topics",
        "shifts",
        "safety",
        "opinion-leaders",
        "scorecard",
        "tickets",
        "evidence",
    ):
        assert f'id="{section}"' in html, section
        assert section in result.sections
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert "<script" not in html
    srcs = re.findall(r'src="([^"]*)"', html)
    assert len(srcs) >= 4 and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert not re.search(r"<link\b", html)


def test_share_of_voice_counts_equal_store_counts(market, data) -> None:
    store, _, tmp = market
    config = synthetic_config(tmp)
    families = {e.id: [e.id] for e in config.entities() if e.kind in ("brand", "competitor")}
    for e in config.entities():
        if e.kind == "product":
            families[e.brand].append(e.id)
    assert {r.entity_id for r in data.share_of_voice} == set(families)
    for row in data.share_of_voice:
        expected = store.count(Filters(start=START, end=END, entities=tuple(families[row.entity_id])))
        assert row.count == expected
        prev = store.count(
            Filters(start=START - timedelta(days=7), end=START, entities=tuple(families[row.entity_id]))
        )
        assert row.prev_count == prev
    assert sum(r.share for r in data.share_of_voice) == pytest.approx(1.0)
    assert [r.count for r in data.share_of_voice] == sorted(
        (r.count for r in data.share_of_voice), reverse=True
    )


def test_sentiment_series_last_week_matches_share_of_voice(market, data) -> None:
    store, _, _ = market
    sov = {r.entity_id: r.count for r in data.share_of_voice}
    for s in data.sentiment:
        assert s.points[-1].week == WEEK
        assert s.points[-1].count == sov[s.entity_id]
        assert -1.0 <= s.points[-1].mean <= 1.0
        assert 0.0 <= s.points[-1].negative_share <= 1.0
    # mean sentiment recomputed from the mentions themselves
    acme = next(s for s in data.sentiment if s.entity_id == "acme")
    ms = list(
        store.iter_mentions(Filters(start=START, end=END, entities=("acme", "acme-kettle", "acme-toaster")))
    )
    assert acme.points[-1].mean == pytest.approx(sum(m.sentiment_score or 0.0 for m in ms) / len(ms))


def test_evidence_links_resolve_to_real_mentions(market, built, data) -> None:
    _, truth, _ = market
    _, html = built
    anchors = set(re.findall(r'id="(ev-\d+)"', html))
    links = set(re.findall(r'href="#(ev-\d+)"', html))
    assert links and links <= anchors
    assert all(c.evidence in anchors for c in data.claims)
    assert len(data.claims) >= 6
    known = set(truth.mention_ids)
    shown = set(re.findall(r"<code>([0-9a-f]{20})</code>", html))
    assert shown and shown <= known
    for ev in data.evidence:
        assert [m.id for m in ev.mentions] == ev.mention_ids
        assert set(ev.mention_ids) <= known
        assert ev.total >= len(ev.mention_ids)
        assert all(m.url and m.url.startswith("https://") for m in ev.mentions)


def test_shifts_blips_and_safety_follow_the_store(market, data) -> None:
    store, truth, _ = market
    assert [r.event.id for r in data.shifts] == [truth.shift_id]
    assert {r.event.id for r in data.blips} == set(truth.blip_ids)
    assert all("filtered out" in r.summary for r in data.blips)
    shift_ev = next(e for e in data.evidence if e.anchor == data.shifts[0].evidence)
    assert shift_ev.mention_ids and all(
        "acme-kettle" in m.entities for m in store.get_mentions(shift_ev.mention_ids)
    )
    kettle = next(r for r in data.safety if r.entity_id == "acme-kettle")
    assert kettle.total == store.count(Filters(start=START, end=END, entities=("acme-kettle",), safety=True))
    assert data.safety_total == store.count(Filters(start=START, end=END, safety=True))


def test_tickets_opened_resolved_and_overdue(market, data) -> None:
    _, truth, _ = market
    tk = data.tickets
    assert tk is not None
    # sorted by severity: the critical one first, then the ticket the closing run opened for the week's shift
    assert [r.ticket.id for r in tk.opened] == [truth.ticket_ids["opened"], truth.ticket_ids["opened_after"]]
    assert truth.ticket_ids["later"] not in {r.ticket.id for r in tk.opened + tk.overdue}
    assert [r.ticket.id for r in tk.resolved] == [truth.ticket_ids["resolved"]]
    assert {r.ticket.id for r in tk.overdue} == {truth.ticket_ids["overdue"], truth.ticket_ids["opened"]}
    assert tk.as_of == END  # the week is over at NOW, so overdue is judged at its end


def test_emerging_topics_and_scorecard(market, data) -> None:
    store, truth, _ = market
    new = [t for t in data.topics if t.prev_count == 0]
    assert [t.label for t in new] == [truth.emerging_topic]
    assert all(t.count > t.prev_count for t in data.topics)
    assert [r.area for r in data.scorecard][:2] == ["product", "customer_service"]
    ours = ("acme", "acme-kettle", "acme-toaster", "brightco", "bright-blender")
    for row in data.scorecard:
        f = Filters(start=START, end=END, business_areas=(row.area,), entities=ours)
        assert row.count == store.count(f)
        if row.count:
            assert row.complaint_share == pytest.approx(
                store.count(f.replace(voc_kinds=("complaint",))) / row.count
            )


def test_voc_cloud_marks_kinds_and_skips_brand_names(data) -> None:
    kinds = {w.kind for w in data.cloud}
    assert kinds == {"compliment", "complaint", "idea"}
    words = {w.word for w in data.cloud}
    assert not words & {"acme", "kettle", "toaster", "brightco", "blender"}
    assert all(1 <= w.size <= 5 for w in data.cloud)
    assert max(data.cloud, key=lambda w: w.count).size == 5


@pytest.mark.parametrize("pdf", [True, False])
def test_pipeline_report_prints_the_pdf_as_configured(
    market, monkeypatch: pytest.MonkeyPatch, pdf: bool
) -> None:
    """`brief.pdf` decides whether the pipeline's report stage prints the PDF: the demo and DAG end-to-end
    tests run with it off, so this is where the wiring is checked (WeasyPrint itself is exercised by
    test_build_brief_writes_html_pdf_and_record)."""
    import brief.build
    from groundswell.app.pipeline import report

    printed: list[Path] = []

    def fake_write_pdf(html: str, path: Path) -> int:
        printed.append(path)
        path.write_bytes(b"%PDF-1.7\n")
        return 1

    monkeypatch.setattr(brief.build, "write_pdf", fake_write_pdf)
    store, _, tmp = market
    config = synthetic_config(tmp)
    config = config.model_copy(update={"brief": config.brief.model_copy(update={"pdf": pdf})})
    result = report(config, store, week_start=WEEK, out_dir=tmp / f"report-pdf-{pdf}")
    assert result.html_path.exists()
    assert printed == ([result.pdf_path] if pdf else [])
    assert (result.pdf_path is not None) == pdf


def test_empty_week_says_so_plainly(market) -> None:
    store, _, tmp = market
    quiet = WEEK + timedelta(days=7 * 10)
    result = build_brief(
        synthetic_config(tmp),
        store,
        week_start=quiet,
        out_dir=tmp / "quiet",
        pdf=True,
        now=NOW + timedelta(days=80),
    )
    html = result.html_path.read_text(encoding="utf-8")
    assert result.mentions == 0
    assert result.pages >= 1
    assert "No mentions were collected for this week" in html
    assert result.sections == ["summary", "tickets", "evidence"]  # the overdue ticket's evidence
    assert "Acme Kettle: fire/burn reports rising" in html
    assert 'id="share-of-voice"' not in html


def test_brief_escapes_hostile_text_everywhere(tmp_path: Path) -> None:
    store = SqliteStore(":memory:")
    make_market(store, week_start=WEEK, seed=3, per_week=40, weeks=2, hostile=True)
    result = build_brief(
        synthetic_config(tmp_path), store, week_start=WEEK, out_dir=tmp_path, pdf=False, now=NOW
    )
    html = result.html_path.read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    for payload in HOSTILE:
        assert payload not in html
    assert not re.search(r"<img[^>]*onerror", html, re.I)
    assert "<iframe" not in html and "<b>bold</b>" not in html
    assert 'href="javascript:' not in html.lower()
    assert not re.search(r"<a [^>]*href=\"(?!#|https?://)", html)
    # the planted text is shown, escaped: in posts, authors, topic labels, ticket titles and trend drivers
    assert html.count("&lt;script&gt;alert(") >= 3
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;iframe" in html


def test_kibana_links_only_on_elasticsearch(market) -> None:
    store, _, tmp = market
    config = synthetic_config(tmp, kibana_url="https://kibana.example:5601", backend="elasticsearch")
    data = collect_brief_data(config, store, WEEK, now=NOW)
    linked = [e for e in data.evidence if e.mention_ids]
    assert linked and all(
        e.kibana_url and e.kibana_url.startswith("https://kibana.example:5601/app/discover#/") for e in linked
    )
    assert all(all(i in e.kibana_url for i in e.mention_ids) for e in linked)
    from index_mappings.kibana import data_views

    view_id = data_views("groundswell")["mentions"]["id"]
    assert all(f"index:'{view_id}'" in e.kibana_url for e in linked)
    sqlite_config = synthetic_config(tmp, kibana_url="https://kibana.example:5601", backend="sqlite")
    assert all(e.kibana_url is None for e in collect_brief_data(sqlite_config, store, WEEK, now=NOW).evidence)


def test_kibana_discover_url_escapes_rison() -> None:
    url = kibana_discover_url("https://k/", ["abc", "def"], START, END)
    assert url.startswith("https://k/app/discover#/?_g=(time:(from:'2026-11-16T00:00:00%2B00:00'")
    assert "id:(%22abc%22%20or%20%22def%22)" in url


def test_safe_url_keeps_only_http_links() -> None:
    assert safe_url("https://example.com/a?b=1") == "https://example.com/a?b=1"
    for bad in (
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,<script>",
        "//evil",
        "",
        None,
        "http://",
    ):
        assert safe_url(bad) is None


def test_week_bounds_rejects_a_weekday_other_than_monday() -> None:
    with pytest.raises(ValueError, match=r"2026-11-18 is a Wednesday; it must be a Monday \(.*2026-11-16\)"):
        week_bounds(date(2026, 11, 18))


def test_parse_week_accepts_days_iso_weeks_and_defaults() -> None:
    assert parse_week("2026-11-18") == WEEK
    assert parse_week("2026-W47") == WEEK
    assert parse_week("2026w47") == WEEK
    assert parse_week(None, today=date(2026, 11, 25)) == WEEK
    assert parse_week(None, today=date(2026, 11, 23)) == WEEK
    with pytest.raises(typer.BadParameter, match="not a week"):
        parse_week("last tuesday")


def test_change_arrows_and_signed_numbers() -> None:
    assert signed(-0.001) == "+0.00"
    assert signed(0.256) == "+0.26"
    up_bad = pts(0.5, 0.2, higher_is_good=False)
    assert (up_bad.symbol, up_bad.css, up_bad.label) == ("▲", "up-bad", "+30.0 pts")
    down_good = delta(-0.1, 0.2, True)
    assert (down_good.symbol, down_good.css) == ("▼", "down-bad")
    assert delta(5, 5, None, "%+d").symbol == "●"
    assert delta(None, 1.0).label == "–"


def test_cli_brief_builds_from_a_config_file(tmp_path: Path) -> None:
    cfg = tmp_path / "groundswell.yaml"
    cfg.write_text(
        "name: CLI market\ndata_dir: data\nbrands:\n  - {id: acme, name: Acme, products: [{id: acme-kettle, name: Acme Kettle}]}\n"
        "competitors:\n  - {id: rivalco, name: RivalCo}\n",
        encoding="utf-8",
    )
    with SqliteStore(tmp_path / "data" / "groundswell.sqlite") as store:
        make_market(store, week_start=WEEK, seed=5, per_week=30, weeks=2)
    app = typer.Typer()
    app.command()(brief_command)
    res = CliRunner().invoke(app, ["--week", "2026-W47", "-c", str(cfg), "--no-pdf"])
    assert res.exit_code == 0, res.output
    out = tmp_path / "data" / "briefs" / "brief-2026-11-16.html"
    assert out.is_file() and "CLI market" in out.read_text(encoding="utf-8")
    assert "pdf:" not in res.output
    bad = CliRunner().invoke(app, ["--week", "soon", "-c", str(cfg), "--no-pdf"])
    assert bad.exit_code == 2 and "not a week" in bad.output


def test_unreadable_documents_are_counted_and_skipped(tmp_path: Path) -> None:
    store = SqliteStore(":memory:")
    make_market(store, week_start=WEEK, seed=9, per_week=30, weeks=2)
    store.put_doc("trends", "broken", {"id": "broken", "kind": "shift", "note": "not a TrendEvent"})
    store.put_doc("tickets", "broken", {"id": "broken", "title": "no state, no dates"})
    result = build_brief(
        synthetic_config(tmp_path), store, week_start=WEEK, out_dir=tmp_path, pdf=False, now=NOW
    )
    html = result.html_path.read_text(encoding="utf-8")
    assert "2 trend or ticket document(s) in the store could not be read" in html
    assert 'id="shifts"' in html and "Acme Kettle" in html


def test_brief_without_configured_brands_covers_all_mentions(tmp_path: Path) -> None:
    from groundswell.config import parse_config

    store = SqliteStore(":memory:")
    make_market(store, week_start=WEEK, seed=9, per_week=30, weeks=2)
    config = parse_config({"name": "No brands", "data_dir": str(tmp_path)})
    data = collect_brief_data(config, store, WEEK, now=NOW)
    assert data.share_of_voice == [] and data.sentiment == [] and data.safety == []
    assert data.scope.startswith("all mentions")
    assert data.cloud_counts["complaint"] == store.count(
        Filters(start=START, end=END, voc_kinds=("complaint",))
    )
    for row in data.scorecard:
        assert row.count == store.count(Filters(start=START, end=END, business_areas=(row.area,)))
    assert data.safety_total == data.safety_without_product > 0
    result = build_brief(config, store, week_start=WEEK, out_dir=tmp_path, pdf=False, now=NOW)
    html = result.html_path.read_text(encoding="utf-8")
    assert "No brands or competitors are configured" in html
    assert f"{data.safety_total} mention(s) carried a safety signal this week" in html


def test_headline_names_competitor_sentiment_only_when_it_moves_a_lot(data) -> None:
    from brief.data import COMPETITOR_NEWS

    for s in data.sentiment:
        claimed = any(c.text.startswith(f"Sentiment towards {s.name}") for c in data.claims)
        if s.ours:
            assert claimed
        else:
            cur, before = s.points[-1], s.points[-2]
            assert claimed == (abs(cur.mean - before.mean) >= COMPETITOR_NEWS)
    assert not any("-0.00" in c.text for c in data.claims)


def test_printable_drops_only_characters_the_pdf_font_lacks() -> None:
    from brief.build import printable

    assert (
        printable("Fire 🔥 on the kettle ▲▼●■ – café “quoted” ✓")
        == "Fire  on the kettle ▲▼●■ – café “quoted” ✓"
    )
