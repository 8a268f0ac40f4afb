"""Collect orchestration: run each configured source, dedup what it found, write it to the store.

Web kinds (forum, review, news, blog, sitemap) crawl with Scrapy in a child process
(`python -m crawlers.web.run ...`, one reactor per process) that writes one Mention JSON per line and
prints a final JSON stats line. Feed/API kinds (rss, reddit, mastodon, hackernews, youtube, x) run in
process; their cursors live in the store under `feeds:<source name>` and are saved only after the
mentions they cover are written. A failing source is logged and reported in its `CollectSummary`; only
configuration errors (an unknown source name) raise.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from crawlers.dedup import Deduplicator
from groundswell.config import Config, ConfigError, SourceConfig
from groundswell.mention import Mention
from groundswell.store.base import Store

logger = logging.getLogger(__name__)

__all__ = ["WEB_KINDS", "CollectSummary", "collect_all", "collect_source", "state_key"]

WEB_KINDS = ("forum", "review", "news", "blog", "sitemap")
RUNNER_MODULE = "crawlers.web.run"
RUNNER_GRACE_SECONDS = 60.0  # on top of the source's max_seconds before the child is killed


@dataclass
class CollectSummary:
    """What collecting one source did."""

    source: str
    kind: str = ""
    items: int = 0  # mentions the collector returned
    new: int = 0  # of those, not in the store before (representatives written for the first time)
    pages: int = 0
    errors: int = 0
    error_reasons: list[str] = field(default_factory=list)
    duplicates: int = 0  # copies collapsed into another mention
    warnings: int = 0
    written: int = 0  # documents upserted (new + refreshed + representatives whose count grew)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def state_key(source: SourceConfig) -> str:
    """The store state key holding a feed/API source's cursors."""
    return f"feeds:{source.name}"


def _config_file(config: Config, directory: Path) -> Path:
    """Write the configuration as YAML (data_dir made absolute, so paths resolve as in the original)."""
    data = config.model_dump(mode="json", exclude={"base_dir"})
    data["data_dir"] = os.path.normpath(config.path("."))
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _run_web(config: Config, source: SourceConfig, state_dir: Path, summary: CollectSummary) -> list[Mention]:
    mentions: list[Mention] = []
    with tempfile.TemporaryDirectory(prefix=f"gs-crawl-{source.name}-") as tmp:
        tmp_dir = Path(tmp)
        out = tmp_dir / "items.jsonl"
        cmd = [
            sys.executable, "-m", RUNNER_MODULE,
            "--config", str(_config_file(config, tmp_dir)),
            "--source", source.name,
            "--out", str(out),
            "--state-dir", str(state_dir),
        ]  # fmt: skip
        log_file = state_dir / f"{source.name}.crawl.log"  # the child's log, kept for inspection
        logger.info("source %s: running %s (log: %s)", source.name, " ".join(cmd[1:4]), log_file)
        with log_file.open("w", encoding="utf-8") as log:
            try:
                proc = subprocess.run(
                    cmd,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    text=True,
                    timeout=source.budget.max_seconds + RUNNER_GRACE_SECONDS,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                summary.errors += 1
                summary.error_reasons.append(
                    f"crawler process killed after {exc.timeout:.0f} s (log: {log_file})"
                )
                proc = None
        if proc is not None and proc.returncode != 0:
            tail = log_file.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
            summary.errors += 1
            summary.error_reasons.append(
                f"crawler exited with code {proc.returncode}: {' | '.join(tail)[:500]} (log: {log_file})"
            )
        if proc is not None:
            _read_stats(proc.stdout, summary)
        if out.is_file():  # whatever was written before a failure is kept
            with out.open(encoding="utf-8") as fh:
                for number, line in enumerate(fh, 1):
                    if not line.strip():
                        continue
                    try:
                        mentions.append(Mention.model_validate_json(line))
                    except ValidationError as exc:
                        summary.errors += 1
                        summary.error_reasons.append(
                            f"{out.name}:{number}: not a Mention ({exc.error_count()} errors)"
                        )
    return mentions


def _read_stats(stdout: str, summary: CollectSummary) -> None:
    for line in reversed((stdout or "").strip().splitlines()):
        try:
            stats = json.loads(line)
        except ValueError:
            continue
        if not isinstance(stats, dict):
            continue
        summary.pages += int(stats.get("pages", 0) or 0)
        summary.errors += int(stats.get("errors", 0) or 0)
        reasons = stats.get("error_reasons") or {}
        if isinstance(reasons, dict):
            summary.error_reasons.extend(f"{k}: {v}" for k, v in reasons.items())
        elif isinstance(reasons, list):
            summary.error_reasons.extend(str(r) for r in reasons)
        return
    summary.warnings += 1
    logger.warning("source %s: the crawler printed no stats line", summary.source)


def _run_feed(
    config: Config, source: SourceConfig, store: Store, summary: CollectSummary
) -> tuple[list[Mention], dict[str, Any] | None]:
    from crawlers.feeds import client_for
    from crawlers.http import CredentialError

    try:
        client = client_for(config, source)
    except CredentialError as exc:
        summary.errors += 1
        summary.error_reasons.append(str(exc))
        logger.error("source %s: %s", source.name, exc)
        return [], None
    try:
        run = client.collect(store.get_state(state_key(source), {}) or {})
    finally:
        client.http.close()
    summary.pages += run.pages
    summary.errors += run.errors
    summary.warnings += run.warnings
    summary.error_reasons.extend(run.error_reasons)
    return run.mentions, run.state


def collect_source(
    config: Config,
    source_name: str,
    store: Store,
    *,
    state_dir: Path | None = None,
    deduplicator: Deduplicator | None = None,
) -> CollectSummary:
    """Collect one source, dedup, upsert; never raises for source faults (ConfigError for unknown names)."""
    try:
        source = config.source(source_name)
    except KeyError as exc:
        raise ConfigError(str(exc.args[0])) from None
    started = time.monotonic()
    summary = CollectSummary(source=source.name, kind=source.kind)
    dedup = deduplicator or Deduplicator.from_settings(config)
    try:
        state: dict[str, Any] | None = None
        if source.kind in WEB_KINDS:
            directory = state_dir or config.path("state/crawl")
            directory.mkdir(parents=True, exist_ok=True)
            mentions = _run_web(config, source, directory, summary)
        else:
            mentions, state = _run_feed(config, source, store, summary)
        summary.items = len(mentions)
        result = dedup.dedup(mentions, store)
        written = store.upsert_mentions(result.mentions)
        summary.new = result.new
        summary.duplicates = result.duplicates
        summary.written = written.written
        if written.failed:
            summary.errors += written.failed
            summary.error_reasons.extend(written.errors)
        if state is not None:  # cursors advance only once what they cover is stored
            store.set_state(state_key(source), state)
    except Exception as exc:  # a source fault must not stop the other sources
        logger.exception("source %s failed", source.name)
        summary.errors += 1
        summary.error_reasons.append(f"{type(exc).__name__}: {exc}")
    summary.seconds = round(time.monotonic() - started, 3)
    logger.info(
        "source %s: %d items, %d new, %d duplicates, %d pages, %d errors in %.1f s",
        source.name, summary.items, summary.new, summary.duplicates, summary.pages, summary.errors, summary.seconds,
    )  # fmt: skip
    return summary


def collect_all(config: Config, store: Store, *, sources: list[str] | None = None) -> list[CollectSummary]:
    """Collect every enabled source (or the named ones, enabled or not), sharing one dedup index."""
    if sources is None:
        names = [s.name for s in config.sources if s.enabled]
    else:
        known = {s.name for s in config.sources}
        unknown = [n for n in sources if n not in known]
        if unknown:
            raise ConfigError(
                f"unknown source(s) {', '.join(unknown)}; configured: {', '.join(sorted(known))}"
            )
        names = list(sources)
    dedup = Deduplicator.from_settings(config)
    return [collect_source(config, name, store, deduplicator=dedup) for name in names]
