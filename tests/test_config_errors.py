"""Configuration errors are grouped (one line per distinct mistake) and suggest the closest key."""

from __future__ import annotations

import pytest

from groundswell.config import ConfigError, parse_config


def _problems(raw: dict) -> list[str]:  # type: ignore[type-arg]
    with pytest.raises(ConfigError) as err:
        parse_config(raw)
    return [line.strip() for line in str(err.value).splitlines()[1:]]


def _source(n: int, **extra: object) -> dict[str, object]:
    return {"name": f"s{n}", "kind": "forum", "url": f"http://forum{n}.example", **extra}


def test_the_same_misspelt_key_under_seven_sources_is_one_line_with_a_suggestion() -> None:
    problems = _problems({"sources": [_source(n, budgett={}) for n in range(7)]})
    assert problems == ["sources[0-6].budgett: unknown key; did you mean 'budget'? (7 places)"]


def test_scattered_items_are_listed_and_distinct_mistakes_keep_their_own_lines() -> None:
    raw = {"sources": [_source(n) for n in range(6)], "stor": {}}
    for n in (0, 2, 3, 5):
        raw["sources"][n]["enabeld"] = True
    problems = _problems(raw)
    assert "sources[0,2,3,5].enabeld: unknown key; did you mean 'enabled'? (4 places)" in problems
    assert "stor: unknown key; did you mean 'store'?" in problems
    assert len(problems) == 2


def test_a_nested_misspelling_names_the_key_allowed_there() -> None:
    (problem,) = _problems({"store": {"elasticsearch": {"hostz": ["http://localhost:9200"]}}})
    assert problem == "store.elasticsearch.hostz: unknown key; did you mean 'hosts'?"


def test_an_unknown_key_with_nothing_close_lists_the_allowed_keys() -> None:
    (problem,) = _problems({"brands": [{"id": "acme", "name": "Acme", "colour": "red"}]})
    assert problem.startswith("brands[0].colour: unknown key; allowed keys here: ")
    assert "name" in problem and "products" in problem
