"""Every input limit fits the column its value is stored in, and every writable string has one.

PostgreSQL refuses a value longer than its VARCHAR with a 500; SQLite stores it. The
limits (``maxLength`` in ``schemas/``, ``services/inputs.MANAGEMENT_FIELD_LIMITS``) are
checked before the database, so they are only safe while no limit exceeds its column.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import String

from scim_server.scim.schema import CORE_GROUP
from scim_server.scim.schema import CORE_USER
from scim_server.scim.schema import AttributeDef
from scim_server.scim.schema import load_registry
from scim_server.services.emails import NORMALIZED_EMAIL_MAX
from scim_server.services.inputs import MANAGEMENT_FIELD_LIMITS
from scim_server.services.inputs import field_limit
from scim_server.storage import models

REGISTRY = load_registry()


def _width(column: Any) -> int:
    kind = column.property.columns[0].type
    assert isinstance(kind, String) and kind.length, f"{column} is not a bounded VARCHAR"
    return int(kind.length)


def _attr(urn: str, dotted: str) -> AttributeDef:
    schema = REGISTRY.schemas[urn]
    head, _, sub = dotted.partition(".")
    found = schema.attribute(head) or next(a for a in REGISTRY.user.common if a.name == head)
    found = found.sub(sub) if sub else found
    assert found is not None, dotted
    return found


def _limit(urn: str, dotted: str) -> int:
    limit = _attr(urn, dotted).max_length
    assert limit is not None, f"{dotted} has no maxLength"
    return limit


# (schema, attribute, the column that stores it verbatim)
STORED = [
    (CORE_USER, "userName", models.ScimUser.user_name),
    (CORE_USER, "externalId", models.ScimUser.external_id),
    (CORE_USER, "externalId", models.ScimGroup.external_id),
    (CORE_USER, "displayName", models.ScimUser.display_name),
    (CORE_GROUP, "displayName", models.ScimGroup.display_name),
    (CORE_USER, "emails.value", models.User.email),
    (CORE_USER, "emails.type", models.ScimUserValue.type),
    (CORE_USER, "phoneNumbers.type", models.ScimUserValue.type),
    (CORE_USER, "addresses.type", models.ScimUserValue.type),
]


@pytest.mark.parametrize(("urn", "dotted", "column"), STORED, ids=[s[1] for s in STORED])
def test_each_stored_attribute_fits_its_column(urn, dotted, column) -> None:
    assert _limit(urn, dotted) <= _width(column)


def test_the_derived_person_name_fits_users_name() -> None:
    """users.name is displayName, else name.formatted, else 'givenName familyName'."""
    parts = _limit(CORE_USER, "name.givenName") + 1 + _limit(CORE_USER, "name.familyName")
    longest = max(_limit(CORE_USER, "displayName"), _limit(CORE_USER, "name.formatted"), parts)
    assert longest <= _width(models.User.name)


def test_the_email_key_fits_its_columns() -> None:
    """canonical_email refuses a key wider than NORMALIZED_EMAIL_MAX (IDNA lengthens)."""
    assert _width(models.User.email_normalized) >= NORMALIZED_EMAIL_MAX
    assert _width(models.Invitation.email_normalized) >= NORMALIZED_EMAIL_MAX


def test_every_writable_string_has_a_max_length() -> None:
    missing = []
    for rtype in REGISTRY.resource_types.values():
        schemas = (rtype.core, *rtype.extensions)
        attrs = [*rtype.common, *(a for s in schemas for a in s.attributes)]
        for attr in attrs:
            for one in (attr, *attr.sub_attributes):
                writable = not one.read_only
                textual = one.type in ("string", "reference", "binary")
                if writable and textual and one.max_length is None:
                    missing.append(f"{rtype.name} {one.dotted}")
                if writable and one.multi_valued and one.max_items is None:
                    missing.append(f"{rtype.name} {one.dotted} (maxItems)")
    assert not missing, missing


MANAGEMENT = [
    ("name", models.Organization.name),
    ("name", models.Role.name),
    ("name", models.Site.name),
    ("name", models.SsoConnection.name),
    ("claims.name", models.User.name),
    ("user.name", models.User.name),
    ("email", models.Invitation.email),
    ("claims.email", models.User.email),
    ("domain", models.OrgDomain.domain),
    ("emailDomain", models.OrgDomain.domain),
    ("claims.iss", models.SsoIdentity.issuer),
    ("claims.sub", models.SsoIdentity.subject),
]


@pytest.mark.parametrize(("field", "column"), MANAGEMENT, ids=[f"{f} {c}" for f, c in MANAGEMENT])
def test_each_management_field_fits_its_column(field, column) -> None:
    assert field in MANAGEMENT_FIELD_LIMITS or "." in field
    assert field_limit(field) <= _width(column)
