"""Shared test set-up: offline model loading, the reference data folder, the shared demo run, and how
the suite is split over pytest-xdist workers (`scripts/test.sh` runs 2; `-n 0` runs serially)."""

from __future__ import annotations

import gc
import json
import os
import shutil
import socket
from datetime import date
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as `nlp` sets it, before any test imports torch
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    # Each xdist worker gets its share of the CPUs for torch/ONNX (nlp.encoder.default_threads would
    # read a load average that lags behind the other workers starting up, and oversubscribe).
    _cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    os.environ.setdefault(
        "GROUNDSWELL_NLP_THREADS", str(max(1, _cpus // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))
    )

from groundswell.paths import shared_data_dir


def _freeze_survivors_of_full_collections(phase: str, info: dict[str, int]) -> None:
    """A test process holds millions of long-lived objects (the modules of torch, transformers, spaCy,
    Airflow, SciPy, loaded models): each full collection of the cyclic garbage collector walked them
    all again, 0.7-0.8 s each, 25-30 times per xdist worker. Right after a full collection, what
    survived it is frozen (`gc.freeze`), so the next full collection walks only what the tests made
    since. Cycles that become garbage later among the frozen objects are not collected: memory the
    test process keeps until it exits, not a behaviour the tests see (none relies on the collector)."""
    if phase == "stop" and info["generation"] == 2:
        gc.freeze()


gc.callbacks.append(_freeze_survivors_of_full_collections)

# osmem-server and both-store-backend fixtures: `osmem_base`, `es_client`, `store`, `both_stores`
pytest_plugins = ["tests.kit.es"]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """`../shared/data`; tests that need it are skipped with a message when it is absent."""
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"reference data not found at {path} (set GROUNDSWELL_SHARED_DATA)")
    return path


DEMO_END = date(2026, 11, 22)  # the last day of the shared demo market (a Sunday)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`groundswell demo` run once per test run: the README's main job on the seeded demo market.

    The slowest path of the suite (crawl, enrich every mention with the offline models, detect,
    ticket, brief), so every test that needs an enriched demo store shares this one: the tests of
    DEMO_MODULES read it (`tests/test_end_to_end.py` checks it, `tests/test_dags_end_to_end.py`
    seeds its store from it); tests that run the pipeline again take a copy (`demo_copy`), so the
    demo stays as the demo command left it. Under pytest-xdist the first worker that needs it builds
    it (a file lock in the run's shared temporary folder) and the others read what it wrote.

    Run with `--no-pdf`: printing the brief with WeasyPrint costs seconds on the suite's critical path
    and is tested once in `tests/test_brief_build.py` (the demo's default stays `--pdf`).
    """
    from filelock import FileLock

    from groundswell.app.demo.truth import MarketTruth

    if not os.environ.get("PYTEST_XDIST_WORKER"):  # no xdist workers: this process is the whole run
        out = tmp_path_factory.mktemp("demo")
        meta = _build_demo(out)
    else:
        shared = tmp_path_factory.getbasetemp().parent  # one folder per run, above the workers' own
        out, done = shared / "demo", shared / "demo.json"
        with FileLock(shared / "demo.lock"):
            if done.exists():
                meta = json.loads(done.read_text(encoding="utf-8"))
            else:
                shutil.rmtree(out, ignore_errors=True)  # a worker that failed to build it left this
                out.mkdir()
                meta = _build_demo(out)
                done.write_text(json.dumps(meta), encoding="utf-8")
    truth = MarketTruth.model_validate_json((out / "web" / "truth.json").read_text(encoding="utf-8"))
    return {"out": out, "port": meta["port"], "output": meta["output"], "truth": truth, "end": DEMO_END}


def _build_demo(out: Path) -> dict[str, Any]:
    from typer.testing import CliRunner

    from groundswell.app.cli import app

    port = free_port()
    result = CliRunner().invoke(
        app, ["demo", "--out", str(out), "--end", DEMO_END.isoformat(), "--port", str(port), "--no-pdf"]
    )
    assert result.exit_code == 0, result.output + repr(result.exception)
    return {"port": port, "output": result.output}


@pytest.fixture
def demo_copy(demo_run: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """A private copy of the demo's folder (store, web, state, briefs), its configuration pointing at the
    copy: for tests that run the pipeline again, so they neither change what other tests read nor
    depend on the order they run in. The copy keeps the demo's web port (mention ids of web pages
    include it): tests that serve it run in one DEMO_COPY_MODULES unit, one at a time."""
    import yaml

    out = tmp_path / "demo"
    shutil.copytree(demo_run["out"], out, ignore=shutil.ignore_patterns("*.lock"))
    cfg_path = out / "groundswell.yaml"
    raw = yaml.safe_load(cfg_path.read_text(encoding="utf-8"))
    assert Path(raw["data_dir"]) == demo_run["out"], raw["data_dir"]
    raw["data_dir"] = str(out)
    cfg_path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return {**demo_run, "out": out}


# How the tests that need the demo are split over pytest-xdist workers (`--dist loadgroup`, see
# pytest_xdist_make_scheduler): the modules whose tests read the shared demo (DEMO_MODULES, in this
# order) are one unit, handed out first, because the demo is the suite's critical path: one worker
# builds it, checks it, then runs the DAG end-to-end tests seeded from it (their module-scoped Airflow
# home is built once). The modules whose tests run the pipeline again on a copy (DEMO_COPY_MODULES)
# are another unit, handed to another worker as soon as the demo is built (the first demo test has
# finished), else last, so that it neither waits for the demo nor ends the run on one worker alone.
# Both lists are checked against the tests' fixture closures at every collection (below): a module
# missing from its list, or listed wrongly, fails its tests with what to change.
DEMO_MODULES = ("tests/test_end_to_end.py", "tests/test_dags_end_to_end.py")
DEMO_COPY_MODULES = ("tests/test_end_to_end_reruns.py",)

_DEMO_LISTS_WRONG: dict[str, str] = {}  # module -> what to change in tests/conftest.py


def _demo_unit(module: str) -> int:
    """0: reads the shared demo (first), 1: everything else, 2: works on a copy of the demo (last)."""
    return 0 if module in DEMO_MODULES else 2 if module in DEMO_COPY_MODULES else 1


def _xdist_order(module: str) -> tuple[int, int]:
    """Where a module's tests go in an xdist worker's collection: by unit, DEMO_MODULES in their order."""
    unit = _demo_unit(module)
    return unit, DEMO_MODULES.index(module) if unit == 0 else 0


@pytest.hookimpl(tryfirst=True)  # sees the whole collection, before -k / -m deselect
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Checks DEMO_MODULES and DEMO_COPY_MODULES, then, on xdist workers, orders the collection: the
    demo readers first, the demo copies last (xdist hands units out in collection order, see
    pytest_xdist_make_scheduler)."""
    uses: dict[str, set[str]] = {}
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        uses.setdefault(module, set()).update(
            {"demo_run", "demo_copy"} & set(getattr(item, "fixturenames", ()))
        )
    for module, fixtures in uses.items():
        want = "DEMO_COPY_MODULES" if "demo_copy" in fixtures else "DEMO_MODULES" if fixtures else None
        listed = {0: "DEMO_MODULES", 1: None, 2: "DEMO_COPY_MODULES"}[_demo_unit(module)]
        if want != listed:
            _DEMO_LISTS_WRONG[module] = (
                f"list it in {want}"
                if want and not listed
                else f"move it from {listed} to {want}"
                if want
                else f"remove it from {listed}"
            )
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # a serial run keeps the plain collection order: some tests still depend on what ran before them
        # in the same process (Airflow's logging set-up, see test_alerts_notify.py), and that order is the
        # one they were written against
        items.sort(key=lambda item: _xdist_order(item.nodeid.split("::", 1)[0]))  # stable


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Fails every test of a module that DEMO_MODULES / DEMO_COPY_MODULES get wrong, with what to change
    (a failure rather than a usage error: an error in an xdist worker's collection reads as an
    internal error)."""
    module = item.nodeid.split("::", 1)[0]
    if module in _DEMO_LISTS_WRONG:
        pytest.fail(
            f"{module}: {_DEMO_LISTS_WRONG[module]} in tests/conftest.py (the tests that use demo_run "
            "or demo_copy are scheduled as units on the xdist workers)",
            pytrace=False,
        )


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: ignored where xdist is not installed
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadgroup` (scripts/test.sh): DEMO_MODULES as one unit, DEMO_COPY_MODULES as another,
    every other test on its own; units are handed out in collection order (demo readers first, demo
    copies last, see pytest_collection_modifyitems), not xdist's default of the largest unit first,
    except that the demo copies go to another worker than the demo's as soon as the demo is built.

    xdist's own grouping (`xdist_group` marks) renames node ids through an attribute that pytest 9 no
    longer reads, so the units are made here, from the node ids the controller sees.
    """
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class DemoUnitScheduling(LoadGroupScheduling):
        demo_node: Any = None  # the worker given the demo readers: it builds the demo
        demo_built = False  # a demo reader has finished: the demo is there for the copies

        def _split_scope(self, nodeid: str) -> str:
            unit = _demo_unit(nodeid.split("::", 1)[0])
            return {0: "demo_run", 2: "demo_copy"}.get(unit) or super()._split_scope(nodeid)

        def mark_test_complete(self, node: Any, item_index: int, duration: float = 0) -> None:
            if self._split_scope(self.registered_collections[node][item_index]) == "demo_run":
                self.demo_built = True
            super().mark_test_complete(node, item_index, duration)

        def _assign_work_unit(self, node: Any) -> None:
            if self.demo_built and node is not self.demo_node and "demo_copy" in self.workqueue:
                self.workqueue.move_to_end("demo_copy", last=False)  # this worker takes it next
            if next(iter(self.workqueue)) == "demo_run":
                self.demo_node = node
            super()._assign_work_unit(node)

    config.option.loadscopereorder = False
    return DemoUnitScheduling(config, log)
