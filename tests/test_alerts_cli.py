"""`groundswell tickets ...` through typer's CliRunner against a config file and its SQLite store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from alerts import list_tickets, load_ticket, process_events
from alerts.cli import app
from groundswell.config import load_config
from groundswell.store import open_store
from tests.kit.alerts import make_event, make_mention

runner = CliRunner()


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, str, str]:
    """A config file, a store with a product ticket (with evidence) and a competitor ticket."""
    path = tmp_path / "groundswell.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "data_dir": "data",
                "brands": [
                    {"id": "acme", "name": "Acme", "products": [{"id": "acme-kettle", "name": "Acme kettle"}]}
                ],
                "competitors": [{"id": "zephyr", "name": "Zephyr"}],
                "teams": [
                    {"id": "product-safety", "name": "Safety"},
                    {"id": "competitive-intelligence", "name": "CI"},
                    {"id": "communications", "name": "Comms"},
                ],
            }
        )
    )
    config = load_config(path)
    now = datetime.now(UTC)
    with open_store(config) as store:
        mentions = [
            make_mention(i, hazards=("fire_burn",), severity=2, thread=f"https://forum.example/thread/{i}")
            for i in range(3)
        ]
        store.upsert_mentions(mentions)
        process_events(
            config,
            store,
            [
                make_event(
                    "acme-kettle",
                    metric="safety_count",
                    baseline=2,
                    level=3,
                    mentions=mentions,
                    hazards={"fire_burn": 3},
                ),
                make_event("zephyr", metric="volume", drivers=("launch",)),
            ],
            now=now,
        )
        by_type = {t.type: t.id for t in list_tickets(store)}
    return path, by_type["product"], by_type["competitor"]


def _run(path: Path, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, [*args, "-c", str(path)])


def _ticket(path: Path, ticket_id: str):  # type: ignore[no-untyped-def]
    with open_store(load_config(path)) as store:
        return load_ticket(store, ticket_id)


def test_cli_list_shows_all_and_filters(setup: tuple[Path, str, str]) -> None:
    path, product, competitor = setup
    result = _run(path, "list")
    assert result.exit_code == 0, result.output
    assert product in result.output and competitor in result.output
    result = _run(path, "list", "--type", "product")
    assert product in result.output and competitor not in result.output
    result = _run(path, "list", "--team", "competitive-intelligence", "--state", "open")
    assert competitor in result.output and product not in result.output
    assert "no tickets match" in _run(path, "list", "--severity", "critical").output
    assert "no tickets match" in _run(path, "list", "--overdue").output


def test_cli_list_rejects_unknown_filter_values(setup: tuple[Path, str, str]) -> None:
    path, _, _ = setup
    result = _run(path, "list", "--state", "closed")
    assert result.exit_code == 2  # a usage error, as `search --sort` (README exit-code table)
    assert (
        "--state 'closed' is not allowed; allowed: open, acknowledged, in_progress, resolved, dismissed"
        in result.output
    )


def test_cli_show_lists_authors_threads_and_history(setup: tuple[Path, str, str]) -> None:
    path, product, _ = setup
    result = _run(path, "show", product)
    assert result.exit_code == 0, result.output
    for expected in (
        "product-safety",
        "user0",
        "user2",
        "https://forum.example/thread/1",
        "fire_burn",
        "open",
        "acknowledge",
    ):
        assert expected in result.output


def test_cli_lifecycle_commands_record_who(setup: tuple[Path, str, str]) -> None:
    path, product, competitor = setup
    assert _run(path, "ack", product, "--who", "ana").exit_code == 0
    assert _run(path, "assign", product, "--to", "bo", "--who", "ana").exit_code == 0
    assert _run(path, "start", product, "--who", "bo").exit_code == 0
    result = _run(path, "resolve", product, "--who", "bo", "--note", "firmware 1.2 recalls the batch")
    assert result.exit_code == 0 and "resolved" in result.output
    ticket = _ticket(path, product)
    assert ticket.assignee == "bo" and ticket.state == "resolved"
    assert [(h.action, h.who) for h in ticket.history[1:]] == [
        ("acknowledge", "ana"),
        ("assign", "ana"),
        ("start", "bo"),
        ("resolve", "bo"),
    ]
    assert ticket.history[-1].note == "firmware 1.2 recalls the batch"
    assert _run(path, "reopen", product, "--who", "cy").exit_code == 0
    assert _ticket(path, product).state == "open"

    assert _run(path, "dismiss", competitor, "--reason", "a rumour, not a launch").exit_code == 0
    ticket = _ticket(path, competitor)
    assert ticket.state == "dismissed" and ticket.dismiss_reason == "a rumour, not a launch"
    assert ticket.history[-1].who  # the OS user by default


def test_cli_illegal_transition_exits_1_with_allowed_actions(setup: tuple[Path, str, str]) -> None:
    path, product, _ = setup
    result = _run(path, "resolve", product)
    assert result.exit_code == 1
    assert (
        "cannot resolve ticket" in result.output
        and "allowed actions in state 'open': acknowledge, start, dismiss, assign" in result.output
    )


def test_cli_unknown_id_exits_1(setup: tuple[Path, str, str]) -> None:
    path, _, _ = setup
    for args in (("show", "nope"), ("ack", "nope"), ("assign", "nope", "--to", "bo")):
        result = _run(path, *args)
        assert result.exit_code == 1 and "no ticket with id 'nope'" in result.output


def test_cli_dismiss_needs_a_reason(setup: tuple[Path, str, str]) -> None:
    path, product, _ = setup
    assert _run(path, "dismiss", product).exit_code == 2  # usage error: --reason is required
    result = _run(path, "dismiss", product, "--reason", " ")
    assert result.exit_code == 1 and "needs a reason" in result.output


def test_cli_missing_config_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["list", "-c", str(tmp_path / "absent.yaml")])
    assert result.exit_code == 2 and "configuration file not found" in result.output


def test_cli_escalate_overdue(setup: tuple[Path, str, str]) -> None:
    path, product, _ = setup
    assert "no overdue tickets" in _run(path, "escalate").output
    config = load_config(path)
    with open_store(config) as store:
        doc = store.get_doc("tickets", product)
        assert doc is not None
        doc["due"] = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        store.put_doc("tickets", product, doc)
    assert product in _run(path, "list", "--overdue").output
    result = _run(path, "escalate")
    assert result.exit_code == 0 and f"escalated {product} to critical" in result.output
    assert _ticket(path, product).escalated


def test_cli_notify_sends_pending_notifications(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.kit.alerts import http_receiver

    with http_receiver() as hook:
        monkeypatch.setenv("GS_CLI_HOOK", hook.url)
        path = tmp_path / "groundswell.yaml"
        teams = [{"id": t, "name": t} for t in ("competitive-intelligence", "communications")]
        teams.append(
            {
                "id": "product-safety",
                "name": "Safety",
                "channels": [{"kind": "webhook", "url_env": "GS_CLI_HOOK"}],
            }
        )
        path.write_text(
            yaml.safe_dump({"data_dir": "data", "brands": [{"id": "acme", "name": "Acme"}], "teams": teams})
        )
        config = load_config(path)
        with open_store(config) as store:
            process_events(
                config,
                store,
                [make_event("acme", metric="negative_share", baseline=0.1, level=0.3)],
                deliver=False,
            )
        result = _run(path, "notify")
        assert result.exit_code == 0 and "1 sent, 0 failed" in result.output
        assert "0 sent" in _run(path, "notify").output
        assert len(hook.delivered) == 1
