"""Profile sync: what a directory's change to a SCIM user does to the person
(docs/lifecycle.md §9).

Each organisation sees a member through its own live SCIM row: the management API and
sessions render the name and email of that row per membership, so one directory's PATCH
is visible to its organisation in the same transaction and never to another one. The
global person (``users.name``, ``users.email``) follows exactly one directory, the one of
the organisation named in ``profile_org_id`` (the directory that created the person); every
other directory changes only its own view.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scim_server.services.directory.context import ScimContext
from scim_server.services.emails import canonical_email
from scim_server.services.emails import domain_of
from scim_server.services.profiles import display_name
from scim_server.services.profiles import primary_email
from scim_server.storage import queries
from scim_server.storage.models import User


def profile_json(doc: dict[str, Any]) -> dict[str, Any]:
    """The profile fields an event records before and after a change."""
    return {"name": display_name(doc), "email": primary_email(doc)}


def sync_person(db: Session, ctx: ScimContext, person: User, doc: dict[str, Any]) -> bool:
    """Carry a stored document's name and primary email to the person this organisation's
    directory owns; returns whether the person changed.

    Attribute changes on the person are flushed with the request's other writes (one
    UPDATE), so a name PATCH costs one statement more and a PATCH that changes nothing the
    person shows costs none.
    """
    if person.profile_org_id != ctx.org.id:
        return False
    changed = False
    name = display_name(doc)
    if name != person.name:
        person.name, changed = name, True
    email = primary_email(doc)
    if email is not None and email != person.email:
        changed = _move_email(db, ctx, person, email) or changed
    return changed


def _move_email(db: Session, ctx: ScimContext, person: User, email: str) -> bool:
    """A new primary email: re-evaluate ``email_verified`` against this organisation's
    verified domains (the same rule as a directory create, docs/lifecycle.md rows P1–P2).

    An address another account already holds stays theirs: the person keeps the old
    global email (accounts are never merged by a directory) while this organisation's view
    shows the new one, and the request still succeeds. An address that differs only in
    spelling keeps its verification. The move is its own savepoint, so losing a race for
    the address to another request is the same outcome, never a failed request.
    """
    key = canonical_email(email)
    if key == person.email_normalized:
        person.email = email
        return True
    holder, owner = queries.email_holder_and_domain_owner(db, key, domain_of(key))
    if holder is not None and holder != person.id:
        return False
    values = {"email": email, "email_normalized": key, "email_verified": owner == ctx.org.id}
    try:  # a parallel request may take the address between the check and the write
        with db.begin_nested():
            db.execute(update(User).where(User.id == person.id).values(**values))
    except IntegrityError:
        return False
    return True
