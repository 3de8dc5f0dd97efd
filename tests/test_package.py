"""The built wheel installs into a fresh virtualenv and serves from any directory.

Builds from a copy of the source tree (so no build/ or egg-info lands in the checkout),
installs the wheel with its runtime dependencies only into a new venv under /tmp, and runs
the installed ``scim-server`` with /tmp as its working directory: db upgrade, org create,
serve, then GET /scim/v2/Schemas. About a minute: most of it is pip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.live_server import _free_port
from tests.live_server import _wait_until_up

ROOT = Path(__file__).resolve().parents[1]
SKIP = shutil.ignore_patterns(
    ".git", ".venv*", "var", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "*.db*"
)


@pytest.fixture(scope="module")
def wheel() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="scim-wheel-") as tmp:
        source = Path(tmp) / "src"
        shutil.copytree(ROOT, source, ignore=SKIP)
        out = Path(tmp) / "dist"
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
            check=True,
            capture_output=True,
        )
        (built,) = out.glob("scim_server-*.whl")
        yield built


def test_the_wheel_carries_every_schema_document_unchanged(wheel):
    with zipfile.ZipFile(wheel) as archive:
        packaged = {
            Path(name).name: archive.read(name)
            for name in archive.namelist()
            if name.startswith("scim_server/schemas/")
        }
    sources = {path.name: path.read_bytes() for path in (ROOT / "schemas").glob("*.json")}
    assert packaged == sources


def test_the_installed_wheel_serves_schemas_from_another_directory(wheel):
    with tempfile.TemporaryDirectory(prefix="scim-venv-", dir="/tmp") as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", str(wheel)],
            check=True,
            capture_output=True,
        )
        workdir = Path(tmp) / "elsewhere"
        workdir.mkdir()
        cli = str(venv / "bin" / "scim-server")
        env = {
            "PATH": os.environ["PATH"],
            "HOME": tmp,
            "SCIM_DATABASE_URL": f"sqlite:///{tmp}/installed.db",
            "SCIM_TOKEN_PEPPER": "installed-wheel-pepper",
        }

        def run(*args: str) -> str:
            done = subprocess.run(
                [cli, *args], cwd=workdir, env=env, capture_output=True, text=True, check=False
            )
            assert done.returncode == 0, done.stderr
            return done.stdout

        assert run("--version").startswith("scim-server ")
        run("db", "upgrade")
        info = json.loads(run("org", "create", "Installed", "--json"))
        port = _free_port()
        with tempfile.TemporaryFile() as log:
            server = subprocess.Popen(
                [cli, "serve", "--port", str(port), "--workers", "1"],
                cwd=workdir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                base = f"http://127.0.0.1:{port}"
                _wait_until_up(f"{base}/healthz", server, log)
                response = requests.get(
                    f"{base}/scim/v2/Schemas",
                    headers={"Authorization": f"Bearer {info['scim_token']}"},
                    timeout=10,
                )
            finally:
                server.terminate()
                server.wait(timeout=15)
        assert response.status_code == 200, response.text
        ids = {schema["id"] for schema in response.json()["Resources"]}
        assert "urn:ietf:params:scim:schemas:core:2.0:User" in ids
        assert list(workdir.iterdir()) == []  # nothing stray in the working directory
