"""The admin console: server-rendered pages over the same services as the management API.

``web.py`` holds the blueprint, console sessions, CSRF and the security headers; each
page family has its module. Importing them registers their routes on ``bp``.
"""

from __future__ import annotations

from scim_server.api.console import directory as _directory  # noqa: F401
from scim_server.api.console import mappings as _mappings  # noqa: F401
from scim_server.api.console import members as _members  # noqa: F401
from scim_server.api.console import provisioning as _provisioning  # noqa: F401
from scim_server.api.console import signin as _signin  # noqa: F401
from scim_server.api.console import tokens as _tokens  # noqa: F401
from scim_server.api.console.web import bp

__all__ = ["bp"]
