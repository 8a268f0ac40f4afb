"""The `groundswell` command line.

groundswell demo                 build the demo market, crawl it, run every stage, print where outputs are
groundswell run -c FILE          run the pipeline on a configuration
groundswell search QUERY         full-text search with filters
groundswell trends ...           detected shifts and blips
groundswell tickets ...          triage action tickets
groundswell brief --week ...     build the weekly market brief
groundswell serve                the analyst web UI
groundswell crawl ...            run collectors only
groundswell nlp enrich|train|eval  enrich the store; train and evaluate the offline models
groundswell es ...               Elasticsearch templates and Kibana saved objects
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import yaml
from rich.console import Console
from rich.table import Table

import alerts.cli
import brief.cli
import crawlers.cli
import index_mappings.cli
import nlp.cli
import trends.cli
import web.cli
from groundswell import exitcodes
from groundswell.cliutils import (
    DEFAULT_CONFIG,
    ConfigOption,
    fail,
    open_config_and_store,
    setup_logging,
    usage_error,
)
from groundswell.config import Config, parse_config, whole_number

if TYPE_CHECKING:
    from groundswell.app.demo.truth import MarketTruth
    from groundswell.app.pipeline import Progress, RunSummary
    from groundswell.store import Store

app = typer.Typer(
    help="Groundswell: social listening and market intelligence. Collect, understand, index, detect, act, report.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
logger = logging.getLogger("groundswell")


def entry(argv: list[str] | None = None) -> None:
    """The `groundswell` console script: `app`, where a server that cannot be reached, in any command,
    is answered with one line naming its URL and what to check, exit 2 (groundswell/exitcodes.py)."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    try:
        app(args=args, prog_name="groundswell")
    except Exception as err:
        if exitcodes.connection_failure(err) is None:
            raise
        config = os.environ.get("GROUNDSWELL_CONFIG", "groundswell.yaml")
        for flag, value in zip(args, [*args[1:], None], strict=True):
            if flag in ("-c", "--config") and value:
                config = value
            elif flag.startswith("--config="):
                config = flag.split("=", 1)[1]
        raise SystemExit(exitcodes.exit_for(err, config_path=config).exit_code) from None


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="debug logging")) -> None:
    setup_logging(verbose)  # the one logging setup of every command


@app.command()
def run(
    config: ConfigOption = DEFAULT_CONFIG,
    source: list[str] = typer.Option(None, "--source", "-s", help="only these sources (repeatable)"),
    now: datetime = typer.Option(None, "--now", help="the detector's clock (ISO time, UTC); default: now"),
) -> None:
    """Run the whole pipeline once on a configuration: collect, enrich, index, detect, act, report."""
    with open_config_and_store(config) as (cfg, store):
        summary = _run_with_progress(cfg, store, sources=source or None, now=_utc(now) if now else None)
    _print_run_summary(summary)
    if summary.exit_code:  # the DAG task / cron job fails visibly
        raise typer.Exit(summary.exit_code)


@app.command()
def demo(
    out: Path = typer.Option(
        Path("groundswell-demo"), "--out", "-o", help="folder for the demo web, store and outputs"
    ),
    seed: int = typer.Option(7, help="seed of the demo market generator"),
    weeks: int = typer.Option(9, min=2, help="weeks of history in the demo market"),
    end: datetime = typer.Option(None, help="last day of the market (default: last Sunday)"),
    pdf: bool = typer.Option(True, help="also render the brief as PDF"),
    port: int = typer.Option(0, help="loopback port for the demo web (0: any free port)"),
) -> None:
    """The main job: build the demo market, serve it on loopback, crawl it for real, and run every stage."""
    from groundswell.app.demo import build_market, demo_config, serve_market
    from groundswell.app.demo.mailbox import demo_mailbox
    from groundswell.store import open_store

    today = datetime.now(UTC).date()
    last_day = end.date() if end else today - timedelta(days=today.weekday() + 1)
    out = out.resolve()
    console.print(
        f"[bold]Groundswell demo[/bold]: {weeks} weeks of market ending {last_day}, seed {seed}, in {out}"
    )
    truth = build_market(out / "web", seed=seed, end=last_day, weeks=weeks)
    with (
        serve_market(out / "web", port=port) as base_url,
        demo_mailbox(out / "mailbox") as (smtp_host, smtp_port),
    ):
        console.print(
            f"demo web served at {base_url}; team notifications go to the local mailbox {out / 'mailbox'}"
        )
        raw = demo_config(base_url, out)
        raw.setdefault("brief", {})["pdf"] = pdf
        raw.setdefault("alerts", {}).setdefault("smtp", {}).update({"host": smtp_host, "port": smtp_port})
        cfg_path = out / "groundswell.yaml"
        cfg_path.write_text(yaml.dump(raw, Dumper=_NoAliasDumper, sort_keys=False), encoding="utf-8")
        cfg = parse_config(raw, base_dir=out)
        now = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        with open_store(cfg) as store:
            summary = _run_with_progress(cfg, store, now=now, week_start=last_day - timedelta(days=6))
            from groundswell.listing import record_clock

            record_clock(store, now, by="demo")  # listings judge the demo's tickets on the demo's clock
            _print_run_summary(summary)
            _print_truth_check(truth, store)
    console.print(f"\nconfiguration: {cfg_path}")
    console.print(f"store:         {cfg.path(cfg.store.path)}")
    console.print(
        f"mailbox:       {out / 'mailbox'} ({len(list((out / 'mailbox').glob('*.eml')))} notifications)"
    )
    brief = summary.brief  # None when the run stopped before the report (every source failed)
    console.print(
        f"brief:         {brief.html_path}" + (f"\n               {brief.pdf_path}" if brief.pdf_path else "")
        if brief is not None
        else "brief:         none (the run failed before the report, see above)"
    )
    console.print(
        f"\nNext: [bold]groundswell tickets list -c {cfg_path}[/bold], "
        f'[bold]groundswell search -c {cfg_path} "overheat*"[/bold], [bold]groundswell serve -c {cfg_path}[/bold]'
    )


@app.command()
def search(
    query: str = typer.Argument("", help='words, "phrases", OR, NOT/-word, prefix*'),
    config: ConfigOption = DEFAULT_CONFIG,
    entity: list[str] = typer.Option(
        None, "--entity", "--brand", "-e", help="configured entity id (repeatable)"
    ),
    source: list[str] = typer.Option(None, "--source", "-s"),
    sentiment: list[str] = typer.Option(None, "--sentiment"),
    kind: list[str] = typer.Option(None, "--kind", help="voice-of-the-customer kind"),
    area: list[str] = typer.Option(None, "--area", help="business area"),
    lang: list[str] = typer.Option(None, "--lang"),
    since: datetime = typer.Option(None, "--since"),
    until: datetime = typer.Option(None, "--until"),
    safety: bool = typer.Option(False, "--safety", help="only mentions with a product-safety signal"),
    limit: int = typer.Option(10, "--limit", "-n"),
    sort: str = typer.Option("relevance", help="relevance, newest or oldest"),
) -> None:
    """Full-text search over collected mentions, with highlights."""
    from groundswell.links import served
    from groundswell.store import Filters, StoreError

    if sort not in ("relevance", "newest", "oldest"):
        raise usage_error(f"--sort {sort!r} is not allowed; allowed: relevance, newest, oldest")
    filters = Filters(
        start=_utc(since) if since else None,
        end=_utc(until) if until else None,
        entities=tuple(entity or ()),
        sources=tuple(source or ()),
        sentiments=tuple(sentiment or ()),
        voc_kinds=tuple(kind or ()),
        business_areas=tuple(area or ()),
        languages=tuple(lang or ()),
        safety=True if safety else None,
    )
    with open_config_and_store(config) as (_, store):
        try:
            page = store.search(query, filters, limit=limit, sort=sort)  # type: ignore[arg-type]
        except StoreError as err:
            raise exitcodes.exit_for(err, config_path=config) from None
    console.print(f"{page.total} mentions match")
    for hit in page.hits:
        m = hit.mention
        when = m.published.strftime("%Y-%m-%d %H:%M")
        label = f"{m.sentiment or '-'} {m.voc_kind or ''}".strip()
        console.print(f"\n[bold]{m.id}[/bold] {when} {m.source} @{m.author} [dim]{label}[/dim]")
        console.print(f"  {_terminal_highlight(hit.highlight)}", highlight=False)
        if served(m.url):
            console.print(f"  [dim]{m.url}[/dim]", highlight=False)
        else:  # the demo's web has stopped: point at the stored copy instead of a dead link
            console.print(
                f"  [dim]{m.url} is no longer served; stored copy: groundswell serve, /mentions/{m.id}[/dim]",
                highlight=False,
            )


class _NoAliasDumper(yaml.SafeDumper):
    """Writes repeated values out in full: a configuration file people read has no YAML anchors."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def _terminal_highlight(fragment: str) -> str:
    import html

    from rich.markup import escape

    text = html.unescape(fragment.replace("<mark>", "\x02").replace("</mark>", "\x03"))
    return escape(text).replace("\x02", "[bold yellow]").replace("\x03", "[/bold yellow]")


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _run_with_progress(
    cfg: Config,
    store: Store,
    *,
    sources: list[str] | None = None,
    now: datetime | None = None,
    week_start: date | None = None,
) -> RunSummary:
    """The pipeline under the store's writer lock, with a progress bar on a terminal and progress log
    lines (done/total, rate, ETA) for Airflow, cron or a pipe."""
    from groundswell.app.pipeline import run_pipeline
    from groundswell.app.processes import EnrichWorkerFailed
    from groundswell.store.base import StoreLocked

    reporter = _bar_progress(store) if console.is_terminal else _log_progress(store)
    try:  # one writer per store: an overlapping run (cron, the DAG) waits or stops here
        with store.writer_lock("groundswell run"), reporter as progress:
            return run_pipeline(
                cfg, store, sources=sources, now=now, week_start=week_start, progress=progress
            )
    except StoreLocked as err:
        console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(exitcodes.LOCKED) from None
    except EnrichWorkerFailed as err:  # what was written stays; a re-run finishes (in order)
        console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(exitcodes.FAILED) from None


def _enrich_total(store: Store, done: int) -> int:
    """Mentions this enrichment will have done: counted once it starts, after collection added them."""
    from groundswell.store import Filters

    return done + store.count(Filters(enriched=False))


@contextlib.contextmanager
def _bar_progress(store: Store) -> Iterator[Progress]:
    from rich.progress import BarColumn, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    steps = ["collect", "enrich", "authors", "detect", "act", "report"]
    with Bar(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        tasks: dict[str, TaskID] = {}
        totals: dict[str, int] = {}

        def complete(task_id: TaskID) -> None:
            task = bar.tasks[task_id]
            bar.update(task_id, total=task.completed or 1, completed=task.completed or 1)

        def progress(step: str, done: int, total: int | None) -> None:
            if step not in tasks:
                for previous in list(tasks.values()):
                    complete(previous)
                tasks[step] = bar.add_task(f"{steps.index(step) + 1}/{len(steps)} {step}", total=None)
            if not done:
                return
            if step == "enrich" and step not in totals:
                totals[step] = total or _enrich_total(store, done)
            bar.update(tasks[step], completed=done, total=totals.get(step, total))

        yield progress
        for task_id in tasks.values():
            complete(task_id)


@contextlib.contextmanager
def _log_progress(store: Store) -> Iterator[Progress]:
    from groundswell.progress import ProgressLog

    logs: dict[str, ProgressLog] = {}

    def progress(step: str, done: int, total: int | None) -> None:
        for other, log in logs.items():  # a step that has ended logs its last line
            if other != step:
                log.finish()
        if not done:
            return
        if step not in logs:
            if not total and step == "enrich":
                total = _enrich_total(store, done)
            logs[step] = ProgressLog(step, total=total or None)
        log = logs[step]
        log.advance(max(done - log.done, 0))

    yield progress
    for log in logs.values():
        log.finish()


def _print_run_summary(summary: RunSummary) -> None:
    table = Table(title="pipeline run", show_lines=False)
    table.add_column("step")
    table.add_column("result")
    table.add_column("seconds", justify="right")
    for t in summary.timings:
        table.add_row(t.step, t.summary, f"{t.seconds:.1f}")
    console.print(table)
    sources = Table(title="collected per source")
    for col in ("source", "status", "items", "new", "duplicates", "errors"):
        sources.add_column(col)
    for s in summary.collected:
        status = (
            "failed"
            if s.source in summary.failed_sources
            else "partial"
            if s.source in summary.partial_sources
            else "ok"
        )
        sources.add_row(
            s.source,
            status,
            str(s.items),
            str(getattr(s, "new", "")),
            str(getattr(s, "duplicates", "")),
            str(s.errors),
        )
    console.print(sources)
    for problem in summary.problems:
        console.print(f"[bold red]run failed[/bold red]: {problem}")


def _print_truth_check(truth: MarketTruth, store: Store) -> None:
    """Compare the planted scenarios with what the detector and the ticketing made of them."""
    events = store.trend_events(limit=100000)
    tickets = store.tickets(limit=100000)
    table = Table(title="planted scenarios vs. what Groundswell found")
    for col in ("scenario", "planted", "detected", "ticket"):
        table.add_column(col, overflow="fold")
    for sc in truth.scenarios:
        about = [e for e in events if e.key == sc.entity and e.metric == sc.metric]
        found = [e for e in about if e.kind == "shift"]
        blips = [e for e in about if e.kind == "blip"]
        ticket = [t for t in tickets if t.subject == sc.entity]
        detected = f"shift ({found[0].metric})" if found else (f"blip ({blips[0].reason})" if blips else "-")
        planted = f"{sc.kind}" + (f" -> {sc.ticket_type} ticket" if sc.ticket_type else "")
        table.add_row(sc.name, planted, detected, ", ".join(f"{t.type}/{t.severity}" for t in ticket) or "-")
    console.print(table)


# `groundswell nlp enrich` lives with the app: it runs local worker processes (groundswell.app.processes)
def nlp_enrich(
    config: ConfigOption = DEFAULT_CONFIG,
    processes: Annotated[
        str | None,
        typer.Option(
            help="local processes: auto or a whole number, 1 = one process (default: nlp.processes)"
        ),
    ] = None,
) -> None:
    """Enrich the store's not-yet-enriched mentions (every model, topics included), as `groundswell run`
    does; prints the summary as JSON. Several processes write what one process writes."""
    import json

    from groundswell.app.processes import EnrichWorkerFailed, enrich_local
    from groundswell.progress import ProgressLog
    from groundswell.store import Filters
    from groundswell.store.base import StoreLocked

    chosen: str | int | None = processes
    if processes is not None and processes != "auto":
        chosen = whole_number(processes)
        if chosen is None:
            raise usage_error(f"--processes {processes!r}: must be auto or a whole number, at least 1")
    with open_config_and_store(config) as (cfg, store):
        try:
            with (
                store.writer_lock("groundswell nlp enrich"),
                ProgressLog("enrich", total=store.count(Filters(enriched=False))) as progress,
            ):
                summary = enrich_local(cfg, store, processes=chosen, progress=progress)
        except StoreLocked as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(exitcodes.LOCKED) from None
        except EnrichWorkerFailed as err:
            raise fail(str(err)) from None
    typer.echo(json.dumps(summary.as_dict()))


# ---- stage command groups ---------------------------------------------------------------------
nlp.cli.app.command("enrich")(nlp_enrich)
app.add_typer(crawlers.cli.app, name="crawl")
app.add_typer(nlp.cli.app, name="nlp")
app.add_typer(trends.cli.app, name="trends")
app.add_typer(alerts.cli.app, name="tickets")
app.add_typer(index_mappings.cli.app, name="es")
app.command("brief", help="Build the weekly market brief (HTML and PDF).")(brief.cli.brief)
app.command("serve", help="Serve the analyst web UI (search, trends, tickets, briefs).")(web.cli.serve)
app.command("train", help="Train the offline sentiment or emotion model (same as `groundswell nlp train`).")(
    nlp.cli.train
)


if __name__ == "__main__":  # pragma: no cover
    app()
