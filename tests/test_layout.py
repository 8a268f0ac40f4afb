"""The layout's import rules: the kernel (`groundswell/` without `groundswell/app/`) imports no stage,
no stage imports the app, and the product never imports the test kit."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from groundswell.config import Config
from groundswell.store import StoreError, open_store, store_backends

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("crawlers", "nlp", "index_mappings", "trends", "alerts", "brief", "web")


def imported_modules(path: Path) -> set[str]:
    """Every absolute import in a file, at module level or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def top(module: str) -> str:
    return module.split(".")[0]


def kernel_files() -> list[Path]:
    return [p for p in (ROOT / "groundswell").rglob("*.py") if "app" not in p.relative_to(ROOT).parts[1:2]]


def test_the_kernel_imports_no_stage_and_not_the_app() -> None:
    offenders = {
        f"{path.relative_to(ROOT)} imports {module}"
        for path in kernel_files()
        for module in imported_modules(path)
        if top(module) in STAGES or module.startswith("groundswell.app")
    }
    assert not offenders, sorted(offenders)


@pytest.mark.parametrize("stage", STAGES)
def test_no_stage_imports_the_app(stage: str) -> None:
    offenders = {
        f"{path.relative_to(ROOT)} imports {module}"
        for path in (ROOT / stage).rglob("*.py")
        for module in imported_modules(path)
        if module.startswith("groundswell.app")
    }
    assert not offenders, sorted(offenders)


# Stages talk through the Store. The only stage-to-stage imports, each for a reason:
ALLOWED_BETWEEN_STAGES = {
    ("web", "alerts"),  # the analyst UI applies ticket actions through the lifecycle (CAS, history)
    ("brief", "index_mappings"),  # the Kibana data view id for the brief's Discover links (optional)
}


@pytest.mark.parametrize("stage", STAGES)
def test_stages_import_each_other_only_where_allowed(stage: str) -> None:
    offenders = {
        f"{path.relative_to(ROOT)} imports {module}"
        for path in (ROOT / stage).rglob("*.py")
        for module in imported_modules(path)
        if top(module) in STAGES
        and top(module) != stage
        and (stage, top(module)) not in ALLOWED_BETWEEN_STAGES
    }
    assert not offenders, sorted(offenders)


def test_the_product_never_imports_the_test_kit() -> None:
    product = [ROOT / "groundswell", ROOT / "dags", *(ROOT / stage for stage in STAGES)]
    offenders = {
        f"{path.relative_to(ROOT)} imports {module}"
        for folder in product
        for path in folder.rglob("*.py")
        for module in imported_modules(path)
        if top(module) == "tests"
    }
    assert not offenders, sorted(offenders)


def test_the_elasticsearch_store_is_an_installed_plugin() -> None:
    assert store_backends()["elasticsearch"].value == "index_mappings.store:ElasticsearchStore"


def test_an_unknown_backend_names_the_installed_ones(tmp_path: Path) -> None:
    config = Config.model_validate({"store": {"backend": "sqlite"}})
    config.store.backend = "cassandra"  # type: ignore[assignment]  # as a plugin-less config would name it
    with pytest.raises(
        StoreError, match=r"unknown store backend 'cassandra'; installed: sqlite, elasticsearch"
    ):
        open_store(config)
