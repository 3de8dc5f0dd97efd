"""Dockerfile and compose.yaml, checked statically (no container runtime needed).

The rules are the hadolint-style ones that matter here: pinned slim base images, a
non-root user for the final stage, a HEALTHCHECK on /healthz, exec-form ENTRYPOINT, no
pip cache, COPY sources that exist. compose.yaml: PostgreSQL, migrations before the app,
two app replicas behind one published port, only real settings. The image itself is built
only where ``docker`` answers (``test_image_builds``); elsewhere that test is skipped.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from scim_server import config

ROOT = Path(__file__).resolve().parents[1]


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per Dockerfile instruction, continuation lines joined."""
    joined = text.replace("\\\n", " ")
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def dockerfile_problems(text: str, root: Path = ROOT) -> list[str]:
    found = []
    steps = _instructions(text)
    stages = [i for i, (k, _) in enumerate(steps) if k == "FROM"]
    if not stages:
        return ["no FROM"]
    for _, image in (steps[i] for i in stages):
        base = image.split()[0]
        if ":" not in base or base.endswith(":latest"):
            found.append(f"base image {base} is not pinned to a tag")
        elif "-slim" not in base and "alpine" not in base:
            found.append(f"base image {base} is not a slim image")
    final = steps[stages[-1] :]
    users = [arg for k, arg in final if k == "USER"]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        found.append("the final stage does not switch to a non-root USER")
    health = [arg for k, arg in final if k == "HEALTHCHECK"]
    if not health or "/healthz" not in health[-1]:
        found.append("no HEALTHCHECK on /healthz in the final stage")
    entry = [arg for k, arg in final if k in ("ENTRYPOINT", "CMD")]
    for arg in entry:
        try:
            json.loads(arg)
        except ValueError:
            found.append(f"ENTRYPOINT/CMD not in exec (JSON) form: {arg}")
    for keyword, arg in steps:
        if keyword == "ADD" and "://" in arg:
            found.append("ADD of a URL (use a pinned, checked download)")
        if keyword == "RUN" and "pip install" in arg:
            cached = "--no-cache-dir" in arg or "PIP_NO_CACHE_DIR=1" in text
            if not cached:
                found.append("pip install keeps its cache in the image")
        if keyword == "COPY" and "--from=" not in arg:
            *sources, _target = shlex.split(arg)
            found += [f"COPY source {s} does not exist" for s in sources if not (root / s).exists()]
    return found


def test_the_dockerfile_passes_the_checks():
    assert dockerfile_problems((ROOT / "Dockerfile").read_text()) == []


@pytest.mark.parametrize(
    ("planted", "problem"),
    [
        ("USER scim", "non-root USER"),
        ("HEALTHCHECK", "no HEALTHCHECK"),
        ("python:3.12-slim\n", "not pinned"),
        ("COPY schemas ./schemas", "does not exist"),
        ('ENTRYPOINT ["scim-server"]', "exec (JSON) form"),
    ],
)
def test_the_checks_see_a_planted_problem(planted, problem):
    text = (ROOT / "Dockerfile").read_text()
    replacement = {
        "USER scim": "USER root",
        "HEALTHCHECK": "# HEALTHCHECK",
        "python:3.12-slim\n": "python\n",
        "COPY schemas ./schemas": "COPY schemata ./schemas",
        'ENTRYPOINT ["scim-server"]': "ENTRYPOINT scim-server",
    }[planted]
    assert planted in text
    found = dockerfile_problems(text.replace(planted, replacement))
    assert any(problem in p for p in found), found


def _compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_compose_runs_postgres_migrations_and_two_apps_behind_one_port():
    services = _compose()["services"]
    assert services["db"]["image"].startswith("postgres:")
    assert services["migrate"]["command"] == ["db", "upgrade"]
    app = services["app"]
    assert app["deploy"]["replicas"] >= 2
    assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    published = {name: s["ports"] for name, s in services.items() if s.get("ports")}
    assert list(published) == ["proxy"] and len(published["proxy"]) == 1
    mounted = services["proxy"]["volumes"][0].split(":")[0]
    assert (ROOT / mounted).is_file()
    assert "server app:8000" in (ROOT / mounted).read_text()


def test_compose_sets_only_real_settings_and_requires_the_secrets():
    env = _compose()["services"]["app"]["environment"]
    scim_keys = {key.removeprefix("SCIM_") for key in env if key.startswith("SCIM_")}
    assert scim_keys <= set(config.DEFAULTS), scim_keys - set(config.DEFAULTS)
    assert env["SCIM_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert ":?" in env["SCIM_TOKEN_PEPPER"]  # compose refuses to start without it
    assert "GUNICORN_CMD_ARGS" in env


def _docker_works() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0


@pytest.mark.skipif(not _docker_works(), reason="no working container runtime (docker info)")
def test_image_builds():
    subprocess.run(
        ["docker", "build", "-q", "-t", "scim-server:test", str(ROOT)], check=True, timeout=900
    )


def test_the_build_context_leaves_out_virtualenvs_databases_and_secrets():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv*", "var", "*.db", ".env"} <= ignored
