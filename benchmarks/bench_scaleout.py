"""Scale-out proof: the ingest DAG on Airflow's CeleryExecutor with 1 and with N workers, same results.

Everything runs on loopback on this machine: PostgreSQL (Debian's, as the `postgres` user) for
Airflow's metadata, Redis (Debian's `redis-server`) as the Celery broker, the Airflow API server,
scheduler and DAG processor, and the Celery workers (`airflow celery worker --concurrency 1`). The
demo market is built and served once; each configuration gets a fresh metadata database, store and
data folder, one triggered ingest run for the market's last day, and its wall time (the DAG run's
start to end as Airflow recorded it). Then the stores are compared: the same mentions (every
enrichment field; scores to 1e-4, as batches differ), the same trend events and the same tickets.
Each is also compared with a single-process collection of the same market (`collect_all`, what
`groundswell run` collects): the same mention ids, duplicate counts and absorbed ids.

    .venv/bin/python benchmarks/bench_scaleout.py --weeks 3 --workers 1 2

Needs: `apt-get install redis-server`, PostgreSQL 15 binaries in /usr/lib/postgresql/15/bin, and the
`airflow` extra with apache-airflow-providers-celery. Takes minutes (every partition task loads
the models).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_PORT, REDIS_PORT, API_PORT = 55432, 56379, 58080
END = date(2026, 11, 22)
NEVER = "0 0 31 12 *"  # next fire time after today: the scheduler creates no run of its own


def sh(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, check=False, text=True, capture_output=True, **kw)
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd[:4])} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done


def as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd]


def start_postgres(work: Path) -> None:
    data, sock = work / "pg", work / "pgsock"
    work.chmod(work.stat().st_mode | 0o711)  # mkdtemp makes it 0700: the postgres user must pass through it
    for d in (data, sock):
        d.mkdir(parents=True, exist_ok=True)
        shutil.chown(d, "postgres", "postgres")
    sh(as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]))
    sh(
        as_postgres(
            [str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(data / "log"), "-w", "-o",
             f"-p {PG_PORT} -k {sock} -c listen_addresses=127.0.0.1 -c max_connections=200", "start"]
        )
    )  # fmt: skip


def stop_postgres(work: Path) -> None:
    subprocess.run(
        as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(work / "pg"), "-m", "fast", "stop"]), check=False
    )


def psql(sql: str, db: str = "postgres") -> str:
    out = sh(["psql", "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres", "-d", db, "-At", "-c", sql])
    return out.stdout.strip()


def build_market(work: Path, weeks: int) -> subprocess.Popen[str]:
    """Build the seeded demo market and serve it from a child process; returns it (base URL in work/url)."""
    code = (
        "import sys, time\nfrom pathlib import Path\nfrom datetime import date\n"
        "from groundswell.app.demo import build_market, serve_market\n"
        f"build_market(Path({str(work / 'web')!r}), seed=7, end=date.fromisoformat({END.isoformat()!r}), weeks={weeks})\n"
        f"with serve_market(Path({str(work / 'web')!r})) as url:\n"
        f"    Path({str(work / 'url')!r}).write_text(url)\n"
        "    while True: time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, text=True)
    while not (work / "url").exists():
        if proc.poll() is not None:
            raise SystemExit("the demo market could not be built or served")
        time.sleep(1)
    return proc


def airflow_env(work: Path, run: str, partitions: int, config: Path) -> dict[str, str]:
    db = f"airflow_{run}"
    return {
        **os.environ,
        "AIRFLOW_HOME": str(work / run / "airflow"),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{API_PORT}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://postgres@127.0.0.1:{PG_PORT}/{db}",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql+psycopg2://postgres@127.0.0.1:{PG_PORT}/{db}",
        "AIRFLOW__API_AUTH__JWT_SECRET": "bench-scaleout-secret-not-for-production",
        "AIRFLOW__API__SECRET_KEY": "bench-scaleout-secret-not-for-production",
        "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "5",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "GROUNDSWELL_CONFIG": str(config),
        "GROUNDSWELL_ENRICH_PARTITIONS": str(partitions),
        "GROUNDSWELL_INGEST_SCHEDULE": NEVER,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "OMP_NUM_THREADS": "1",  # each worker one thread: the workers, not torch, share the cores
    }


def airflow(env: dict[str, str], *args: str) -> str:
    return sh([str(Path(sys.executable).parent / "airflow"), *args], env=env, cwd=ROOT).stdout


def run_once(work: Path, url: str, workers: int, timeout_s: float) -> dict[str, Any]:
    import yaml

    from groundswell.app.demo import demo_config

    run = f"w{workers}"
    out = work / run
    out.mkdir(parents=True, exist_ok=True)
    config = out / "groundswell.yaml"
    config.write_text(yaml.safe_dump(demo_config(url, out / "data")), encoding="utf-8")
    psql(f"CREATE DATABASE airflow_{run}")
    sh(["redis-cli", "-p", str(REDIS_PORT), "FLUSHALL"])
    env = airflow_env(work, run, workers, config)
    airflow(env, "db", "migrate")
    logs = out / "logs"
    logs.mkdir(exist_ok=True)
    procs: list[subprocess.Popen[bytes]] = []

    def spawn(name: str, *args: str) -> None:
        log = open(logs / f"{name}.log", "wb")
        procs.append(
            subprocess.Popen(
                [str(Path(sys.executable).parent / "airflow"), *args],
                env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        )  # fmt: skip

    try:
        spawn("api-server", "api-server", "--port", str(API_PORT))
        spawn("dag-processor", "dag-processor")
        spawn("scheduler", "scheduler")
        for i in range(workers):
            spawn(f"worker{i}", "celery", "worker", "--concurrency", "1", "--celery-hostname", f"w{i}@%h")
        deadline = time.monotonic() + timeout_s
        while not psql("SELECT count(*) FROM dag WHERE dag_id='groundswell_ingest'", f"airflow_{run}") == "1":
            if time.monotonic() > deadline:
                raise TimeoutError("the DAG processor never registered groundswell_ingest")
            time.sleep(5)
        airflow(env, "dags", "unpause", "groundswell_ingest")
        logical = datetime.combine(END, datetime.min.time(), tzinfo=UTC) + timedelta(hours=23)
        airflow(env, "dags", "trigger", "groundswell_ingest", "--logical-date", logical.isoformat())
        state = ""
        while state not in ("success", "failed"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the ingest run did not finish in {timeout_s:.0f} s (state {state!r})")
            time.sleep(10)
            state = psql("SELECT state FROM dag_run WHERE dag_id='groundswell_ingest'", f"airflow_{run}")
        seconds = float(
            psql(
                "SELECT extract(epoch FROM end_date - start_date) FROM dag_run WHERE dag_id='groundswell_ingest'",
                f"airflow_{run}",
            )
        )
        tasks = psql(
            "SELECT task_id || coalesce('[' || map_index || ']', '') || ' ' || state || ' ' || hostname || ' ' "
            "|| round(extract(epoch FROM end_date - start_date)::numeric, 1) FROM task_instance "
            "WHERE dag_id='groundswell_ingest' ORDER BY start_date",
            f"airflow_{run}",
        ).splitlines()
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
    return {"workers": workers, "state": state, "seconds": seconds, "tasks": tasks, "config": str(config)}


def snapshot(config: str) -> dict[str, Any]:
    from groundswell.config import load_config
    from groundswell.store import open_store

    cfg = load_config(config)
    with open_store(cfg) as store:
        mentions = {}
        for m in store.iter_mentions():
            doc = m.model_dump(mode="json", exclude={"collected"})
            mentions[m.id] = doc
        return {
            "mentions": mentions,
            "events": sorted(d["id"] for d in store.query_docs("trends", limit=100_000)),
            "tickets": sorted(
                (t["id"], t["type"], t["subject"], t["state"])
                for t in store.query_docs("tickets", limit=100_000)
            ),
        }


def collect_single(work: Path, url: str) -> dict[str, Any]:
    """Collect the market in one process (`collect_all`, no enrichment): each mention's copies."""
    import yaml

    from crawlers.collect import collect_all
    from groundswell.app.demo import demo_config
    from groundswell.config import load_config
    from groundswell.store import open_store

    out = work / "single"
    out.mkdir(parents=True, exist_ok=True)
    config = out / "groundswell.yaml"
    config.write_text(yaml.safe_dump(demo_config(url, out / "data")), encoding="utf-8")
    cfg = load_config(config)
    with open_store(cfg) as store:
        collect_all(cfg, store)
        return {m.id: copies(m.model_dump(mode="json")) for m in store.iter_mentions()}


def copies(doc: dict[str, Any]) -> tuple[int, list[str]]:
    return doc["duplicate_count"], doc["raw"].get("duplicate_ids", [])


def collection_differences(single: dict[str, Any], snap: dict[str, Any]) -> list[str]:
    found = (
        [f"mention ids differ: {len(single)} vs {len(snap['mentions'])}"]
        if single.keys() != snap["mentions"].keys()
        else []
    )
    found.extend(
        f"{i}: copies {single[i]} vs {copies(snap['mentions'][i])}"
        for i in sorted(single.keys() & snap["mentions"].keys())
        if single[i] != copies(snap["mentions"][i])
    )
    return found


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    found = []
    if a["events"] != b["events"]:
        found.append(f"events differ: {len(a['events'])} vs {len(b['events'])}")
    if a["tickets"] != b["tickets"]:
        found.append(f"tickets differ: {a['tickets']} vs {b['tickets']}")
    if a["mentions"].keys() != b["mentions"].keys():
        found.append(f"mention ids differ: {len(a['mentions'])} vs {len(b['mentions'])}")
    for i in a["mentions"].keys() & b["mentions"].keys():
        x, y = a["mentions"][i], b["mentions"][i]
        for key in x:
            if key.endswith(("_score", "_probs")):
                xs = x[key] if isinstance(x[key], dict) else {"v": x[key]}
                ys = y[key] if isinstance(y[key], dict) else {"v": y[key]}
                if xs.keys() != ys.keys() or any(
                    (xs[k] is None) != (ys[k] is None) or (xs[k] is not None and abs(xs[k] - ys[k]) > 1e-4)
                    for k in xs
                ):
                    found.append(f"{i}.{key}: {x[key]} vs {y[key]}")
            elif key == "target_sentiments":
                if [(t["entity"], t["label"]) for t in x[key]] != [(t["entity"], t["label"]) for t in y[key]]:
                    found.append(f"{i}.{key}: {x[key]} vs {y[key]}")
            elif x[key] != y[key]:
                found.append(f"{i}.{key}: {x[key]!r} vs {y[key]!r}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weeks", type=int, default=9, help="weeks of demo market (9: the demo's default)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per ingest run")
    parser.add_argument("--work", type=Path, default=None, help="work folder (default: a temporary one)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="gs-scaleout-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"work folder {work}; load average {os.getloadavg()}", flush=True)
    redis = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(REDIS_PORT),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    start_postgres(work)
    market = build_market(work, args.weeks)
    results = []
    try:
        url = (work / "url").read_text()
        for n in args.workers:
            t0 = time.monotonic()
            result = run_once(work, url, n, args.timeout)
            result["load_after"] = os.getloadavg()
            print(
                json.dumps({k: v for k, v in result.items()}, indent=1),
                f"(total {time.monotonic() - t0:.0f} s)",
                flush=True,
            )
            results.append(result)
        single = collect_single(work, url)
        base = snapshot(results[0]["config"])
        print(
            f"{len(base['mentions'])} mentions, {len(base['events'])} trend events, {len(base['tickets'])} tickets "
            f"with {results[0]['workers']} worker(s); {len(single)} mentions collected in one process"
        )
        for other in results:
            snap = base if other is results[0] else snapshot(other["config"])
            if other is not results[0]:
                diff = differences(base, snap)
                verdict = "identical" if not diff else f"{len(diff)} differences, e.g. {diff[:5]}"
                print(f"{other['workers']} workers vs {results[0]['workers']}: {verdict}")
            diff = collection_differences(single, snap)
            verdict = (
                "the same mentions and copies" if not diff else f"{len(diff)} differences, e.g. {diff[:5]}"
            )
            print(f"{other['workers']} worker(s) vs one process (collect_all): {verdict}")
    finally:
        market.terminate()
        redis.terminate()
        stop_postgres(work)


if __name__ == "__main__":
    main()
