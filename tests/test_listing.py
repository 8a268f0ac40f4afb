"""Listings read well at 80 columns and piped, take --json, and judge the demo's tickets on its clock."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from rich.console import Console
from typer.testing import CliRunner

from alerts import list_tickets, process_events
from alerts.cli import app as tickets_app
from groundswell.config import load_config
from groundswell.listing import Column, print_listing, record_clock, store_clock
from groundswell.store import open_store
from tests.kit.alerts import make_event, make_mention

ROWS = [
    {
        "id": f"tkt-{n:04d}-product-acme-kettle-safety",
        "state": "open",
        "team": "product-safety",
        "title": "Acme kettle: safety mentions rose from 2 to 9 a day, fire and burn hazards, "
        "carried by 14 authors on 3 sources",
    }
    for n in range(3)
]
COLUMNS: list[Column[dict[str, str]]] = [
    Column("id", lambda r: r["id"]),
    Column("state", lambda r: r["state"]),
    Column("team", lambda r: r["team"], drop_order=2),
    Column("title", lambda r: r["title"], free_text=True, drop_order=1),
]


def _render(
    console: Console, *, as_json: bool = False, capsys: pytest.CaptureFixture[str]
) -> tuple[str, str]:
    print_listing(
        ROWS, COLUMNS, title="3 ticket(s)", as_json=as_json, to_json=dict, console=console, empty="none"
    )
    out, err = capsys.readouterr()
    return out + (console.file.getvalue() if isinstance(console.file, io.StringIO) else ""), err


def test_an_80_column_terminal_gets_one_line_per_record_and_the_title_in_whole_words(
    capsys: pytest.CaptureFixture[str],
) -> None:
    console = Console(file=io.StringIO(), width=80, force_terminal=True, color_system=None)
    out, _ = _render(console, capsys=capsys)
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    for row in ROWS:
        (line,) = [n for n, text in enumerate(lines) if row["id"] in text]
        assert lines[line].split() == [row["id"], row["state"], row["team"]]
        assert " ".join(" ".join(lines[line + 1 : line + 3]).split()) == row["title"]  # wrapped at words
    assert "not shown" not in out


def test_a_wide_terminal_gets_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    console = Console(file=io.StringIO(), width=250, force_terminal=True, color_system=None)
    out, _ = _render(console, capsys=capsys)
    assert "┃" in out and all(row["title"] in out for row in ROWS)


def test_a_very_narrow_terminal_drops_short_fields_and_says_which(capsys: pytest.CaptureFixture[str]) -> None:
    console = Console(file=io.StringIO(), width=50, force_terminal=True, color_system=None)
    out, _ = _render(console, capsys=capsys)
    assert "narrow terminal: team not shown" in " ".join(out.split())
    assert all(row["id"] in out for row in ROWS)


def test_piped_output_is_one_record_per_line_with_the_title_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    console = Console(file=io.StringIO(), force_terminal=False)
    out, err = _render(console, capsys=capsys)
    lines = out.splitlines()
    assert lines[0].split("\t") == ["id", "state", "team", "title"]
    assert [line.split("\t") for line in lines[1:]] == [
        [r["id"], r["state"], r["team"], r["title"]] for r in ROWS
    ]
    assert "3 ticket(s)" in err and "3 ticket(s)" not in out


def test_json_is_one_object_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    console = Console(file=io.StringIO(), force_terminal=True)
    out, _ = _render(console, as_json=True, capsys=capsys)
    assert [json.loads(line) for line in out.splitlines()] == ROWS


@pytest.fixture(name="demo_store")
def demo_store_fixture(tmp_path: Path) -> tuple[Path, datetime]:
    """Tickets opened on a clock three weeks ago (as the demo's are) and that clock recorded."""
    path = tmp_path / "groundswell.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "data_dir": "data",
                "brands": [
                    {"id": "acme", "name": "Acme", "products": [{"id": "acme-kettle", "name": "Acme kettle"}]}
                ],
                "teams": [
                    {"id": "product-safety", "name": "Safety"},
                    {"id": "competitive-intelligence", "name": "CI"},
                    {"id": "communications", "name": "Comms"},
                ],
            }
        )
    )
    config = load_config(path)
    clock = (datetime.now(UTC) - timedelta(days=21)).replace(microsecond=0)
    with open_store(config) as store:
        mentions = [make_mention(i, hazards=("fire_burn",), severity=2) for i in range(3)]
        store.upsert_mentions(mentions)
        event = make_event("acme-kettle", metric="safety_count", baseline=2, level=3, mentions=mentions)
        process_events(config, store, [event], now=clock)
        record_clock(store, clock, by="demo")
    return path, clock


def test_the_demo_tickets_are_judged_on_the_demo_clock(demo_store: tuple[Path, datetime]) -> None:
    path, clock = demo_store
    with open_store(load_config(path)) as store:
        (ticket,) = list_tickets(store)
        assert store_clock(store) == (clock, f"judged on the demo clock, {clock:%Y-%m-%d %H:%M} UTC")
    assert clock < ticket.due < datetime.now(UTC), "on today's clock this ticket would be overdue"
    listed = CliRunner().invoke(tickets_app, ["list", "-c", str(path), "--json"])
    assert listed.exit_code == 0, listed.output
    (record,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert record["id"] == ticket.id and record["overdue"] is False
    assert (
        "no tickets match" in CliRunner().invoke(tickets_app, ["list", "-c", str(path), "--overdue"]).output
    )
    piped = CliRunner().invoke(tickets_app, ["list", "-c", str(path)])
    assert "judged on the demo clock" in piped.output and "overdue" not in piped.stdout


def test_without_a_recorded_clock_listings_use_the_wall_clock(tmp_path: Path) -> None:
    config = load_config(_empty_config(tmp_path))
    with open_store(config) as store:
        now, note = store_clock(store)
    assert note is None and abs((datetime.now(UTC) - now).total_seconds()) < 60


def _empty_config(tmp_path: Path) -> Path:
    path = tmp_path / "groundswell.yaml"
    path.write_text("data_dir: data\n")
    return path


def test_the_web_tickets_board_judges_the_demo_tickets_on_the_demo_clock(
    demo_store: tuple[Path, datetime],
) -> None:
    from fastapi.testclient import TestClient

    from web.app import create_app

    path, _ = demo_store
    config = load_config(path)
    with open_store(config) as store:
        (ticket,) = list_tickets(store)
        client = TestClient(create_app(config, store), base_url="http://127.0.0.1")
        board = client.get("/tickets").text
        page = client.get(f"/tickets/{ticket.id}").text
    assert "overdue since" not in board and 'class="overdue"' not in page
