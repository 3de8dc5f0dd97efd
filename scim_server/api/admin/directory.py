"""Management API: disconnecting an organisation's SCIM directory."""

from __future__ import annotations

from flask import Response

from scim_server.api.admin import auth
from scim_server.api.admin.http import body
from scim_server.api.admin.http import fields
from scim_server.api.admin.http import reply
from scim_server.db import get_session
from scim_server.services.errors import ErrorCode
from scim_server.services.errors import ProvisioningError
from scim_server.services.organizations import orgs

bp = auth.blueprint("directory", __name__, "/api/v1/organizations/<org_id>/directory")


@bp.post("/disconnect")
def disconnect_directory(org_id: str) -> Response:
    """docs/lifecycle.md row K1 needs an explicit confirmation: it ends directory management
    for everyone."""
    if body().get("confirm") is not True:
        raise ProvisioningError(
            ErrorCode.CONFIRMATION_REQUIRED,
            'Send {"confirm": true} to disconnect the SCIM directory.',
        )
    org = auth.organization(org_id)
    actor = auth.acting(org).actor
    remove_groups = fields("confirm", "remove_groups").get("remove_groups", False)
    if not isinstance(remove_groups, bool):
        raise ProvisioningError(
            ErrorCode.VALIDATION_ERROR, "'remove_groups' must be true or false."
        )
    done = orgs.disconnect_directory(get_session(), org, actor=actor, remove_groups=remove_groups)
    groups = "removed" if done.groups_removed else "kept"
    return reply(
        {
            "disconnected": True,
            "members_changed": done.members_changed,
            "groups": groups,
            f"groups_{groups}": done.groups,
        }
    )
