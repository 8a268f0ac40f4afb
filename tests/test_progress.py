"""Progress without a terminal: long steps log done/total, rate and ETA every few seconds."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from rich.console import Console

from groundswell.progress import ProgressLog, format_duration, is_terminal


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "groundswell.progress"]


def test_logs_done_total_rate_and_eta_at_most_every_interval(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    caplog.set_level(logging.INFO, logger="groundswell.progress")
    with ProgressLog("enrich", total=1000, every=5.0, clock=clock) as progress:
        for _ in range(10):  # 100 items a second, a batch of 50 every half second
            clock.now += 0.5
            progress.advance(50)
        assert _lines(caplog) == ["enrich: 500/1000 (50%), 100.0/s, ETA 5s"]
        for _ in range(10):
            clock.now += 0.5
            progress(50)  # usable as a `progress(n)` callback
    assert _lines(caplog) == [
        "enrich: 500/1000 (50%), 100.0/s, ETA 5s",
        "enrich: 1000/1000 (100%), 100.0/s, ETA 0s",
        "enrich: 1000/1000 (100%), 100.0/s, done in 10s",
    ]


def test_unknown_total_logs_count_and_rate_without_eta(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    caplog.set_level(logging.INFO, logger="groundswell.progress")
    progress = ProgressLog("collect", every=1.0, clock=clock)
    clock.now += 2
    progress.advance(30)
    progress.finish()
    progress.finish()  # the last line is logged once
    assert _lines(caplog) == ["collect: 30, 15.0/s", "collect: 30, 15.0/s, done in 2s"]


def test_no_final_line_when_the_step_fails(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="groundswell.progress")
    with pytest.raises(RuntimeError), ProgressLog("enrich", total=10, clock=FakeClock()) as progress:
        progress.advance(3)
        raise RuntimeError("model failed")
    assert _lines(caplog) == []


def test_rejects_a_non_positive_interval() -> None:
    with pytest.raises(ValueError, match="every=0"):
        ProgressLog("enrich", every=0)


def test_durations_read_naturally() -> None:
    assert [format_duration(s) for s in (0.4, 59, 92, 3600 + 5 * 60 + 9)] == ["0s", "59s", "1m32s", "1h05m"]


def test_a_pipe_is_not_a_terminal() -> None:
    assert is_terminal(io.StringIO()) is False


def test_the_command_line_logs_enrich_progress_when_output_is_not_a_terminal(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import groundswell.app.cli as cli
    import groundswell.app.pipeline as pipeline
    from groundswell.config import parse_config
    from groundswell.mention import Mention
    from groundswell.store.sqlite import SqliteStore

    store = SqliteStore(":memory:")  # empty: the work to enrich only exists once collection has run
    collected = [
        Mention(
            source="s",
            source_kind="forum",
            url=f"https://f.example/{i}",
            text="x",
            published=datetime(2026, 1, 1, tzinfo=UTC),
        )
        for i in range(10)
    ]

    def fake_run(config: object, store: SqliteStore, **kwargs: Any) -> str:
        progress = kwargs["progress"]
        progress("collect", 0, None)
        store.upsert_mentions(collected)
        progress("enrich", 0, None)
        for done in (4, 10):
            store.upsert_mentions([m.model_copy(update={"enriched": True}) for m in collected[:done]])
            progress("enrich", done, None)
        progress("detect", 0, None)
        return "summary"

    monkeypatch.setattr(pipeline, "run_pipeline", fake_run)
    # not a terminal. A console of its own: monkeypatching `cli.console.file` would restore the file
    # it resolved to at this moment (this test's captured stdout) and pin every later command's output
    # there, so a `CliRunner` run later in the same process would see none of it.
    monkeypatch.setattr(cli, "console", Console(file=io.StringIO()))
    caplog.set_level(logging.INFO, logger="groundswell.progress")
    assert cli._run_with_progress(parse_config({}), store) == "summary"
    lines = _lines(caplog)
    assert len(lines) == 1 and lines[0].startswith("enrich: 10/10 (100%), ") and "done in" in lines[0]
