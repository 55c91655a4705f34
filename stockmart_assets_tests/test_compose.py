"""The container stack: docker-compose.yaml, Dockerfile, .env.example and docker/ (no Docker engine needed).

docker-compose.yaml is validated against the official Compose Specification JSON schema (compose-spec/compose-
spec ``schema/compose-spec.json``) as vendored in the ``check-jsonschema`` PyPI package, once as written and
once after compose-style interpolation with the values of .env.example; the same check runs through
check-jsonschema's own CLI. The rules the schema cannot express are asserted here: no literal passwords,
loopback-only published ports, health checks and health-gated start-up, least-privilege MySQL grants, and the
Dagster instance / workspace files checked against Dagster's own config schemas.

Fast (about a second) and offline. Needs: jsonschema, check-jsonschema, PyYAML, dagster.
"""

from __future__ import annotations

import copy
import importlib
import importlib.resources
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKER_DIR = ROOT / "docker"
MYSQL_INIT_DIR = DOCKER_DIR / "mysql" / "init"

# Environment keys whose values are secrets: the value must be a required interpolation, ${VAR:?message}.
SECRET_KEY = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL|PRIVATE_KEY|API_KEY", re.IGNORECASE)
REQUIRED_INTERPOLATION = re.compile(r"^\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*):\?[^}]*\}$")
# user:password@ in any URL of the compose file.
URL_CREDENTIALS = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://(?P<user>[^/@\s:]+):(?P<password>[^@\s]+)@")  # secret-scan: allow
# The pipeline account's privileges, exactly (docker/mysql/init).
PIPELINE_PRIVILEGES = {
    "SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "ALTER", "INDEX", "REFERENCES", "DROP",
    "CREATE TEMPORARY TABLES", "LOCK TABLES",
}
# Global by nature (MySQL has no per-schema form): what binlog change capture needs, and only on *.*.
REPLICATION_PRIVILEGES = {"REPLICATION SLAVE", "REPLICATION CLIENT"}
# Bind-mount sources that are data, created on the host at deploy time (not part of the repository).
RUNTIME_BIND_SOURCES = ("./data/",)


# --------------------------------------------------------------------------------------------------------------
# Loading


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that, like Compose's YAML parser, refuses duplicate keys (merge keys ``<<`` may override)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml(path: Path):
    with path.open(encoding="utf-8") as f:
        return yaml.load(f, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass


def parse_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not KEY=VALUE: {line!r}"
        values[key.strip()] = value.strip()
    return values


def compose_spec_schema() -> dict:
    """The Compose Specification schema shipped by check-jsonschema (vendored from compose-spec/compose-spec)."""
    try:
        resource = importlib.resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
        return json.loads(resource.read_text(encoding="utf-8"))
    except (ModuleNotFoundError, FileNotFoundError) as e:  # pragma: no cover - environment problem
        pytest.fail(f"the Compose Specification schema comes from the check-jsonschema package: pip install "
                    f"check-jsonschema ({e})")


@pytest.fixture(scope="module")
def schema() -> dict:
    return compose_spec_schema()


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_yaml(COMPOSE_FILE)


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    return parse_env_file(ENV_EXAMPLE)


@pytest.fixture(scope="module")
def interpolated(compose, env_example) -> dict:
    return interpolate(compose, env_example)


# --------------------------------------------------------------------------------------------------------------
# Compose-style interpolation (${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err}, ${VAR:+alt},
# ${VAR+alt}, $VAR; $$ is a literal $).

_TOKEN = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<named>[A-Za-z_][A-Za-z0-9_]*))")
_BRACED = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-|-|:\?|\?|:\+|\+)(?P<arg>.*))?$", re.DOTALL)


class InterpolationError(ValueError):
    pass


def variables_in(text: str) -> set[str]:
    names = set()
    for m in _TOKEN.finditer(text):
        if m.group("named"):
            names.add(m.group("named"))
        elif m.group("braced") is not None:
            b = _BRACED.match(m.group("braced"))
            if not b:
                raise InterpolationError(f"invalid interpolation ${{{m.group('braced')}}}")
            names.add(b.group("name"))
    return names


def interpolate_string(text: str, env: dict[str, str]) -> str:
    def replace(m: re.Match) -> str:
        if m.group("escaped"):
            return "$"
        if m.group("named"):
            return env.get(m.group("named"), "")
        b = _BRACED.match(m.group("braced"))
        if not b:
            raise InterpolationError(f"invalid interpolation ${{{m.group('braced')}}}")
        name, op, arg = b.group("name"), b.group("op"), b.group("arg") or ""
        value, is_set = env.get(name), name in env
        if op is None:
            return value or ""
        if op == ":-":
            return value if value else arg
        if op == "-":
            return value if is_set else arg
        if op == ":?":
            if not value:
                raise InterpolationError(f"required variable {name} is missing a value: {arg}")
            return value
        if op == "?":
            if not is_set:
                raise InterpolationError(f"required variable {name} is missing: {arg}")
            return value
        if op == ":+":
            return arg if value else ""
        return arg if is_set else ""  # "+"

    return _TOKEN.sub(replace, text)


def interpolate(node, env: dict[str, str]):
    if isinstance(node, str):
        return interpolate_string(node, env)
    if isinstance(node, list):
        return [interpolate(v, env) for v in node]
    if isinstance(node, dict):
        return {k: interpolate(v, env) for k, v in node.items()}
    return node


def strings_in(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        for v in node:
            yield from strings_in(v)
    elif isinstance(node, dict):
        for k, v in node.items():
            if isinstance(k, str):
                yield k
            yield from strings_in(v)


# --------------------------------------------------------------------------------------------------------------
# Checks as functions (each returns a list of problems), so that they can be shown to catch a bad file too.


def schema_errors(document, schema: dict) -> list[str]:
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    return [
        f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
        for e in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    ]


def environment_of(service: dict) -> dict[str, object]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return dict(env)


def literal_secret_problems(compose: dict) -> list[str]:
    problems = []
    for name, service in compose.get("services", {}).items():
        for key, value in environment_of(service).items():
            if SECRET_KEY.search(key) and not REQUIRED_INTERPOLATION.match(str(value)):
                problems.append(f"{name}: environment {key} is not a required ${{VAR:?...}} interpolation")
        for field in ("command", "entrypoint"):
            problems += _argv_secret_problems(name, field, service.get(field))
        test = (service.get("healthcheck") or {}).get("test")
        problems += _argv_secret_problems(name, "healthcheck", test)
    for text in strings_in(compose):
        for m in URL_CREDENTIALS.finditer(text):
            if not REQUIRED_INTERPOLATION.match(m.group("password")):
                problems.append(f"URL with a literal password: {text!r}")
    return problems


def _argv_secret_problems(service: str, field: str, argv) -> list[str]:
    if argv is None:
        return []
    args = [argv] if isinstance(argv, str) else [str(a) for a in argv]
    problems = []
    for word in " ".join(args).split():
        # -psecret (mysql clients), --password / --password=secret; $-references are not literals.
        if re.match(r"^-p[^\s$]", word) or re.match(r"^--password(=[^$]|$)", word):
            problems.append(f"{service}: {field} passes a password on the command line: {word!r}")
    return problems


def published_port_problems(compose: dict) -> list[str]:
    """Every published port must bind 127.0.0.1 (call with the interpolated document)."""
    problems = []
    for name, service in compose.get("services", {}).items():
        if service.get("network_mode") == "host":
            problems.append(f"{name}: network_mode host publishes every port on every interface")
        for port in service.get("ports") or []:
            if isinstance(port, dict):
                if port.get("host_ip") != "127.0.0.1":
                    problems.append(f"{name}: port {port} has host_ip {port.get('host_ip')!r}")
                continue
            spec = str(port).rsplit("/", 1)[0]
            if spec.startswith("["):  # [ipv6]:host:container
                ip = spec[1:spec.index("]")]
            else:
                parts = spec.split(":")
                ip = parts[0] if len(parts) == 3 else None
            if ip != "127.0.0.1":
                problems.append(f"{name}: port {port!r} does not bind 127.0.0.1")
    return problems


def one_shot_services(compose: dict) -> set[str]:
    """Services others wait for with service_completed_successfully (init jobs, not long-running)."""
    names = set()
    for service in compose.get("services", {}).values():
        depends = service.get("depends_on") or {}
        if isinstance(depends, dict):
            for target, spec in depends.items():
                if (spec or {}).get("condition") == "service_completed_successfully":
                    names.add(target)
    return names


def healthcheck_problems(compose: dict) -> list[str]:
    problems = []
    one_shot = one_shot_services(compose)
    for name, service in compose.get("services", {}).items():
        if name in one_shot:
            if str(service.get("restart", "no")) not in ("no", "on-failure"):
                problems.append(f"{name}: a one-shot service must not restart ({service.get('restart')!r})")
            continue
        check = service.get("healthcheck")
        if not check or check.get("disable") or not check.get("test") or check.get("test") in (["NONE"], "NONE"):
            problems.append(f"{name}: long-running service without a healthcheck")
    return problems


def depends_on_problems(compose: dict) -> list[str]:
    services = compose.get("services", {})
    one_shot = one_shot_services(compose)
    problems = []
    for name, service in services.items():
        depends = service.get("depends_on")
        if depends is None:
            continue
        if isinstance(depends, list):
            problems.append(f"{name}: depends_on as a list starts without waiting for health")
            continue
        for target, spec in depends.items():
            condition = (spec or {}).get("condition")
            if target not in services:
                problems.append(f"{name}: depends_on unknown service {target!r}")
            elif target in one_shot:
                if condition != "service_completed_successfully":
                    problems.append(f"{name}: waits for one-shot {target} with {condition!r}")
            elif condition != "service_healthy":
                problems.append(f"{name}: depends_on {target} with {condition!r}, not service_healthy")
            elif not services[target].get("healthcheck"):
                problems.append(f"{name}: waits for {target} to be healthy but {target} has no healthcheck")
    return problems


def strip_sql_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.DOTALL)
    return "\n".join(re.sub(r"(--\s|#).*$", "", line) for line in text.splitlines())


def grant_problems(files: list[Path]) -> tuple[list[str], list[set[str]]]:
    problems, granted = [], []
    for path in files:
        text = strip_sql_comments(path.read_text(encoding="utf-8"))
        for m in re.finditer(r"\bGRANT\b(?P<privs>.*?)\bON\b\s+(?P<target>\S+)\s+TO\b(?P<rest>[^;]*)", text,
                             flags=re.IGNORECASE | re.DOTALL):
            privs = {" ".join(p.split()).upper() for p in m.group("privs").split(",")}
            target = m.group("target").replace("`", "")
            granted.append(privs)
            if target == "*.*":
                if not privs <= REPLICATION_PRIVILEGES:
                    problems.append(f"{path.name}: global (*.*) privileges beyond replication: "
                                    f"{sorted(privs - REPLICATION_PRIVILEGES)}")
            elif target != "stockmart.*":
                problems.append(f"{path.name}: GRANT on {m.group('target')}, not on stockmart.*")
            elif privs & REPLICATION_PRIVILEGES:
                problems.append(f"{path.name}: replication privileges are global, not on stockmart.*")
            if privs & {"ALL", "ALL PRIVILEGES"} or any(p.startswith("ALL ") for p in privs):
                problems.append(f"{path.name}: GRANT ALL")
            if privs - PIPELINE_PRIVILEGES - REPLICATION_PRIVILEGES:
                problems.append(f"{path.name}: privileges beyond the pipeline's: "
                                f"{sorted(privs - PIPELINE_PRIVILEGES - REPLICATION_PRIVILEGES)}")
            if re.search(r"GRANT\s+OPTION", m.group("rest"), re.IGNORECASE):
                problems.append(f"{path.name}: WITH GRANT OPTION")
            if re.search(r"\broot\b", m.group("rest"), re.IGNORECASE):
                problems.append(f"{path.name}: grants to root")
    return problems, granted


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines, current = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        lines.append(current)
        current = ""
    out = []
    for line in lines:
        instruction, _, args = line.partition(" ")
        out.append((instruction.upper(), args.strip()))
    return out


def spark_conf(path: Path) -> dict[str, str]:
    conf = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            conf[key] = value.strip()
    return conf


def volume_entries(service: dict) -> list[tuple[str, str, str]]:
    """(type, source, target) of a service's volumes (short or long syntax)."""
    out = []
    for v in service.get("volumes") or []:
        if isinstance(v, dict):
            out.append((v.get("type", "volume"), v.get("source", ""), v.get("target", "")))
            continue
        parts = v.split(":")
        source, target = (parts[0], parts[1]) if len(parts) > 1 else ("", parts[0])
        kind = "bind" if source.startswith((".", "/", "~")) else "volume"
        out.append((kind, source, target))
    return out


# --------------------------------------------------------------------------------------------------------------
# Compose Specification schema


def test_schema_is_the_official_compose_spec(schema):
    assert schema["title"] == "Compose Specification"
    assert schema["$schema"].startswith("https://json-schema.org/draft/2020-12")
    assert {"services", "volumes", "networks"} <= set(schema["properties"])


def test_compose_file_matches_compose_spec(compose, schema):
    assert schema_errors(compose, schema) == []


def test_compose_file_matches_compose_spec_after_interpolation(interpolated, schema):
    assert schema_errors(interpolated, schema) == []


def test_check_jsonschema_cli_accepts_compose_file():
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_schema_check_catches_mistakes(compose, schema):
    broken = copy.deepcopy(compose)
    broken["services"]["mysql"]["healthcheck"]["intervall"] = "10s"  # misspelt key
    broken["services"]["webserver"]["ports"] = "127.0.0.1:3000:3000"  # not a list
    broken["services"]["code"]["depends_on"]["mysql"]["condition"] = "service_ready"  # no such condition
    errors = schema_errors(broken, schema)
    assert any("intervall" in e for e in errors)
    assert any(e.startswith("services/webserver/ports") for e in errors)
    assert any(e.startswith("services/code/depends_on") for e in errors)


def test_compose_yaml_has_no_duplicate_keys():
    with pytest.raises(yaml.constructor.ConstructorError, match="duplicate key"):
        yaml.load("services:\n  a: {image: x}\n  a: {image: y}\n", Loader=_StrictLoader)  # noqa: S506
    load_yaml(COMPOSE_FILE)  # raises on a duplicate key


def test_docker_compose_config_when_the_plugin_is_installed(env_example, tmp_path):
    """`docker compose config` (no engine needed) when the client has the compose plugin; skipped otherwise."""
    docker = shutil.which("docker")
    if not docker or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("the docker compose plugin is not installed")
    done = subprocess.run(
        [docker, "compose", "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE_FILE), "config", "-q"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr


# --------------------------------------------------------------------------------------------------------------
# Secrets and .env.example


def test_no_literal_passwords_in_compose(compose):
    assert literal_secret_problems(compose) == []


def test_secret_check_catches_literals():
    bad = {
        "services": {
            "db": {
                "environment": {"MYSQL_ROOT_PASSWORD": "hunter2", "APP_URL": "mysql://app:hunter2@db/x"},  # secret-scan: allow
                "healthcheck": {"test": ["CMD", "mysqladmin", "ping", "-phunter2"]},
            },
            "pg": {"environment": ["POSTGRES_PASSWORD=${PG_PASSWORD:-postgres}"]},
        }
    }
    problems = literal_secret_problems(bad)
    assert any("MYSQL_ROOT_PASSWORD" in p for p in problems)
    assert any("URL" in p for p in problems)
    assert any("-phunter2" in p for p in problems)
    assert any("POSTGRES_PASSWORD" in p for p in problems)  # a default is a committed password


def test_passwords_are_required_without_a_default(compose):
    """With no .env at all, compose must refuse to start rather than run with empty passwords."""
    secrets = {
        m.group("name")
        for service in compose["services"].values()
        for key, value in environment_of(service).items()
        if SECRET_KEY.search(key) and (m := REQUIRED_INTERPOLATION.match(str(value)))
    }
    assert {"MYSQL_ROOT_PASSWORD", "STOCKMART_MYSQL_PASSWORD", "DAGSTER_POSTGRES_PASSWORD"} <= secrets
    with pytest.raises(InterpolationError, match="required variable"):
        interpolate(compose, {})


def test_env_example_lists_every_variable_compose_uses(compose, env_example):
    used = set()
    for text in strings_in(compose):
        used |= variables_in(text)
    assert used, "docker-compose.yaml interpolates no variable?"
    assert sorted(used - set(env_example)) == []
    unused = {k for k in env_example if k not in used and not k.startswith(("COMPOSE_", "DOCKER_"))}
    assert sorted(unused) == [], "variables in .env.example that docker-compose.yaml does not use"


def test_env_example_documents_every_variable_and_holds_only_placeholders(env_example):
    blocks = ENV_EXAMPLE.read_text(encoding="utf-8").split("\n\n")
    for block in blocks:
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if any(not line.startswith("#") for line in lines):
            assert any(line.startswith("#") for line in lines), f"undocumented variable(s) in:\n{block}"
    for key, value in env_example.items():
        if SECRET_KEY.search(key):
            assert value.startswith("change-me"), f"{key} in .env.example must be a change-me placeholder"


# --------------------------------------------------------------------------------------------------------------
# Ports, health checks, start-up order, volumes


def test_published_ports_bind_loopback_only(interpolated):
    assert published_port_problems(interpolated) == []
    published = {name for name, s in interpolated["services"].items() if s.get("ports")}
    assert {"webserver", "mysql", "spark-master", "spark-history"} <= published


def test_port_check_catches_public_bindings():
    bad = {"services": {
        "a": {"ports": ["3000:3000"]},
        "b": {"ports": ["0.0.0.0:8080:8080/tcp"]},
        "c": {"ports": [{"target": 80, "published": "8081"}]},
        "d": {"ports": [8082]},
        "e": {"network_mode": "host"},
        "ok": {"ports": ["127.0.0.1:9000:9000", {"target": 1, "published": "2", "host_ip": "127.0.0.1"}]},
    }}
    problems = published_port_problems(bad)
    assert {p.split(":")[0] for p in problems} == {"a", "b", "c", "d", "e"}


def test_dagster_webserver_published_on_loopback_3000(compose):
    assert compose["services"]["webserver"]["ports"] == ["127.0.0.1:3000:3000"]


def test_every_long_running_service_has_a_healthcheck(compose):
    assert one_shot_services(compose) == {"spark-events-init"}
    assert healthcheck_problems(compose) == []


def test_services_wait_for_their_dependencies_to_be_healthy(compose):
    assert depends_on_problems(compose) == []
    depends = {name: set(s.get("depends_on") or {}) for name, s in compose["services"].items()}
    assert {"mysql", "postgres", "spark-master"} <= depends["code"]
    assert {"postgres", "code"} <= depends["webserver"]
    assert {"postgres", "code"} <= depends["daemon"]
    assert {"spark-master"} <= depends["spark-worker-1"] and {"spark-master"} <= depends["spark-worker-2"]


def test_volumes_are_declared_and_bind_sources_exist(compose):
    declared = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        for kind, source, target in volume_entries(service):
            assert target.startswith("/"), f"{name}: {target}"
            if kind == "volume" and source:
                assert source in declared, f"{name}: named volume {source!r} is not declared"
            if kind == "bind" and not source.startswith(RUNTIME_BIND_SOURCES):
                assert (ROOT / source).exists(), f"{name}: bind source {source} does not exist"
    for name in ("mysql", "postgres"):
        kinds = {kind for kind, _, _ in volume_entries(compose["services"][name])}
        assert "volume" in kinds, f"{name} keeps its data in a named volume"


# --------------------------------------------------------------------------------------------------------------
# MySQL


def test_mysql_service(compose, interpolated):
    mysql = compose["services"]["mysql"]
    assert re.fullmatch(r"mysql:8\.(0|4)(\.\d+)?", mysql["image"])
    command = " ".join(mysql["command"])
    assert "--local-infile=1" in command
    for setting in ("--binlog-format=ROW", "--binlog-row-image=FULL", "--binlog-row-metadata=FULL"):
        assert setting in command, f"binlog change capture needs {setting}"
    assert "--character-set-server=utf8mb4" in command
    assert mysql["healthcheck"]["test"][:3] == ["CMD", "mysqladmin", "ping"]
    env = environment_of(mysql)
    assert env["MYSQL_ROOT_HOST"] == "localhost"  # root cannot log in over the network
    assert not {"MYSQL_USER", "MYSQL_PASSWORD"} & set(env), "the image would GRANT ALL on its database"
    assert ("volume", "mysql-data", "/var/lib/mysql") in volume_entries(mysql)
    assert ("bind", "./docker/mysql/init", "/docker-entrypoint-initdb.d") in volume_entries(mysql)

    url = environment_of(interpolated["services"]["code"])["STOCKMART_MYSQL_URL"]
    m = re.fullmatch(r"mysql://(?P<user>[^:]+):(?P<pw>[^@]+)@(?P<host>[^:/]+):3306/(?P<db>\w+)", url)  # secret-scan: allow
    assert m and m.group("user") == "stockmart" and m.group("host") == "mysql" and m.group("db") == "stockmart"
    for name in ("code", "webserver", "daemon"):
        assert "MYSQL_ROOT_PASSWORD" not in str(compose["services"][name]), f"{name} must not see root's password"


def test_mysql_grants_are_schema_scoped_and_minimal():
    files = sorted(p for p in MYSQL_INIT_DIR.iterdir() if p.suffix in (".sql", ".sh"))
    assert files, "no MySQL init files"
    problems, granted = grant_problems(files)
    assert problems == []
    assert granted, "no GRANT statement"
    assert set().union(*granted) == PIPELINE_PRIVILEGES | REPLICATION_PRIVILEGES
    sql = strip_sql_comments((MYSQL_INIT_DIR / "02-stockmart.sql").read_text(encoding="utf-8"))
    assert re.search(r"CREATE DATABASE IF NOT EXISTS `?stockmart`?\s+CHARACTER SET utf8mb4", sql)


def test_grant_check_catches_broad_grants(tmp_path):
    bad = tmp_path / "bad.sql"
    bad.write_text(
        "GRANT ALL PRIVILEGES ON *.* TO 'stockmart'@'%';\n"
        "GRANT SELECT, FILE ON stockmart.* TO 'x'@'%' WITH GRANT OPTION;\n"
        "GRANT SUPER ON mysql.* TO root;\n"
    )
    problems, _ = grant_problems([bad])
    text = "\n".join(problems)
    for needle in ("global (*.*) privileges beyond replication", "GRANT ALL", "FILE", "WITH GRANT OPTION",
                   "not on stockmart.*", "root"):
        assert needle in text, needle


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize("mode", ["executed", "sourced"])
def test_pipeline_user_script(tmp_path, mode):
    """01-pipeline-user.sh with a stand-in mysql client: the SQL it sends, with a password that needs quoting."""
    script = MYSQL_INIT_DIR / "01-pipeline-user.sh"
    out = tmp_path / "sql.txt"
    stub = tmp_path / "mysql"
    stub.write_text('#!/bin/sh\necho "ARGS $*" >> "$OUT"\ncat >> "$OUT"\n')
    stub.chmod(0o755)
    env = dict(os.environ, PATH=f"{tmp_path}:{os.environ['PATH']}", OUT=str(out),
               MYSQL_ROOT_PASSWORD="root-pw", STOCKMART_MYSQL_PASSWORD="a'b\\c")  # secret-scan: allow
    if mode == "executed":
        argv = ["bash", str(script)]
    else:  # as the official image's entrypoint does: sourced, under set -eo pipefail, with docker_process_sql
        argv = ["bash", "-c", f'set -eo pipefail; docker_process_sql() {{ cat >> "$OUT"; }}; . "{script}"; echo done']
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    sql = out.read_text()
    assert "CREATE USER IF NOT EXISTS 'stockmart'@'%' IDENTIFIED BY 'a''b\\\\c';" in sql
    assert "GRANT" not in sql.upper()
    if mode == "executed":
        assert "ARGS --protocol=socket -uroot" in sql and "root-pw" not in sql  # password via MYSQL_PWD  # secret-scan: allow
    else:
        assert done.stdout.strip() == "done"

    # A failing client fails the script (and with it the container's first start).
    stub.write_text("#!/bin/sh\nexit 3\n")
    failing = subprocess.run(argv if mode == "executed" else ["bash", "-c", f'set -eo pipefail; . "{script}"'],
                             env=env, capture_output=True, text=True, timeout=30)
    assert failing.returncode != 0

    del env["STOCKMART_MYSQL_PASSWORD"]
    failed = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
    assert failed.returncode != 0 and "STOCKMART_MYSQL_PASSWORD" in failed.stderr


# --------------------------------------------------------------------------------------------------------------
# Spark


def test_spark_cluster(compose):
    services = compose["services"]
    pyspark_pin = None
    pyproject = ROOT / "pyproject.toml"
    if pyproject.exists():
        deps = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
        pyspark_pin = next((d.split("==")[1] for d in deps if re.match(r"pyspark\s*==", d)), None)
    for name in ("spark-master", "spark-worker-1", "spark-worker-2", "spark-history"):
        image = services[name]["image"]
        assert image.startswith("apache/spark:3.5.7"), image
        if pyspark_pin:
            assert image.startswith(f"apache/spark:{pyspark_pin.strip()}"), "Spark cluster and pyspark differ"
        assert services[name]["command"][0] == "/opt/spark/bin/spark-class"
    assert services["spark-master"]["command"][1] == "org.apache.spark.deploy.master.Master"
    assert services["spark-history"]["command"][1] == "org.apache.spark.deploy.history.HistoryServer"
    master_url = environment_of(services["code"])["STOCKMART_SPARK_MASTER"]
    assert master_url == "spark://spark-master:7077"
    for name in ("spark-worker-1", "spark-worker-2"):
        command = services[name]["command"]
        assert command[1] == "org.apache.spark.deploy.worker.Worker" and command[-1] == master_url
        assert services[name]["hostname"] == name  # what the worker advertises must resolve on the network


def test_spark_event_logs_reach_the_history_server(compose):
    services = compose["services"]
    driver = spark_conf(DOCKER_DIR / "spark" / "driver" / "spark-defaults.conf")
    cluster = spark_conf(DOCKER_DIR / "spark" / "cluster" / "spark-defaults.conf")
    assert driver["spark.eventLog.enabled"] == "true"
    log_dir = driver["spark.eventLog.dir"].removeprefix("file://")
    assert cluster["spark.history.fs.logDirectory"].removeprefix("file://") == log_dir
    assert ("volume", "spark-events", log_dir) in volume_entries(services["code"])
    assert ("volume", "spark-events", log_dir) in volume_entries(services["spark-history"])
    # Executors connect back to the driver by this name.
    assert driver["spark.driver.host"] == services["code"]["hostname"] == "code"
    code_env = environment_of(services["code"])
    assert ("bind", "./docker/spark/driver/spark-defaults.conf",
            f"{code_env['SPARK_CONF_DIR']}/spark-defaults.conf") in volume_entries(services["code"])


# --------------------------------------------------------------------------------------------------------------
# Dagster


def test_dagster_services(compose):
    services = compose["services"]
    assert services["code"]["command"] == [
        "dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "stockmart_assets.definitions",
    ]
    assert services["webserver"]["command"][0] == "dagster-webserver"
    assert services["daemon"]["command"][:2] == ["dagster-daemon", "run"]
    for name in ("code", "webserver", "daemon"):
        assert services[name]["build"]["dockerfile"] == "Dockerfile"
        env = environment_of(services[name])
        assert env["DAGSTER_HOME"] == "/opt/dagster/home"
        targets = {t for _, _, t in volume_entries(services[name])}
        assert {"/opt/dagster/home/dagster.yaml", "/opt/dagster/home/workspace.yaml"} <= targets
    code_env = environment_of(services["code"])
    assert code_env["STOCKMART_ENV"] == "${STOCKMART_ENV:-LOCAL}"
    assert code_env["STOCKMART_LANDING_DIR"] == "/data/landing"
    assert ("bind", "./data/landing", "/data/landing") in volume_entries(services["code"])
    # The working folder (lake, ...) outlives the container.
    assert any(kind == "volume" and target == code_env["STOCKMART_HOME"]
               for kind, _, target in volume_entries(services["code"]))


def test_env_example_mysql_password_is_url_safe(env_example):
    """The same value creates the MySQL account and sits unencoded in STOCKMART_MYSQL_URL."""
    assert re.fullmatch(r"[A-Za-z0-9._~-]+", env_example["STOCKMART_MYSQL_PASSWORD"])


def test_dagster_instance_config_is_valid(tmp_path, compose):
    from dagster._config import validate_config
    from dagster._core.instance.config import dagster_instance_config

    shutil.copy(DOCKER_DIR / "dagster.yaml", tmp_path / "dagster.yaml")
    config, custom_class = dagster_instance_config(str(tmp_path))  # raises DagsterInvalidConfigError
    assert custom_class is None
    assert "postgres" in config["storage"]
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert config["scheduler"]["class"] == "DagsterDaemonScheduler"
    for key in ("run_coordinator", "run_launcher", "scheduler", "compute_logs"):
        entry = config[key]
        klass = getattr(importlib.import_module(entry["module"]), entry["class"])
        result = validate_config(klass.config_type(), entry.get("config") or {})
        assert result.success, f"{key}: {result.errors}"

    # Every env var the instance reads is given to every container that loads the instance.
    def env_refs(node):
        if isinstance(node, dict):
            if set(node) == {"env"}:
                yield node["env"]
            for v in node.values():
                yield from env_refs(v)
        elif isinstance(node, list):
            for v in node:
                yield from env_refs(v)

    needed = set(env_refs(load_yaml(DOCKER_DIR / "dagster.yaml")))
    assert needed
    for name in ("code", "webserver", "daemon"):
        assert needed <= set(environment_of(compose["services"][name])), name


def test_dagster_workspace_points_at_the_code_service(compose):
    from dagster._core.workspace.config_schema import process_workspace_config

    workspace = load_yaml(DOCKER_DIR / "workspace.yaml")
    result = process_workspace_config(workspace)
    assert result.success, result.errors
    [location] = workspace["load_from"]
    server = location["grpc_server"]
    assert server["host"] == "code" and server["port"] == 4000
    command = compose["services"]["code"]["command"]
    assert command[command.index("-p") + 1] == "4000"


# --------------------------------------------------------------------------------------------------------------
# Dockerfile


def test_dockerfile():
    instructions = dockerfile_instructions(DOCKERFILE.read_text(encoding="utf-8"))
    by = lambda name: [args for instr, args in instructions if instr == name]  # noqa: E731
    assert by("FROM") == ["python:3.11-slim-bookworm"]
    runs = by("RUN")
    assert any(re.search(r"apt-get install\b.*\bopenjdk-17-jre-headless\b", r) for r in runs)
    assert any(re.search(r"\bpip install\b[^;&|]*\s\.(\s|;|$)", r) for r in runs)
    jars = [i for i, (instr, args) in enumerate(instructions)
            if instr == "RUN" and "python -m stockmart_assets.lib.deequ.jars" in args]
    assert jars, "the Maven jars are not fetched at build time"
    users = [(i, args) for i, (instr, args) in enumerate(instructions) if instr == "USER"]
    assert users and users[-1][1].split(":")[0] not in ("root", "0"), "the image must end as a non-root user"
    assert users[-1][0] < jars[0], "jars must be fetched as the runtime user (into its ~/.m2)"
    assert "4000" in " ".join(by("EXPOSE")).split()
    assert by("WORKDIR")
    for args in by("COPY"):
        words = [w for w in args.split() if not w.startswith("--")]
        for source in words[:-1]:
            if "*" in source:
                continue
            assert (ROOT / source).exists(), f"COPY source {source} does not exist"
    spec = importlib.util.find_spec("stockmart_assets.lib.deequ.jars")
    assert spec is not None, "python -m stockmart_assets.lib.deequ.jars would fail"
