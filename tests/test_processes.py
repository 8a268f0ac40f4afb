"""Enrichment in several local processes (`groundswell.app.processes`) writes what one process writes.

The workers are real spawned processes; their enricher is the stand-in of `test_partitions` (spaCy
entity ruler, rules and the incremental topic model for real; keyword classifiers and a hashed
embedding for the transformers), built by a module-level function that each worker imports.
"""

from __future__ import annotations

import importlib.util
import json
import multiprocessing
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from groundswell.app import processes
from groundswell.app.partitions import EMBEDDING_CACHE_DIR, PENDING_TOPIC
from groundswell.app.processes import (
    _PRELOAD,
    MIN_SHARE,
    SHARE_BASE_CHARS,
    EnrichWorkerFailed,
    _shares,
    enrich_local,
    resolve_processes,
)
from groundswell.config import Config, ConfigError, parse_config
from groundswell.mention import EMOTIONS, SENTIMENTS
from groundswell.store import open_store
from groundswell.store.base import Filters
from groundswell.store.sqlite import SqliteStore
from nlp.enricher import TOPIC_STATE_FILE, Enricher, Models
from nlp.entities import EntityLinker
from nlp.topics import TopicModel
from tests.test_nlp_enricher import CONFIG, HashEmbedder, KeywordClassifier
from tests.test_partitions import EmbeddingSafetyHead, _mentions


def build_stand_in(config: Config) -> Enricher:
    """The stand-in enricher, with the topic state of the data folder as `Enricher.from_settings` reads it."""
    models = Models(
        linker=EntityLinker.from_settings(config),
        sentiment=KeywordClassifier(SENTIMENTS),
        emotion=KeywordClassifier(EMOTIONS),
        embedder=HashEmbedder(),  # type: ignore[arg-type]
        embedder_name="hash-test@0",
        safety_head=EmbeddingSafetyHead(),  # type: ignore[arg-type]
    )
    state = config.path(TOPIC_STATE_FILE)
    topics = (
        TopicModel.from_state(json.loads(state.read_text()))
        if state.exists()
        else TopicModel(min_topic_size=3)
    )
    return Enricher(config, models, topics, topic_state=state)


def build_failing_in_workers(config: Config) -> Enricher:
    """The stand-in, except in the second worker process: it fails while loading its models."""
    if multiprocessing.current_process().name == "groundswell-enrich-2/2":
        raise RuntimeError("stand-in model failed to load")
    return build_stand_in(config)


COORDINATOR_EVENTS: list[str] = []  # what this (the coordinating) process did first, in order


def build_recorded(config: Config) -> Enricher:
    """The stand-in; in this process, recorded in `COORDINATOR_EVENTS`."""
    if multiprocessing.current_process().name == "MainProcess":
        COORDINATOR_EVENTS.append("coordinator's enricher")
    return build_stand_in(config)


def _config(folder: Path) -> Config:
    return parse_config({**CONFIG, "data_dir": str(folder), "nlp": {"batch_size": 4}})


def _store(config: Config) -> SqliteStore:
    store = SqliteStore(config.path(config.store.path))
    store.upsert_mentions(_mentions())
    return store


def _docs(store: SqliteStore) -> list[dict]:
    return [m.model_dump(mode="json") for m in store.iter_mentions()]


single_reassigned = 0  # set by `single`: earlier mentions given a topic formed later, in one process
single_flagged = 0  # set by `single`: mentions with a flag (emerging topic, safety, ...), in one process


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], dict]:
    """The documents and topic state one process writes."""
    global single_reassigned, single_flagged
    config = _config(tmp_path_factory.mktemp("single"))
    with _store(config) as store:
        summary = enrich_local(config, store, processes=1, build=build_stand_in)
        assert summary.enriched == len(_mentions()) and summary.topics_reassigned >= 1
        single_reassigned = summary.topics_reassigned
        single_flagged = summary.flagged
        return _docs(store), json.loads(config.path(TOPIC_STATE_FILE).read_text())


@pytest.mark.slow
def test_two_processes_write_what_one_process_writes_and_a_rerun_changes_nothing(
    single: tuple[list[dict], dict], tmp_path: Path
) -> None:
    config = _config(tmp_path)
    done: list[int] = []
    with _store(config) as store:
        summary = enrich_local(config, store, processes=2, build=build_stand_in, progress=done.append)
        assert summary.enriched == summary.seen == len(_mentions())
        assert sum(done) == len(_mentions())  # both processes' progress reaches the caller
        assert summary.topics_reassigned == single_reassigned
        assert summary.flagged == single_flagged > 0  # counted with the topic flags the workers leave out
        assert (_docs(store), json.loads(config.path(TOPIC_STATE_FILE).read_text())) == single
        assert not list(config.path(EMBEDDING_CACHE_DIR).glob("*.npz"))  # the topics pass cleared it

        again = enrich_local(config, store, processes=2, build=build_stand_in)
        assert again.seen == 0
        assert (_docs(store), json.loads(config.path(TOPIC_STATE_FILE).read_text())) == single


@pytest.mark.slow
@pytest.mark.parametrize("fork_server", [True, False])
def test_only_the_fork_server_exits_without_tearing_down(fork_server: bool, tmp_path: Path) -> None:
    # the fork server held the command's stdout and stderr open for ~0.5 s after it ended, tearing
    # down torch and spaCy; any other process importing the preload keeps its exit code
    import os
    import subprocess
    import sys

    from nlp.enricher import FORK_SERVER_ENV

    script = "import nlp.preload, os, sys\nassert os.environ.get(sys.argv[1]) is None\nraise SystemExit(3)\n"
    env = {k: v for k, v in os.environ.items() if k != FORK_SERVER_ENV}
    if fork_server:
        env[FORK_SERVER_ENV] = "1"
    done = subprocess.run(
        [sys.executable, "-c", script, FORK_SERVER_ENV], env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == (0 if fork_server else 3), done.stderr[-2000:]


def test_the_language_model_unpacked_in_a_thread_is_py3langid_s_own() -> None:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    from nlp import enricher

    reference = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    enricher._language_identifier.cache_clear()
    try:
        done = enricher.unpack_language_model()
        done()
        assert len(enricher._UNPACKED_LANGUAGE_MODEL) == 1
        built = enricher._language_identifier()
        assert not enricher._UNPACKED_LANGUAGE_MODEL  # built from the unpacked bytes, which it took
    finally:
        enricher._language_identifier.cache_clear()
    for name in ("nb_ptc", "nb_pc"):
        assert np.array_equal(getattr(built, name), getattr(reference, name)), name
    for name in ("nb_classes", "tk_nextmove", "tk_row", "tk_output", "_rowbase", "_norm_probs"):
        assert getattr(built, name) == getattr(reference, name), name
    texts = ["The Rocket X2 is great", "Le service client est nul", "Das Telefon ist kaputt", "x"]
    assert [built.classify(t) for t in texts] == [reference.classify(t) for t in texts]


@pytest.mark.slow
def test_the_fork_server_loads_while_this_process_prepares_the_topics(
    single: tuple[list[dict], dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the fork server's preload (~2.3 CPU-s on one core) overlaps what this process does before the
    # workers start (reading the order, the shares, the topic model), instead of preceding it
    real = processes._start_fork_server

    def start(context: object) -> None:
        COORDINATOR_EVENTS.append("fork server")
        real(context)

    monkeypatch.setattr(processes, "_start_fork_server", start)
    COORDINATOR_EVENTS.clear()
    config = _config(tmp_path)
    with _store(config) as store:
        enrich_local(config, store, processes=2, build=build_recorded)
        assert (_docs(store), json.loads(config.path(TOPIC_STATE_FILE).read_text())) == single
    assert COORDINATOR_EVENTS == ["fork server", "coordinator's enricher"]


def test_the_shares_take_the_order_in_turn_by_work(tmp_path: Path) -> None:
    config = _config(tmp_path)
    mentions = _mentions()
    for k, m in enumerate(mentions):  # long and short texts in turn: dealing by count would be uneven
        m.text, m.title = ("a long report about the Rocket X2 " * 6 if k % 2 else "short"), ""
    with SqliteStore(config.path(config.store.path)) as store:
        store.upsert_mentions(mentions)
        order, shares = _shares(store, 2, max_chars=config.nlp.max_chars)
        assert order == store.mention_ids(Filters(enriched=False))
        assert sorted(shares[0] + shares[1]) == sorted(order)
        rank = {i: k for k, i in enumerate(order)}
        assert all(share == sorted(share, key=rank.__getitem__) for share in shares)  # in the order
        text = {m.id: m.text for m in store.iter_mentions()}
        work = [sum(SHARE_BASE_CHARS + len(text[i]) for i in share) for share in shares]
        assert abs(work[0] - work[1]) <= SHARE_BASE_CHARS + max(map(len, text.values()))
        # at every point of the order the workers are within one mention's work of each other
        done = [0, 0]
        for i in order:
            done[0 if i in shares[0] else 1] += SHARE_BASE_CHARS + len(text[i])
            assert abs(done[0] - done[1]) <= SHARE_BASE_CHARS + max(map(len, text.values()))


@pytest.mark.slow
def test_a_failing_worker_is_a_clear_error_and_a_rerun_finishes_its_share(
    single: tuple[list[dict], dict], tmp_path: Path
) -> None:
    config = _config(tmp_path)
    with _store(config) as store:
        with pytest.raises(
            EnrichWorkerFailed, match=r"groundswell-enrich-2/2 RuntimeError: stand-in model"
        ) as err:
            enrich_local(config, store, processes=2, build=build_failing_in_workers)
        left = store.count(Filters(enriched=False))
        assert 0 < left < len(_mentions()) and f"{left} mentions are still to enrich" in str(err.value)
        # the first worker's share is kept, topics pending after the first mention the second did not enrich
        assert store.count(Filters(topic_ids=(PENDING_TOPIC,))) <= len(_mentions()) - left
        unfinished = {m.id for m in store.iter_mentions() if not m.enriched or m.topic_id == PENDING_TOPIC}
        # a re-run in one process finishes the rest and assigns every topic in the single-run order
        rerun = enrich_local(config, store, processes=1, build=build_stand_in)
        assert store.count(Filters(topic_ids=(PENDING_TOPIC,))) == 0
        assert (_docs(store), json.loads(config.path(TOPIC_STATE_FILE).read_text())) == single
        # its flagged count: the mentions it finished that carry a flag, the topic flags included
        finished = [m for m in store.iter_mentions() if m.id in unfinished]
        assert rerun.flagged == sum(1 for m in finished if m.flags)
        assert any("emerging_topic" in f for m in finished for f in m.flags)


def test_a_store_other_processes_cannot_open_is_enriched_in_one(
    single: tuple[list[dict], dict], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = _config(tmp_path)
    store = SqliteStore(":memory:")
    store.upsert_mentions(_mentions())
    assert not store.opened_from(config)
    enrich_local(config, store, processes=2, build=build_stand_in)
    assert "cannot be opened by other processes; enriching in one" in caplog.text
    assert _docs(store) == single[0]


def test_a_file_store_knows_the_configuration_that_opens_it(tmp_path: Path) -> None:
    config = _config(tmp_path)
    with SqliteStore(config.path(config.store.path)) as store:
        assert store.opened_from(config)
        assert not store.opened_from(_config(tmp_path / "elsewhere"))


def test_every_module_the_fork_server_preloads_exists() -> None:
    # the fork server skips a preload module that fails to import, silently: a wrong name would only
    # make every worker import it again
    missing = [name for name in _PRELOAD if importlib.util.find_spec(name) is None]
    assert not missing, f"processes._PRELOAD names modules that do not exist: {missing}"


def test_the_fork_server_loads_what_its_workers_would_each_load(tmp_path: Path) -> None:
    """The workers fork from the fork server after its preloads: the language identifier and the
    spaCy pipeline named to it (`nlp.preload`), which each worker would load (~0.4 + 0.5 s of CPU),
    are loaded there once; the worker's entity linker then takes that pipeline, loading nothing."""
    import os
    import subprocess
    import sys

    from groundswell.app.processes import _pipeline_named_to_the_fork_server
    from nlp.entities import PIPELINE_ENV, pipeline_key

    assert "nlp.preload" in _PRELOAD
    config = parse_config({"data_dir": str(tmp_path), **CONFIG})
    with _pipeline_named_to_the_fork_server(config):
        named = os.environ[PIPELINE_ENV]
    assert PIPELINE_ENV not in os.environ  # only while the workers start
    assert json.loads(named) == list(pipeline_key(config))
    script = (
        "import importlib, json, sys\n"
        f"for name in {list(_PRELOAD)!r}:\n"
        "    importlib.import_module(name)\n"
        "from nlp.enricher import _language_identifier\n"
        "assert _language_identifier.cache_info().currsize == 1, 'identifier not loaded'\n"
        "from nlp import entities\n"
        "assert len(entities._PIPELINES) == 1, 'pipeline not loaded'\n"
        "loaded = next(iter(entities._PIPELINES.values()))\n"
        "entities._pipeline = None  # loading again would fail\n"
        "from groundswell.config import parse_config\n"
        "config = parse_config(json.loads(sys.argv[1]))\n"
        "assert entities.EntityLinker.from_settings(config).nlp is loaded\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps({"data_dir": str(tmp_path), **CONFIG})],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, PIPELINE_ENV: named},
    )
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("raw", [0, -1, "two", "", 1.5, True])
def test_nlp_processes_must_be_auto_or_a_positive_whole_number(raw: object) -> None:
    with pytest.raises(ConfigError, match=r"nlp.processes: .*must be 'auto' or a whole number of processes"):
        parse_config({"nlp": {"processes": raw}})
    assert parse_config({"nlp": {"processes": 3}}).nlp.processes == 3
    assert parse_config({}).nlp.processes == "auto"


def test_auto_uses_the_idle_cpus_when_there_is_enough_work(monkeypatch: pytest.MonkeyPatch) -> None:
    from groundswell.app import processes

    monkeypatch.setenv("GROUNDSWELL_NLP_THREADS", "4")  # what `default_threads` finds idle
    monkeypatch.setattr(processes, "_memory_allows", lambda: 64)
    assert resolve_processes("auto", pending=10 * MIN_SHARE) == 4
    assert resolve_processes("auto", pending=2 * MIN_SHARE) == 2
    assert resolve_processes("auto", pending=MIN_SHARE - 1) == 1
    assert resolve_processes("auto", pending=10 * MIN_SHARE, device=lambda: "cuda") == 1
    assert resolve_processes(3, pending=0) == 3
    monkeypatch.setattr(processes, "_memory_allows", lambda: 2)  # free memory for two processes
    assert resolve_processes("auto", pending=10 * MIN_SHARE) == 2
    with pytest.raises(ConfigError, match=r"nlp\.processes=0: must be 'auto' or a whole number"):
        resolve_processes(0, pending=10)


@pytest.mark.parametrize("raw", ["0", "two", "-3"])
def test_the_enrich_command_refuses_a_bad_process_count(raw: str, tmp_path: Path) -> None:
    from groundswell.app.cli import app

    (tmp_path / "groundswell.yaml").write_text(json.dumps({**CONFIG, "data_dir": str(tmp_path)}))
    result = CliRunner().invoke(
        app, ["nlp", "enrich", "-c", str(tmp_path / "groundswell.yaml"), "--processes", raw]
    )
    assert result.exit_code == 2
    assert f"--processes {raw!r}: must be auto or a whole number, at least 1" in result.output


def test_mention_ids_are_the_ids_iter_mentions_gives_in_its_order(tmp_path: Path) -> None:
    config = _config(tmp_path)
    with _store(config) as store:
        enrich_local(config, store, processes=1, build=build_stand_in)
        store.upsert_mentions([m.model_copy(update={"enriched": False}) for m in store.iter_mentions()][::3])
        for filters in (
            Filters(),
            Filters(enriched=False),
            Filters(enriched=True),
            Filters(sentiments=("negative",)),
        ):
            assert store.mention_ids(filters) == [m.id for m in store.iter_mentions(filters)]
        assert 0 < len(store.mention_ids(Filters(enriched=False))) < len(_mentions())


def test_groundswell_run_reports_a_failed_worker_as_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from groundswell.app import cli, pipeline

    def failing_run(*args: object, **kwargs: object) -> None:
        raise EnrichWorkerFailed(
            "enrichment in 2 processes failed: worker groundswell-enrich-2/2 exited with code -9"
        )

    monkeypatch.setattr(pipeline, "run_pipeline", failing_run)
    (tmp_path / "groundswell.yaml").write_text(json.dumps({**CONFIG, "data_dir": str(tmp_path)}))
    result = CliRunner().invoke(cli.app, ["run", "-c", str(tmp_path / "groundswell.yaml")])
    assert result.exit_code == 1
    said = " ".join(result.output.split())  # rich wraps long lines at the console's width
    assert "error: enrichment in 2 processes failed: worker groundswell-enrich-2/2 exited" in said


@pytest.mark.slow
@pytest.mark.es
def test_two_processes_on_elasticsearch_write_what_one_process_writes(
    single: tuple[list[dict], dict], osmem_base: object, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The workers open the store from the configuration with the production client, so they reach
    osmem-server through `CompatProxy` (it checks and rewrites the media types as `CompatNode` does)."""
    from index_mappings.templates import install
    from tests.kit.es import PREFIX, CompatProxy, make_client

    clone = osmem_base.clone()  # type: ignore[attr-defined]
    proxy = CompatProxy(clone.url)
    try:
        with make_client(clone.url) as client:
            install(client, PREFIX)
        settings = {"hosts": [proxy.url], "index_prefix": PREFIX, "username_env": None, "password_env": None}
        config = parse_config(
            {
                **CONFIG,
                "data_dir": str(tmp_path),
                "nlp": {"batch_size": 4},
                "store": {"backend": "elasticsearch", "elasticsearch": settings},
            }
        )
        with open_store(config) as store:
            assert store.opened_from(config)
            store.upsert_mentions(_mentions())
            summary = enrich_local(config, store, processes=2, build=build_stand_in)
            assert summary.enriched == summary.seen == len(_mentions())
            assert "enriching in one" not in caplog.text  # two processes did run
            assert summary.topics_reassigned == single_reassigned and summary.flagged == single_flagged
            docs = sorted((m.model_dump(mode="json") for m in store.iter_mentions()), key=lambda d: d["id"])
            assert docs == sorted(
                single[0], key=lambda d: d["id"]
            )  # the same documents as SQLite, one process
            assert json.loads(config.path(TOPIC_STATE_FILE).read_text()) == single[1]
            assert enrich_local(config, store, processes=2, build=build_stand_in).seen == 0
    finally:
        proxy.close()
        clone.close()
