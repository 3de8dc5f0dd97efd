"""The console in headless Chromium: the app served on a free port over a fresh SQLite
file, Chromium from the Debian package (Playwright's own download does not work on every
machine; ``scripts/test.sh`` installs the package). Without a browser these tests are
skipped with a loud reason, never silently."""

from __future__ import annotations

import os
import shutil
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from scim_server import create_app
from scim_server.db import make_engine
from scim_server.storage import migrate
from tests.conftest import PEPPER
from tests.conftest import PLATFORM_KEY
from tests.conftest import OrgFixture
from tests.conftest import make_org

CHROMIUM = os.environ.get("SCIM_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(os.environ.get("SCIM_SCREENSHOT_DIR", "var/screenshots"))


@dataclass
class LiveConsole:
    base_url: str
    org: OrgFixture


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        message = (
            f"BROWSER TESTS SKIPPED: no Chromium at {CHROMIUM}. Install the Debian package "
            "'chromium' (scripts/test.sh does so when it can) or set SCIM_CHROMIUM."
        )
        warnings.warn(message, stacklevel=1)  # the warnings summary shows it even with -q
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="session")
def browser_type_launch_args(chromium_path: str) -> dict[str, Any]:
    """pytest-playwright's launch arguments: the system Chromium, headless, quiet."""
    return {"executable_path": chromium_path, "args": FLAGS, "headless": True}


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveConsole]:
    url = f"sqlite:///{tmp_path / 'console.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    with Session(engine) as db:
        org = make_org(db, "Acme")
    app = create_app({"DATABASE_URL": url, "TOKEN_PEPPER": PEPPER, "PLATFORM_KEY": PLATFORM_KEY})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveConsole(f"http://127.0.0.1:{server.server_port}", org)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        engine.dispose()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
