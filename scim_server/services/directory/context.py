"""What every SCIM service call carries: whose directory, who acts, where resources live."""

from __future__ import annotations

from dataclasses import dataclass

from scim_server.scim.schema import SchemaRegistry
from scim_server.scim.validation import ResourceValidator
from scim_server.services.audit import Actor
from scim_server.storage.models import Organization


@dataclass(frozen=True)
class ScimContext:
    org: Organization
    directory_id: str
    actor: Actor
    base_url: str  # e.g. https://host/scim/v2, for meta.location
    registry: SchemaRegistry
    validators: dict[str, ResourceValidator]
    max_patch_operations: int = 1000

    def location(self, endpoint: str, resource_id: str) -> str:
        return f"{self.base_url}/{endpoint}/{resource_id}"
