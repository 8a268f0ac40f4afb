"""Configuration: validation errors name the key, the value and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from groundswell.config import ConfigError, load_config, parse_config

MINIMAL = {
    "sources": [{"name": "forum", "kind": "forum", "url": "http://127.0.0.1:8765/forum/"}],
    "brands": [
        {
            "id": "acme",
            "name": "Acme",
            "products": [{"id": "steampro", "name": "SteamPro Kettle", "aliases": ["steam pro"]}],
        }
    ],
    "competitors": [{"id": "brewco", "name": "BrewCo"}],
    "opinion_leaders": [{"id": "kettle-queen", "name": "Kettle Queen", "handles": ["kettlequeen"]}],
}


def test_config_minimal_parses_and_flattens_entities() -> None:
    cfg = parse_config(MINIMAL)
    kinds = {e.id: (e.kind, e.ours, e.brand) for e in cfg.entities()}
    assert kinds == {
        "acme": ("brand", True, "acme"),
        "steampro": ("product", True, "acme"),
        "brewco": ("competitor", False, "brewco"),
        "kettle-queen": ("person", False, None),
    }
    assert cfg.entity("steampro").names == ["SteamPro Kettle", "steam pro"]


def test_config_unknown_source_kind_names_key_and_allowed_values() -> None:
    raw = {**MINIMAL, "sources": [{"name": "forum", "kind": "fourm", "url": "http://x/"}]}
    with pytest.raises(ConfigError) as err:
        parse_config(raw)
    message = str(err.value)
    assert "sources[0].kind" in message
    assert "'fourm'" in message
    assert "'forum'" in message and "'reddit'" in message


def test_config_unknown_key_is_rejected_with_its_path() -> None:
    with pytest.raises(ConfigError, match=r"brands\[0\]\.colour: unknown key"):
        parse_config({**MINIMAL, "brands": [{"id": "acme", "name": "Acme", "colour": "red"}]})


def test_config_missing_required_key_is_named() -> None:
    with pytest.raises(ConfigError, match=r"brands\[0\]\.name: required key is missing"):
        parse_config({"brands": [{"id": "acme"}]})


def test_config_bad_id_and_bad_url_are_explained() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({"sources": [{"name": "My Forum", "kind": "forum", "url": "ftp://x"}]})
    assert "not a valid id" in str(err.value)
    assert "not an http(s) URL" in str(err.value)


def test_config_routing_to_undeclared_team_is_rejected() -> None:
    raw = {**MINIMAL, "teams": [{"id": "product-safety", "name": "Product safety"}]}
    with pytest.raises(ConfigError, match="team 'competitive-intelligence' is not declared"):
        parse_config(raw)


def test_config_duplicate_ids_are_rejected() -> None:
    raw = {**MINIMAL, "competitors": [{"id": "acme", "name": "Acme again"}]}
    with pytest.raises(ConfigError, match="'acme' is declared twice"):
        parse_config(raw)


def test_load_config_reports_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_load_config_resolves_data_dir_against_the_file(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "groundswell.yaml"
    path.parent.mkdir()
    path.write_text("data_dir: data\nstore:\n  path: gs.sqlite\n", encoding="utf-8")
    cfg = load_config(path)
    assert cfg.path(cfg.store.path) == tmp_path / "conf" / "data" / "gs.sqlite"


def test_example_config_is_valid() -> None:
    example = Path(__file__).resolve().parents[1] / "examples" / "groundswell.yaml"
    if not example.exists():
        pytest.fail(f"the example configuration {example} must ship with the project")
    cfg = load_config(example)
    assert cfg.sources and cfg.brands and cfg.competitors and cfg.opinion_leaders and cfg.teams
