"""The profile a directory supplies for a member: the name and email the product shows.

Read from a SCIM User document (or a stored one). Shared by the directory, which writes
it, and the membership package, which renders it per organisation (docs/lifecycle.md §9),
so that both read a document the same way.
"""

from __future__ import annotations

from typing import Any


def primary_email(doc: dict[str, Any]) -> str | None:
    """The email that identifies the person: the primary one, else the first."""
    emails = [e for e in doc.get("emails") or () if isinstance(e, dict) and e.get("value")]
    for email in emails:
        if email.get("primary"):
            return str(email["value"])
    return str(emails[0]["value"]) if emails else None


def display_name(doc: dict[str, Any]) -> str | None:
    """``displayName``, else ``name.formatted``, else given and family name joined."""
    name = doc.get("displayName")
    if name:
        return str(name)
    parts = doc.get("name") or {}
    formatted = parts.get("formatted") or " ".join(
        p for p in (parts.get("givenName"), parts.get("familyName")) if p
    )
    return formatted or None
