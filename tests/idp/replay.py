"""Replaying an IdP's request samples: create from a sample with fresh, unique values."""

from __future__ import annotations

import uuid
from typing import Any

from tests.idp_samples import sample
from tests.scim_client import Scim


def create_user_from(scim: Scim, name: str, domain: str) -> dict[str, Any]:
    """POST the User sample ``name`` with a new ``{user_name}`` and ``{external_id}``; 201."""
    user_name = f"u-{uuid.uuid4().hex[:8]}@{domain}"
    body = sample(name, user_name=user_name, external_id=uuid.uuid4().hex)
    created = scim.post("/Users", body)
    assert created.status_code == 201, created.get_json()
    result: dict[str, Any] = created.get_json()
    return result
