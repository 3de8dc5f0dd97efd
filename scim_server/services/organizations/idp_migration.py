"""Moving an organisation to another IdP (issue 15): stage, report, cut over, roll back.

The candidate directory is the directory of a hidden organisation (``candidate_for`` set)
with its own SCIM token, so the new IdP's pushes and reads go through the ordinary SCIM
code and touch nobody's access in the real organisation. The cutover swaps the two
directories between the organisations in one transaction and re-links matched candidate
users to the members they match (person, grants, overrides, seats, sessions and history
stay on the membership); the rollback swaps them back. Every step is set-based SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import case
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import literal
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from scim_server.services.audit import Actor
from scim_server.services.audit import EventType
from scim_server.services.audit import Target
from scim_server.services.audit import record
from scim_server.services.directory import group_grants
from scim_server.services.errors import ErrorCode
from scim_server.services.errors import ProvisioningError
from scim_server.services.membership import lifecycle
from scim_server.services.membership import transitions
from scim_server.services.membership.access import facts_of
from scim_server.services.membership.access import state_of
from scim_server.services.membership.admin import AdminActor
from scim_server.services.membership.grants import OWNER
from scim_server.services.organizations import idp_matching
from scim_server.services.organizations import tokens
from scim_server.services.organizations.idp_matching import Scope
from scim_server.services.organizations.orgs import directory_of
from scim_server.services.organizations.tokens import IssuedToken
from scim_server.storage.models import ApiToken
from scim_server.storage.models import Directory
from scim_server.storage.models import GroupMapping
from scim_server.storage.models import IdpMigration
from scim_server.storage.models import IdpMigrationLink
from scim_server.storage.models import IdpMigrationPair
from scim_server.storage.models import Membership
from scim_server.storage.models import Organization
from scim_server.storage.models import ScimGroup
from scim_server.storage.models import ScimUser
from scim_server.storage.models import SignInSession
from scim_server.storage.models import utcnow

STAGED, CUT_OVER, ROLLED_BACK, CANCELLED = "staged", "cut_over", "rolled_back", "cancelled"
OPEN_STATES = (STAGED, CUT_OVER)
POLICIES = ("keep", "deactivate")
DEFAULT_ROLLBACK_DAYS = 7
MAX_ROLLBACK_DAYS = 90


@dataclass(frozen=True)
class Staged:
    migration: IdpMigration
    token: IssuedToken


@dataclass(frozen=True)
class CutOver:
    migration: IdpMigration
    relinked: int
    created: int
    only_in_old: int
    skipped: int
    groups_moved: int
    already: bool = False


@dataclass(frozen=True)
class RolledBack:
    migration: IdpMigration
    token: IssuedToken


# ---- staging -----------------------------------------------------------------------------


def current(db: Session, org: Organization, *, lock: bool = False) -> IdpMigration:
    """The organisation's open migration (staged, or cut over within its window)."""
    stmt = (
        select(IdpMigration)
        .where(IdpMigration.org_id == org.id, IdpMigration.status.in_(OPEN_STATES))
        .order_by(IdpMigration.created_at.desc())
        .limit(1)
    )
    found = db.scalars(stmt.with_for_update() if lock else stmt).first()
    if found is None:
        raise ProvisioningError(
            ErrorCode.MIGRATION_NOT_FOUND, "This organization has no IdP migration under way."
        )
    return found


def stage(db: Session, org: Organization, rules: Any, *, pepper: str, actor: Actor) -> Staged:
    """A candidate directory beside the active one, with its own SCIM token (shown once).

    One at a time: a second candidate is refused while one is staged or within its
    rollback window, so two IdPs never race to take over.
    """
    if org.candidate_for is not None:
        raise ProvisioningError(
            ErrorCode.MIGRATION_STATE, "A candidate directory cannot stage its own candidate."
        )
    parsed = idp_matching.parse_rules(rules)
    db.execute(select(Organization.id).where(Organization.id == org.id).with_for_update())
    if db.scalar(
        select(IdpMigration.id).where(
            IdpMigration.org_id == org.id, IdpMigration.status.in_(OPEN_STATES)
        )
    ):
        raise ProvisioningError(
            ErrorCode.MIGRATION_ALREADY_STAGED,
            "A candidate directory is already staged (or within its rollback window); "
            "cut it over, roll it back or cancel it first.",
        )
    shadow = Organization(name=f"{org.name} (candidate directory)", candidate_for=org.id)
    db.add(shadow)
    db.flush()
    db.add(Directory(org_id=shadow.id))
    migration = IdpMigration(
        org_id=org.id,
        candidate_org_id=shadow.id,
        status=STAGED,
        rules=parsed,
        created_by=actor.id or actor.type,
    )
    db.add(migration)
    db.flush()
    token = tokens.create_token(db, shadow, "scim", pepper=pepper, actor=actor)
    record(
        db,
        org.id,
        actor,
        EventType.IDP_MIGRATION_STAGED,
        _target(migration),
        after={"rules": parsed, "token_prefix": token.row.prefix},
    )
    return Staged(migration, token)


def set_rules(db: Session, org: Organization, rules: Any) -> IdpMigration:
    migration = _staged(db, org)
    migration.rules = idp_matching.parse_rules(rules)
    return migration


def set_pairs(db: Session, org: Organization, kind: str, pairs: Any) -> int:
    """Replace the manual pairs of one kind: ``[{"candidate_id": .., "existing_id": ..}]``."""
    migration = _staged(db, org)
    if not isinstance(pairs, list) or not all(
        isinstance(p, dict)
        and set(p) == {"candidate_id", "existing_id"}
        and all(isinstance(v, str) and v for v in p.values())
        for p in pairs
    ):
        raise ProvisioningError(
            ErrorCode.VALIDATION_ERROR,
            f'\'{kind}s\' must be a list of {{"candidate_id": .., "existing_id": ..}}.',
        )
    if len({p["candidate_id"] for p in pairs}) != len(pairs):
        raise ProvisioningError(
            ErrorCode.VALIDATION_ERROR, "Each candidate may appear in one pair only."
        )
    _check_pairs_exist(db, migration, kind, pairs)
    db.execute(
        delete(IdpMigrationPair).where(
            IdpMigrationPair.migration_id == migration.id, IdpMigrationPair.kind == kind
        )
    )
    if pairs:
        db.execute(
            insert(IdpMigrationPair),
            [{"migration_id": migration.id, "kind": kind, **p} for p in pairs],
        )
    return len(pairs)


def _check_pairs_exist(db: Session, m: IdpMigration, kind: str, pairs: list[Any]) -> None:
    """Every id names a live candidate and a live member or group: else 422, nothing kept."""
    scope = scope_of(db, m)
    cand_ids = [p["candidate_id"] for p in pairs]
    existing_ids = [p["existing_id"] for p in pairs]
    if kind == "user":
        found_cand = select(ScimUser.id).where(
            ScimUser.directory_id == scope.candidate_directory_id,
            ScimUser.deleted_at.is_(None),
            ScimUser.id.in_(cand_ids),
        )
        found_existing = select(Membership.user_id).where(
            Membership.org_id == m.org_id,
            Membership.ended_at.is_(None),
            Membership.user_id.in_(existing_ids),
        )
    else:
        found_cand = select(ScimGroup.id).where(
            ScimGroup.directory_id == scope.candidate_directory_id, ScimGroup.id.in_(cand_ids)
        )
        found_existing = select(ScimGroup.id).where(
            ScimGroup.directory_id == scope.old_directory_id, ScimGroup.id.in_(existing_ids)
        )
    unknown = sorted(set(cand_ids) - set(db.scalars(found_cand))) + sorted(
        set(existing_ids) - set(db.scalars(found_existing))
    )
    if unknown:
        raise ProvisioningError(
            ErrorCode.VALIDATION_ERROR,
            f"Unknown {kind} ids in the pairs: {', '.join(unknown[:5])}.",
        )


def cancel(db: Session, org: Organization, *, actor: Actor) -> IdpMigration:
    """Drop a staged candidate: its token is revoked; the shadow view stays for the record."""
    migration = _staged(db, org, lock=True)
    _revoke_scim_tokens(db, migration.candidate_org_id, actor=actor)
    migration.status, migration.finished_at = CANCELLED, utcnow()
    record(db, org.id, actor, EventType.IDP_MIGRATION_CANCELLED, _target(migration))
    return migration


def scope_of(db: Session, migration: IdpMigration) -> Scope:
    """Which directory is old and which is the candidate, at whatever stage the move is."""
    real = directory_of(db, migration.org_id).id
    shadow = directory_of(db, migration.candidate_org_id).id
    old, candidate = (shadow, real) if migration.status == CUT_OVER else (real, shadow)
    rewrites = idp_matching.rewrites_of(migration.rules)
    return Scope(migration.org_id, old, candidate, migration.id, rewrites)


def _staged(db: Session, org: Organization, *, lock: bool = False) -> IdpMigration:
    migration = current(db, org, lock=lock)
    if migration.status != STAGED:
        raise ProvisioningError(
            ErrorCode.MIGRATION_STATE,
            f"The migration is {migration.status}; this needs a staged candidate.",
        )
    return migration


def _target(migration: IdpMigration) -> Target:
    return Target("idp_migration", migration.id)


# ---- cutover -----------------------------------------------------------------------------


def require_owner(by: AdminActor, what: str) -> None:
    """A cutover or rollback changes who manages everyone: an Owner's decision (a named
    Owner, or the platform key), never an Admin's or an organisation key's."""
    if by.role != OWNER:
        raise ProvisioningError(
            ErrorCode.OWNER_REQUIRED,
            f"Only an Owner may {what}: send X-Acting-User naming an Owner.",
        )


def cutover(
    db: Session,
    org: Organization,
    *,
    policy: str,
    force: bool,
    rollback_days: int,
    by: AdminActor,
) -> CutOver:
    """The candidate becomes the active directory, in the caller's one transaction.

    Refused while ambiguous matches are left (unless ``force``: they are then left out,
    their candidates stay behind and their members follow ``policy``). Calling it again
    after it succeeded answers the same move and changes nothing.
    """
    require_owner(by, "cut over to another IdP")
    _check_cutover_input(policy, rollback_days)
    actor = by.actor
    migration = current(db, org, lock=True)
    if migration.status == CUT_OVER:
        return _already(db, migration)
    scope = scope_of(db, migration)
    ambiguous = idp_matching.ambiguous_count(db, scope)
    if ambiguous and not force:
        raise ProvisioningError(
            ErrorCode.MIGRATION_AMBIGUOUS,
            f"{ambiguous} candidate users match ambiguously: pair them by hand "
            '(PUT …/idp-migration/pairs) or send "force": true to leave them out.',
        )
    now = utcnow()
    _link_users(db, scope)
    groups_moved = _move_group_mappings(db, scope)
    left = _leave_only_in_old(db, scope, policy, actor=actor)
    _tombstone_old(db, scope, now)
    relinked, created, skipped = _relink(db, migration, scope)
    _swap_directories(db, migration)
    _hand_over_tokens(db, migration, actor=actor)
    _resync_grants(db, migration, _relinked_ids(migration.id), actor=actor, cause="cut_over")
    migration.status, migration.only_in_old = CUT_OVER, policy
    migration.cut_over_at, migration.rollback_until = now, now + timedelta(days=rollback_days)
    done = CutOver(migration, relinked, created, left, skipped, groups_moved)
    record(
        db,
        org.id,
        actor,
        EventType.IDP_MIGRATION_CUT_OVER,
        _target(migration),
        after=summary(done),
    )
    return done


def _check_cutover_input(policy: str, rollback_days: int) -> None:
    if policy not in POLICIES:
        raise ProvisioningError(
            ErrorCode.VALIDATION_ERROR, f"'only_in_old' must be one of {', '.join(POLICIES)}."
        )
    if not 1 <= rollback_days <= MAX_ROLLBACK_DAYS:
        raise ProvisioningError(
            ErrorCode.VALIDATION_ERROR,
            f"'rollback_days' must be an integer from 1 to {MAX_ROLLBACK_DAYS}.",
        )


def summary(done: CutOver) -> dict[str, Any]:
    return {
        "relinked": done.relinked,
        "created": done.created,
        "only_in_old": done.only_in_old,
        "left_out": done.skipped,
        "groups_moved": done.groups_moved,
    }


def _already(db: Session, migration: IdpMigration) -> CutOver:
    """The stored outcome of the cutover that already happened (idempotent retries)."""
    counts = dict(
        db.execute(
            select(IdpMigrationLink.rule, func.count())
            .where(IdpMigrationLink.migration_id == migration.id)
            .group_by(IdpMigrationLink.rule)
        ).all()
    )
    relinked = sum(n for rule, n in counts.items() if rule in idp_matching.RULES)
    return CutOver(
        migration,
        relinked,
        int(counts.get("new", 0)),
        int(counts.get("only_in_old", 0)),
        int(counts.get("skipped", 0)),
        int(counts.get("group", 0)),
        already=True,
    )


def _link_users(db: Session, scope: Scope) -> None:
    """Record, set-based, what happens to each candidate user: re-linked to a member
    (``existing_id``), moved in as new (the person has no membership here), or left behind
    (ambiguous, or new but already a former member here: ``skipped``)."""
    matches = idp_matching.user_matches(scope).subquery("m")
    cand = ScimUser.__table__.alias("lc")
    here = select(Membership.id).where(
        Membership.org_id == scope.org_id, Membership.user_id == _shadow_person(cand)
    )
    kept_rule = (
        select(
            literal(scope.migration_id),
            literal("user"),
            matches.c.cand,
            _case_member(matches),
            cand.c.membership_id,
            _case_rule(matches, here),
        )
        .select_from(matches)
        .join(cand, cand.c.id == matches.c.cand)
    )
    db.execute(
        insert(IdpMigrationLink).from_select(
            ["migration_id", "kind", "candidate_id", "existing_id", "shadow_id", "rule"],
            kept_rule,
        )
    )


def _shadow_person(cand: Any) -> Any:
    return (
        select(Membership.user_id)
        .where(Membership.id == cand.c.membership_id)
        .correlate(cand)
        .scalar_subquery()
    )


def _case_member(matches: Any) -> Any:
    return case((matches.c.status == "matched", matches.c.member), else_=None)


def _case_rule(matches: Any, here: Any) -> Any:
    return case(
        (matches.c.status == "matched", matches.c.rule),
        (and_(matches.c.status == "only_in_new", ~here.exists()), "new"),
        else_="skipped",
    )


def _move_group_mappings(db: Session, scope: Scope) -> int:
    """Mappings that name an old group by id follow it to the candidate group that matches
    it; mappings by display name need nothing (the new group has the same name). Returns
    how many old groups a candidate group took over."""
    groups = idp_matching.group_matches(scope).subquery("g")
    db.execute(
        insert(IdpMigrationLink).from_select(
            ["migration_id", "kind", "candidate_id", "existing_id", "shadow_id", "rule"],
            select(
                literal(scope.migration_id),
                literal("group"),
                groups.c.cand,
                groups.c.old,
                literal(None),
                literal("group"),
            ).where(groups.c.old.is_not(None)),
        )
    )
    _repoint_mappings(db, scope.migration_id, scope.org_id, forward=True)
    taken = db.scalar(
        select(func.count()).where(
            IdpMigrationLink.migration_id == scope.migration_id, IdpMigrationLink.kind == "group"
        )
    )
    return int(taken or 0)


def _repoint_mappings(db: Session, migration_id: str, org_id: str, *, forward: bool) -> int:
    link = IdpMigrationLink
    source, dest = (
        (link.existing_id, link.candidate_id) if forward else (link.candidate_id, link.existing_id)
    )
    new_id = (
        select(dest)
        .where(
            link.migration_id == migration_id,
            link.kind == "group",
            source == GroupMapping.group_id,
        )
        .scalar_subquery()
    )
    moved = db.execute(
        update(GroupMapping)
        .where(
            GroupMapping.org_id == org_id,
            GroupMapping.group_id.in_(
                select(source).where(link.migration_id == migration_id, link.kind == "group")
            ),
        )
        .values(group_id=new_id, group_key=literal("id:") + new_id)
        .execution_options(synchronize_session=False)
    )
    return int(moved.rowcount or 0)  # type: ignore[attr-defined]


def _leave_only_in_old(db: Session, scope: Scope, policy: str, *, actor: Actor) -> int:
    """Old members no candidate claims: kept active as unmanaged (row K1, as a disconnect
    does) or deactivated by the directory (row U1); never deleted. Their state before is
    recorded so that a rollback can restore it."""
    matches = (
        select(IdpMigrationLink.existing_id.label("member"))
        .where(
            IdpMigrationLink.migration_id == scope.migration_id,
            IdpMigrationLink.kind == "user",
            IdpMigrationLink.existing_id.is_not(None),
        )
        .subquery("linked")
    )
    left = idp_matching.only_in_old(scope, matches).subquery("left")
    trigger = (
        lifecycle.Trigger.DIRECTORY_DISCONNECTED
        if policy == "keep"
        else lifecycle.Trigger.DIRECTORY_DEACTIVATED
    )
    members = db.scalars(
        select(Membership).where(Membership.id.in_(select(left.c.member))).with_for_update()
    ).all()
    links = []
    for m in members:
        links.append(
            {
                "migration_id": scope.migration_id,
                "kind": "old_user",
                "candidate_id": m.id,
                "existing_id": None,
                "shadow_id": m.directory_state,
                "rule": "only_in_old",
            }
        )
        if m.directory_state == "active" or policy == "keep":
            tr = lifecycle.transition(state_of(m), trigger, facts=facts_of(db, m))
            transitions.apply(db, m, tr, actor=actor)
    if links:
        db.execute(insert(IdpMigrationLink), links)
    return len(links)


_SYNC_CHUNK = 2000


def _relinked_ids(migration_id: str) -> Select[str]:
    return select(IdpMigrationLink.candidate_id).where(
        IdpMigrationLink.migration_id == migration_id,
        IdpMigrationLink.kind == "user",
        IdpMigrationLink.rule.not_in(("skipped",)),
    )


def _resync_grants(
    db: Session, migration: IdpMigration, scim_ids: Any, *, actor: Actor, cause: str
) -> None:
    """Roles and sites follow the groups of the directory now active: the group mappings'
    set-based recompute, over the users that directory brought in (admin overrides stay,
    as docs/lifecycle.md §2.7 says). Ids are read in chunks to bound the bound parameters."""
    ids = list(db.scalars(scim_ids))
    for start in range(0, len(ids), _SYNC_CHUNK):
        chunk = ids[start : start + _SYNC_CHUNK]
        group_grants.sync(
            db,
            migration.org_id,
            group_grants.members_of_scim_ids(chunk),
            actor=actor,
            cause=f"idp_migration.{cause}",
        )


def _tombstone_old(db: Session, scope: Scope, now: Any) -> None:
    """The old directory's live users stop being live, marked with the cutover's instant
    so that a rollback revives exactly these."""
    db.execute(
        update(ScimUser)
        .where(ScimUser.directory_id == scope.old_directory_id, ScimUser.deleted_at.is_(None))
        .values(deleted_at=now)
        .execution_options(synchronize_session=False)
    )


def _relink(db: Session, migration: IdpMigration, scope: Scope) -> tuple[int, int, int]:
    """Matched candidates take over their member's membership; new ones move in."""
    link = IdpMigrationLink
    linked = and_(link.migration_id == migration.id, link.kind == "user")
    member_of = (
        select(link.existing_id).where(linked, link.candidate_id == ScimUser.id).scalar_subquery()
    )
    relinked = db.execute(
        update(ScimUser)
        .where(
            ScimUser.id.in_(select(link.candidate_id).where(linked, link.existing_id.is_not(None)))
        )
        .values(membership_id=member_of)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    created = db.execute(
        update(Membership)
        .where(Membership.id.in_(select(link.shadow_id).where(linked, link.rule == "new")))
        .values(org_id=migration.org_id)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    skipped = db.scalar(select(func.count()).where(linked, link.rule == "skipped"))
    _tombstone_skipped(db, migration.id)
    return int(relinked or 0), int(created or 0), int(skipped or 0)


def _tombstone_skipped(db: Session, migration_id: str) -> None:
    """Left-out candidates do not come along: the new IdP sees them gone and may re-push."""
    link = IdpMigrationLink
    db.execute(
        update(ScimUser)
        .where(
            ScimUser.id.in_(
                select(link.candidate_id).where(
                    link.migration_id == migration_id, link.kind == "user", link.rule == "skipped"
                )
            )
        )
        .values(deleted_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def _swap_directories(db: Session, migration: IdpMigration) -> None:
    """Exchange the two organisations' directories. ``directories.org_id`` is unique and
    checked row by row, so the first one waits on a parking organisation made and removed
    inside this transaction (nobody else ever sees it)."""
    first = directory_of(db, migration.org_id)
    second = directory_of(db, migration.candidate_org_id)
    parking = Organization(name="directory swap", active=False, candidate_for=migration.org_id)
    db.add(parking)
    db.flush()
    first.org_id = parking.id
    db.flush()
    second.org_id = migration.org_id
    db.flush()
    first.org_id = migration.candidate_org_id
    db.flush()
    db.delete(parking)
    db.flush()


def _hand_over_tokens(db: Session, migration: IdpMigration, *, actor: Actor) -> None:
    """The old IdP's tokens are revoked; the candidate's tokens now open the organisation."""
    _revoke_scim_tokens(db, migration.org_id, actor=actor)
    moving = (
        select(ApiToken.id)
        .where(
            ApiToken.org_id == migration.candidate_org_id,
            ApiToken.kind == "scim",
            ApiToken.revoked_at.is_(None),
        )
        .subquery("moving")
    )
    db.execute(
        insert(IdpMigrationLink).from_select(
            ["migration_id", "kind", "candidate_id", "existing_id", "shadow_id", "rule"],
            select(
                literal(migration.id),
                literal("token"),
                moving.c.id,
                literal(None),
                literal(None),
                literal("token"),
            ),
        )
    )
    _move_tokens(db, migration.id, to_org=migration.org_id)


def _move_tokens(db: Session, migration_id: str, *, to_org: str) -> None:
    db.execute(
        update(ApiToken)
        .where(
            ApiToken.id.in_(
                select(IdpMigrationLink.candidate_id).where(
                    IdpMigrationLink.migration_id == migration_id,
                    IdpMigrationLink.kind == "token",
                )
            )
        )
        .values(org_id=to_org)
        .execution_options(synchronize_session=False)
    )


def _revoke_scim_tokens(db: Session, org_id: str, *, actor: Actor) -> None:
    live = select(ApiToken).where(
        ApiToken.org_id == org_id, ApiToken.kind == "scim", ApiToken.revoked_at.is_(None)
    )
    for token in db.scalars(live).all():
        tokens.revoke_token(db, token.id, actor=actor)


# ---- rollback ----------------------------------------------------------------------------


def rollback(db: Session, org: Organization, *, pepper: str, by: AdminActor) -> RolledBack:
    """Within the window, the old directory is restored: its users live again on their
    memberships, only-in-old members get their directory state back, the mappings return to
    the old groups, the candidate's tokens go back to the candidate organisation and the
    old IdP gets a new SCIM token (shown once)."""
    require_owner(by, "roll back an IdP migration")
    actor = by.actor
    migration = current(db, org, lock=True)
    if migration.status != CUT_OVER:
        raise ProvisioningError(
            ErrorCode.MIGRATION_STATE, "Only a cut-over migration can be rolled back."
        )
    assert migration.rollback_until is not None and migration.cut_over_at is not None
    if utcnow() > migration.rollback_until:
        raise ProvisioningError(
            ErrorCode.MIGRATION_ROLLBACK_EXPIRED,
            f"The rollback window closed at {migration.rollback_until.isoformat()}Z.",
        )
    _move_tokens(db, migration.id, to_org=migration.candidate_org_id)
    _revoke_scim_tokens(db, migration.org_id, actor=actor)
    _swap_directories(db, migration)
    _unlink(db, migration)
    _restore_only_in_old(db, migration, actor=actor)
    _repoint_mappings(db, migration.id, migration.org_id, forward=False)
    revived = select(ScimUser.id).where(
        ScimUser.directory_id == directory_of(db, migration.org_id).id,
        ScimUser.deleted_at.is_(None),
    )
    _resync_grants(db, migration, revived, actor=actor, cause="rolled_back")
    migration.status, migration.finished_at = ROLLED_BACK, utcnow()
    token = tokens.create_token(db, org, "scim", pepper=pepper, actor=actor)
    record(db, org.id, actor, EventType.IDP_MIGRATION_ROLLED_BACK, _target(migration))
    return RolledBack(migration, token)


def _unlink(db: Session, migration: IdpMigration) -> None:
    """Candidate users go back to their own memberships, new members back to the candidate
    organisation (their sessions here end), and the old users of live memberships live
    again."""
    link = IdpMigrationLink
    linked = and_(link.migration_id == migration.id, link.kind == "user")
    shadow_of = (
        select(link.shadow_id).where(linked, link.candidate_id == ScimUser.id).scalar_subquery()
    )
    db.execute(
        update(ScimUser)
        .where(
            ScimUser.id.in_(select(link.candidate_id).where(linked, link.existing_id.is_not(None)))
        )
        .values(membership_id=shadow_of)
        .execution_options(synchronize_session=False)
    )
    moved_back = select(link.shadow_id).where(linked, link.rule == "new")
    db.execute(
        update(SignInSession)
        .where(
            SignInSession.org_id == migration.org_id,
            SignInSession.revoked_at.is_(None),
            SignInSession.user_id.in_(
                select(Membership.user_id).where(Membership.id.in_(moved_back))
            ),
        )
        .values(revoked_at=utcnow(), revoked_reason="idp_migration_rolled_back")
        .execution_options(synchronize_session=False)
    )
    db.execute(
        update(Membership)
        .where(Membership.id.in_(moved_back))
        .values(org_id=migration.candidate_org_id)
        .execution_options(synchronize_session=False)
    )
    db.execute(
        update(ScimUser)
        .where(
            ScimUser.directory_id == directory_of(db, migration.org_id).id,
            ScimUser.deleted_at == migration.cut_over_at,
            # Not for a membership that ended meanwhile (the new IdP deleted the person, or
            # an admin removed them): the old IdP then finds them gone and re-adds them.
            ScimUser.membership_id.in_(select(Membership.id).where(Membership.ended_at.is_(None))),
        )
        .values(deleted_at=None)
        .execution_options(synchronize_session=False)
    )


def _restore_only_in_old(db: Session, migration: IdpMigration, *, actor: Actor) -> None:
    """Members the cutover left unmanaged or deactivated get their directory state back
    through the state machine (row U3 for those that were active), with their events."""
    link = IdpMigrationLink
    was_active = select(link.candidate_id).where(
        link.migration_id == migration.id, link.kind == "old_user", link.shadow_id == "active"
    )
    members = db.scalars(
        select(Membership)
        .where(Membership.id.in_(was_active), Membership.ended_at.is_(None))
        .with_for_update()
    ).all()
    for m in members:
        if m.directory_state != "active":
            tr = lifecycle.transition(
                state_of(m), lifecycle.Trigger.DIRECTORY_ACTIVATED, facts=facts_of(db, m)
            )
            transitions.apply(db, m, tr, actor=actor)
