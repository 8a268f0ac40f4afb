"""Every `groundswell` command follows one convention (groundswell/cliutils.py): the same `--config`
option, the same exit code for the same failure (the README's table, groundswell/exitcodes.py), and
logging configured once, by the root app."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
import typer

from groundswell import exitcodes
from groundswell.app import cli as root_cli

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(name="quiet_root")
def quiet_root_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    """The root callback's logging setup would add a handler to this test process's root logger."""
    monkeypatch.setattr(root_cli, "setup_logging", lambda verbose=False: None)


def _exit(args: list[str]) -> int:
    with pytest.raises(SystemExit) as exited:
        root_cli.entry(args)
    code = exited.value.code
    return code if isinstance(code, int) else 1


def _commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[str, Any]]:
    """(name, command) of every leaf command (typer builds them with its own copy of click)."""
    if hasattr(group, "commands"):
        return [
            found
            for name, command in sorted(group.commands.items())
            for found in _commands(command, (*path, name))
        ]
    return [(" ".join(path), group)]


# every command that reads the configuration, with what else it needs to get that far
CONFIG_COMMANDS = [
    ["run"],
    ["search", "kettle"],
    ["brief"],
    ["serve"],
    ["tickets", "list"],
    ["tickets", "escalate"],
    ["trends", "list"],
    ["trends", "detect"],
    ["crawl", "run"],
    ["crawl", "sources"],
    ["es", "check"],
    ["nlp", "eval"],  # exited 1 with a traceback before issue 20
]


@pytest.mark.parametrize("args", CONFIG_COMMANDS, ids=[" ".join(a) for a in CONFIG_COMMANDS])
def test_a_configuration_error_exits_2_with_its_message_in_every_command(
    args: list[str], tmp_path: Path, quiet_root: None, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "groundswell.yaml"
    broken.write_text(f"data_dir: {tmp_path}\nstor: {{}}\n")
    assert _exit([*args, "-c", str(broken)]) == exitcodes.CONFIG_ERROR == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "stor: unknown key; did you mean 'store'?" in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "groundswell.sqlite").exists()  # nothing was opened or changed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "kettle", "--sort", "best"], "--sort 'best' is not allowed"),
        (["tickets", "list", "--state", "closed"], "--state 'closed' is not allowed"),  # exited 1 before
        (["trends", "list", "--kind", "crisis"], "--kind 'crisis' is not allowed"),  # exited 1 before
    ],
    ids=["search --sort", "tickets list --state", "trends list --kind"],
)
def test_an_option_value_that_is_not_allowed_is_a_usage_error_in_every_command(
    args: list[str], message: str, tmp_path: Path, quiet_root: None, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "groundswell.yaml"
    config.write_text(f"data_dir: {tmp_path}\n")
    assert _exit([*args, "-c", str(config)]) == exitcodes.USAGE_ERROR == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err, err


def test_every_command_takes_the_same_config_option() -> None:
    commands = _commands(typer.main.get_command(root_cli.app))
    configs = {
        name: param
        for name, command in commands
        for param in command.params
        if param.param_type_name == "option" and param.name == "config"
    }
    assert len(configs) >= 20, sorted(configs)  # tickets x10, trends x2, es x4, crawl x2, nlp eval, ...
    shapes = {(tuple(p.opts), p.envvar, str(p.default), p.help, p.show_default) for p in configs.values()}
    assert shapes == {
        (("--config", "-c"), "GROUNDSWELL_CONFIG", "groundswell.yaml", "configuration file (YAML)", True)
    }


def test_only_the_root_app_configures_logging() -> None:
    calls = {
        str(path.relative_to(ROOT))
        for folder in ("alerts", "brief", "crawlers", "groundswell", "index_mappings", "nlp", "trends", "web")
        for path in (ROOT / folder).rglob("cli*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and node.attr == "basicConfig"
    }
    assert calls == {"groundswell/cliutils.py"}
