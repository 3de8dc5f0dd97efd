"""Matching a candidate directory's users and groups to an organisation's (issue 15).

Everything is one set-based SELECT over indexed columns, so a 10,000-member report or
cutover costs a few statements, never a loop over people. Users match, in this order
(the first rule that finds anyone decides; docs/api.md §3.9):

1. ``manual``: a pair the admin set (candidate SCIM id -> member user id);
2. ``external_id``: the candidate's ``externalId`` equals the member's in the old directory
   (an IdP can be told to send the old IdP's id there);
3. ``email``: the candidate's email landed on the member's very person (emails are unique
   across the server) and that address is verified;
4. ``user_name``: the candidate's ``userName``, after the domain rewrites
   (``delta.onmicrosoft.com`` -> ``delta.co``), equals the member's old ``userName``.

A candidate whose deciding rule finds two members, or a member that two candidates
claim, is *ambiguous*: the cutover refuses while any is left unless forced. Groups match
by a manual pair, else by display name (case-insensitively, like the directory's own
uniqueness).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import null
from sqlalchemy import select
from sqlalchemy import union_all
from sqlalchemy.orm import Session
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from scim_server.services.errors import ErrorCode
from scim_server.services.errors import ProvisioningError
from scim_server.storage.models import GroupMapping
from scim_server.storage.models import GroupMember
from scim_server.storage.models import IdpMigrationPair
from scim_server.storage.models import Membership
from scim_server.storage.models import ScimGroup
from scim_server.storage.models import ScimUser
from scim_server.storage.models import User

RULES = ("manual", "external_id", "email", "user_name")
_DOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$")
MAX_REWRITES = 20


@dataclass(frozen=True)
class Scope:
    """The two directories being compared and the organisations that hold them."""

    org_id: str
    old_directory_id: str
    candidate_directory_id: str
    migration_id: str
    rewrites: tuple[tuple[str, str], ...]


def parse_rules(value: Any) -> dict[str, Any]:
    """``{"domain_rewrites": [{"from": "a.example", "to": "b.example"}]}``, checked."""
    if value is None:
        return {"domain_rewrites": []}
    if not isinstance(value, dict) or set(value) - {"domain_rewrites"}:
        raise ProvisioningError(
            ErrorCode.MIGRATION_RULE_INVALID,
            "'rules' must be an object with only 'domain_rewrites'.",
        )
    rewrites = value.get("domain_rewrites", [])
    if not isinstance(rewrites, list) or len(rewrites) > MAX_REWRITES:
        raise ProvisioningError(
            ErrorCode.MIGRATION_RULE_INVALID,
            f"'domain_rewrites' must be a list of at most {MAX_REWRITES} rewrites.",
        )
    return {"domain_rewrites": [_rewrite(item) for item in rewrites]}


def _rewrite(item: Any) -> dict[str, str]:
    if not isinstance(item, dict) or set(item) != {"from", "to"}:
        raise ProvisioningError(
            ErrorCode.MIGRATION_RULE_INVALID,
            'Each domain rewrite is {"from": "<domain>", "to": "<domain>"}.',
        )
    pair = {key: item[key].strip().lower() if isinstance(item[key], str) else "" for key in item}
    for key, domain in pair.items():
        if not _DOMAIN.match(domain):
            raise ProvisioningError(
                ErrorCode.MIGRATION_RULE_INVALID,
                f"Domain rewrite '{key}' must be a domain such as 'delta.co'.",
            )
    return pair


def rewrites_of(rules: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple((r["from"], r["to"]) for r in rules.get("domain_rewrites", []))


def _rewritten(column: Any, rewrites: tuple[tuple[str, str], ...]) -> ColumnElement[str]:
    """lower(column) with the first matching ``@from`` suffix replaced by ``@to``, in SQL."""
    lowered = func.lower(column)
    if not rewrites:
        return lowered
    whens = [
        (
            lowered.like(f"%@{source}"),
            func.substr(lowered, 1, func.length(lowered) - len(source)) + target,
        )
        for source, target in rewrites
    ]
    return case(*whens, else_=lowered)


def _user_hits(scope: Scope) -> Select[Any]:
    """(candidate SCIM id, member's membership id, rank, rule) for every rule that fires."""
    cand = aliased(ScimUser, name="cand")
    shadow = aliased(Membership, name="shadow")
    old = aliased(ScimUser, name="old")
    member = aliased(Membership, name="member")
    live_cand = and_(cand.directory_id == scope.candidate_directory_id, cand.deleted_at.is_(None))
    live_old = and_(old.directory_id == scope.old_directory_id, old.deleted_at.is_(None))
    manual = (
        select(
            cand.id.label("cand"),
            member.id.label("member"),
            literal(0).label("rank"),
            literal("manual").label("rule"),
        )
        .join(
            IdpMigrationPair,
            and_(
                IdpMigrationPair.candidate_id == cand.id,
                IdpMigrationPair.migration_id == scope.migration_id,
                IdpMigrationPair.kind == "user",
            ),
        )
        .join(member, _live_member(member, IdpMigrationPair.existing_id, scope))
        .where(live_cand)
    )
    # A manual pair takes its candidate and its member out of every automatic rule.
    paired = and_(
        IdpMigrationPair.migration_id == scope.migration_id, IdpMigrationPair.kind == "user"
    )
    unpaired_cand = cand.id.not_in(select(IdpMigrationPair.candidate_id).where(paired))
    paired_members = select(Membership.id).where(
        Membership.org_id == scope.org_id,
        Membership.user_id.in_(select(IdpMigrationPair.existing_id).where(paired)),
    )
    by_external_id = (
        select(cand.id, old.membership_id, literal(1), literal("external_id"))
        .join(old, and_(old.external_id == cand.external_id, live_old))
        .where(live_cand, unpaired_cand, old.membership_id.not_in(paired_members))
    )
    by_email = (
        select(cand.id, member.id, literal(2), literal("email"))
        .join(shadow, shadow.id == cand.membership_id)
        .join(User, and_(User.id == shadow.user_id, User.email_verified.is_(True)))
        .join(member, _live_member(member, shadow.user_id, scope))
        .where(live_cand, unpaired_cand, member.id.not_in(paired_members))
    )
    by_user_name = (
        select(cand.id, old.membership_id, literal(3), literal("user_name"))
        .join(old, and_(func.lower(old.user_name) == _rewritten(cand.user_name, scope.rewrites)))
        .where(live_cand, live_old, unpaired_cand, old.membership_id.not_in(paired_members))
    )
    return union_all(manual, by_external_id, by_email, by_user_name)  # type: ignore[return-value]


def _live_member(member: Any, user_id: Any, scope: Scope) -> ColumnElement[bool]:
    """The organisation's live membership of that person."""
    return and_(member.user_id == user_id, member.org_id == scope.org_id, member.ended_at.is_(None))


def user_matches(scope: Scope) -> Select[Any]:
    """Every candidate user with its deciding match (if any) and whether it is ambiguous.

    Columns: ``cand`` (candidate SCIM id), ``member`` (membership id or NULL), ``rule``,
    ``status`` (matched | ambiguous | only_in_new).
    """
    hits = _user_hits(scope).cte("hits")
    best = (
        select(hits.c.cand, func.min(hits.c.rank).label("rank")).group_by(hits.c.cand).cte("best")
    )
    chosen = (
        select(hits.c.cand, hits.c.member, hits.c.rule)
        .join(best, and_(best.c.cand == hits.c.cand, best.c.rank == hits.c.rank))
        .distinct()
        .cte("chosen")
    )
    per_cand = (
        select(chosen.c.cand, func.count(func.distinct(chosen.c.member)).label("n"))
        .group_by(chosen.c.cand)
        .cte("per_cand")
    )
    per_member = (
        select(chosen.c.member, func.count(func.distinct(chosen.c.cand)).label("n"))
        .group_by(chosen.c.member)
        .cte("per_member")
    )
    cand = aliased(ScimUser, name="c")
    status = case(
        (chosen.c.cand.is_(None), "only_in_new"),
        (and_(per_cand.c.n == 1, per_member.c.n == 1), "matched"),
        else_="ambiguous",
    )
    return (
        select(
            cand.id.label("cand"),
            chosen.c.member.label("member"),
            chosen.c.rule.label("rule"),
            status.label("status"),
        )
        .select_from(cand)
        .outerjoin(chosen, chosen.c.cand == cand.id)
        .outerjoin(per_cand, per_cand.c.cand == cand.id)
        .outerjoin(per_member, per_member.c.member == chosen.c.member)
        .where(cand.directory_id == scope.candidate_directory_id, cand.deleted_at.is_(None))
    )


def only_in_old(scope: Scope, matches: Any) -> Select[str, str]:
    """Old directory users no candidate claims (not even ambiguously): (old SCIM id, member)."""
    old = aliased(ScimUser, name="o")
    claimed = select(matches.c.member).where(matches.c.member.is_not(None))
    return select(old.id.label("old"), old.membership_id.label("member")).where(
        old.directory_id == scope.old_directory_id,
        old.deleted_at.is_(None),
        old.membership_id.not_in(claimed),
    )


def group_matches(scope: Scope) -> Select[Any]:
    """Every candidate group and the old group it takes over (by manual pair, else by name)."""
    cand = aliased(ScimGroup, name="cg")
    by_name = aliased(ScimGroup, name="og")
    by_pair = aliased(ScimGroup, name="pg")
    pair = aliased(IdpMigrationPair, name="gp")
    return (
        select(
            cand.id.label("cand"),
            func.coalesce(by_pair.id, by_name.id).label("old"),
            case(
                (by_pair.id.is_not(None), "manual"), (by_name.id.is_not(None), "display_name")
            ).label("rule"),
        )
        .select_from(cand)
        .outerjoin(
            pair,
            and_(
                pair.migration_id == scope.migration_id,
                pair.kind == "group",
                pair.candidate_id == cand.id,
            ),
        )
        .outerjoin(
            by_pair,
            and_(by_pair.id == pair.existing_id, by_pair.directory_id == scope.old_directory_id),
        )
        .outerjoin(
            by_name,
            and_(
                pair.candidate_id.is_(None),
                by_name.directory_id == scope.old_directory_id,
                func.lower(by_name.display_name) == func.lower(cand.display_name),
            ),
        )
        .where(cand.directory_id == scope.candidate_directory_id)
    )


# ---- the report ------------------------------------------------------------------------

CATEGORIES = ("matched", "ambiguous", "only_in_old", "only_in_new", "conflicts")


def counts(db: Session, scope: Scope) -> dict[str, Any]:
    """The report's counts: users per category, groups matched / new / old-only / mapped."""
    matches = user_matches(scope).subquery("m")
    by_status: dict[str, int] = dict(
        db.execute(select(matches.c.status, func.count()).group_by(matches.c.status)).all()
    )
    old = only_in_old(scope, matches).subquery("o")
    users = {status: int(by_status.get(status, 0)) for status in ("matched", "ambiguous")}
    users["only_in_new"] = int(by_status.get("only_in_new", 0))
    users["only_in_old"] = int(db.scalar(select(func.count()).select_from(old)) or 0)
    users["conflicts"] = int(db.scalar(select(func.count()).select_from(_conflicts(scope))) or 0)
    return {"users": users, "groups": _group_counts(db, scope)}


def _group_counts(db: Session, scope: Scope) -> dict[str, int]:
    groups = group_matches(scope).subquery("g")
    matched = func.sum(case((groups.c.old.is_not(None), 1), else_=0))
    row = db.execute(select(func.count(), matched).select_from(groups)).one()
    total, matched_n = int(row[0] or 0), int(row[1] or 0)
    old_total = db.scalar(
        select(func.count())
        .select_from(ScimGroup)
        .where(ScimGroup.directory_id == scope.old_directory_id)
    )
    taken = select(groups.c.old).where(groups.c.old.is_not(None))
    mapped_left = db.scalar(
        select(func.count(func.distinct(GroupMapping.group_id))).where(
            GroupMapping.org_id == scope.org_id,
            GroupMapping.group_id.in_(
                select(ScimGroup.id).where(ScimGroup.directory_id == scope.old_directory_id)
            ),
            GroupMapping.group_id.not_in(taken),
        )
    )
    return {
        "matched": matched_n,
        "only_in_new": total - matched_n,
        "only_in_old": int(old_total or 0) - matched_n,
        "mapped_only_in_old": int(mapped_left or 0),
    }


def _conflicts(scope: Scope) -> Any:
    """Matched users whose candidate email belongs to another person than the member (the
    cutover keeps the member's person, and so their sign-in, which the admin should know),
    and new candidates the cutover leaves out because their person is already a member."""
    matches = user_matches(scope).subquery("mc")
    cand = aliased(ScimUser, name="cc")
    shadow = aliased(Membership, name="cs")
    member = aliased(Membership, name="cm")
    other_person = (
        select(matches.c.cand, matches.c.member, matches.c.rule)
        .join(cand, cand.id == matches.c.cand)
        .join(shadow, shadow.id == cand.membership_id)
        .join(member, member.id == matches.c.member)
        .where(matches.c.status == "matched", shadow.user_id != member.user_id)
    )
    # A new candidate whose person already has a membership here that no rule matched (a
    # former member, say): the cutover leaves it out rather than revive that membership.
    former = (
        select(matches.c.cand, member.id, literal("member_exists"))
        .join(cand, cand.id == matches.c.cand)
        .join(shadow, shadow.id == cand.membership_id)
        .join(member, and_(member.user_id == shadow.user_id, member.org_id == scope.org_id))
        .where(matches.c.status == "only_in_new")
    )
    return union_all(other_person, former).subquery("conflicts")


def rows(
    db: Session, scope: Scope, category: str, *, limit: int | None
) -> Iterator[dict[str, Any]]:
    """Per-person rows of one category, streamed (the CSV export reads them all)."""
    if category not in CATEGORIES:
        raise ProvisioningError(
            ErrorCode.VALIDATION_ERROR,
            f"'category' must be one of {', '.join(CATEGORIES)}.",
        )
    stmt = _rows_statement(scope, category)
    if limit is not None:
        stmt = stmt.limit(limit)
    for row in db.execute(stmt.execution_options(yield_per=1000)).mappings():
        yield {"category": category, **row}


def _rows_statement(scope: Scope, category: str) -> Select[Any]:
    cand = aliased(ScimUser, name="rc")
    old = aliased(ScimUser, name="ro")
    member = aliased(Membership, name="rm")
    person = aliased(User, name="rp")
    if category == "only_in_old":
        left = only_in_old(scope, user_matches(scope).subquery("m")).subquery("left")
        group_count = (
            select(func.count())
            .where(GroupMember.member_id == old.id)
            .correlate(old)
            .scalar_subquery()
        )
        return (
            select(
                null().label("candidate_id"),
                null().label("candidate_user_name"),
                person.id.label("user_id"),
                person.email.label("email"),
                old.user_name.label("old_user_name"),
                literal("").label("rule"),
                group_count.label("old_groups"),
            )
            .select_from(left)
            .join(old, old.id == left.c.old)
            .join(member, member.id == left.c.member)
            .join(person, person.id == member.user_id)
            .order_by(old.id)
        )
    source = _conflicts(scope) if category == "conflicts" else user_matches(scope).subquery("m")
    stmt = (
        select(
            cand.id.label("candidate_id"),
            cand.user_name.label("candidate_user_name"),
            person.id.label("user_id"),
            person.email.label("email"),
            old.user_name.label("old_user_name"),
            func.coalesce(source.c.rule, "").label("rule"),
            literal(None).label("old_groups"),
        )
        .select_from(source)
        .join(cand, cand.id == source.c.cand)
        .outerjoin(member, member.id == source.c.member)
        .outerjoin(person, person.id == func.coalesce(member.user_id, _shadow_user(cand)))
        .outerjoin(
            old,
            and_(
                old.membership_id == member.id,
                old.directory_id == scope.old_directory_id,
                old.deleted_at.is_(None),
            ),
        )
        .order_by(cand.id, member.id)
    )
    if category != "conflicts":
        stmt = stmt.where(source.c.status == category)
    return stmt


def _shadow_user(cand: Any) -> Any:
    """The person a candidate landed on in the candidate organisation (for new users)."""
    return (
        select(Membership.user_id)
        .where(Membership.id == cand.membership_id)
        .correlate(cand)
        .scalar_subquery()
    )


def ambiguous_count(db: Session, scope: Scope) -> int:
    matches = user_matches(scope).subquery("m")
    return int(
        db.scalar(select(func.count()).where(matches.c.status == "ambiguous").select_from(matches))
        or 0
    )
