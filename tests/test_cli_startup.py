"""The command line starts at once: importing it loads no heavy library, and `--help` costs little CPU.

Heavy libraries (scikit-learn, SciPy, pandas, PyTorch, transformers, spaCy, Airflow ...) are imported
inside the commands that use them. Each check runs in a fresh interpreter so that what other tests
imported does not hide a regression.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

HEAVY = (
    "airflow",
    "elasticsearch",
    "fastapi",
    "matplotlib",
    "numpy",
    "pandas",
    "ruptures",
    "scipy",
    "scrapy",
    "sentence_transformers",
    "sklearn",
    "spacy",
    "statsmodels",
    "torch",
    "transformers",
    "weasyprint",
)

# `groundswell.app.cli` imports every stage's command group; each is imported on its own too
CLI_MODULES = (
    "alerts.cli",
    "trends.cli",
    "brief.cli",
    "crawlers.cli",
    "nlp.cli",
    "web.cli",
    "index_mappings.cli",
    "groundswell.app.cli",
)
# every command's help goes through the same imports (`groundswell.app.cli` loads all groups), so a
# top-level, a group and a leaf command stand for all of them
COMMANDS = ([], ["tickets"], ["tickets", "list"])


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_importing_the_command_line_loads_no_heavy_library() -> None:
    out = _run(
        f"""
        import json, sys
        loaded = {{}}
        for module in {CLI_MODULES!r}:
            __import__(module)
            loaded[module] = sorted({{m.split(".")[0] for m in sys.modules}})
        print(json.dumps(loaded))
        """
    )
    loaded = json.loads(out.strip().splitlines()[-1])
    heavy = {module: sorted(set(names) & set(HEAVY)) for module, names in loaded.items()}
    assert heavy == {module: [] for module in CLI_MODULES}


def test_importing_the_store_and_config_loads_no_heavy_library() -> None:
    # `groundswell tickets list` needs the configuration and the embedded store, nothing more
    out = _run(
        """
        import json, sys
        import groundswell.config, groundswell.store, groundswell.store.sqlite, alerts.lifecycle
        print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
        """
    )
    loaded = set(json.loads(out.strip().splitlines()[-1]))
    assert loaded.isdisjoint(HEAVY), f"the store and config load {sorted(loaded & set(HEAVY))}"


def test_every_help_costs_under_a_second_of_cpu() -> None:
    # CPU time (user + system) of each child, not wall time, so a busy machine does not fail it
    out = _run(
        f"""
        import json, resource, subprocess, sys
        cpu = {{}}
        for args in {COMMANDS!r}:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run([sys.executable, "-m", "groundswell.app.cli", *args, "--help"], check=True, capture_output=True)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[" ".join(args)] = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        print(json.dumps(cpu))
        """
    )
    cpu = json.loads(out.strip().splitlines()[-1])
    slow = {command or "(top level)": round(t, 2) for command, t in cpu.items() if t >= 1.0}
    assert not slow, f"`groundswell ... --help` over 1 s of CPU: {slow}"
