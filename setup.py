"""Build hook: ship the repository's ``schemas/`` inside the wheel as ``scim_server/schemas``.

``schemas/`` at the repository root stays the only copy (tests, docs and an editable install
read it there); an installed package finds the copy this hook puts next to its modules
(``scim_server/scim/schema.py``, ``DEFAULT_SCHEMA_DIR``). Everything else is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildWithSchemas(build_py):  # type: ignore[misc]
    """The standard build, plus the schema documents copied into the built package."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        target = Path(self.build_lib) / "scim_server" / "schemas"
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for source in sorted((ROOT / "schemas").glob("*.json")):
            shutil.copy2(source, target / source.name)


setup(cmdclass={"build_py": BuildWithSchemas})
