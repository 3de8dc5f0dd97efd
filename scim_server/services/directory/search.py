"""List and search Users and Groups: filter, sort and page in SQL, never in Python.

A filtered or sorted list counts its matches exactly and pages with OFFSET; an IdP's
lookup (``userName eq "…"``) is one prebuilt statement (``_users_equal``). The
unfiltered list in id order — what Okta and Entra walk page by page on every import —
takes ``totalResults`` from the live counters and serves the next page of a walk by an
index seek from a bookmark, so its pages cost the same at any depth and any directory
size; the design, and why a bookmark never yields a wrong page, is in
``scim_server/storage/list_state.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from typing import cast

from sqlalchemy import Select
from sqlalchemy import SQLColumnExpression
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import true
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.orm import Session

from scim_server.scim.errors import quoted
from scim_server.scim.filter import Equality
from scim_server.scim.filter import MultiValued
from scim_server.scim.filter import Resolver
from scim_server.scim.filter import UnresolvedAttribute
from scim_server.scim.filter import compile_filter
from scim_server.scim.filter import equality
from scim_server.scim.listing import Page
from scim_server.scim.projection import Projection
from scim_server.scim.projection import project
from scim_server.scim.schema import ResourceType
from scim_server.services.directory import groups as group_service
from scim_server.services.directory import users
from scim_server.services.directory.context import ScimContext
from scim_server.services.directory.scim_documents import MembershipColumns
from scim_server.services.directory.scim_documents import UserColumns
from scim_server.services.directory.scim_documents import user_to_scim
from scim_server.services.errors import InvalidInput
from scim_server.storage import list_state
from scim_server.storage import scim_reads
from scim_server.storage.attr_map import group_resolver
from scim_server.storage.attr_map import user_resolver
from scim_server.storage.models import Membership
from scim_server.storage.models import ScimGroup
from scim_server.storage.models import ScimUser
from scim_server.storage.models import ScimUserValue


@dataclass(frozen=True)
class Query:
    filter: str | None
    sort_by: str | None
    descending: bool
    page: Page
    projection: Projection


def search_users(db: Session, ctx: ScimContext, query: Query) -> tuple[int, list[dict[str, Any]]]:
    """Count and page over ids first (index-only on the live-listing index when nothing
    needs the membership), then load the page's rows: deep pages never join whole tables."""
    rtype = ctx.registry.user
    resolve = user_resolver(rtype)
    if query.filter and not query.sort_by and query.page.count:
        lookup = equality(query.filter, resolve)
        if lookup is not None:
            return _users_equal(db, ctx, lookup, query)
    ids = user_ids(ctx, query.filter, joined=bool(query.sort_by))
    total, page = _page(db, ctx, "User", ids, ScimUser.id, rtype, resolve, query)
    return total, load_users(db, ctx, page, query.projection)


def _users_equal(
    db: Session, ctx: ScimContext, lookup: Equality, query: Query
) -> tuple[int, list[dict[str, Any]]]:
    """An IdP's lookup (``userName eq "…"``, ``externalId eq "…"``): the page and its
    users in one prebuilt statement; a short page is its own total, as in ``_filtered``."""
    page = query.page
    with_groups = query.projection.wants(ctx.registry.user, "groups")
    rows = scim_reads.users_where_equal(
        db,
        ctx.directory_id,
        lookup,
        count=page.count,
        offset=page.offset,
        with_groups=with_groups,
    )
    total = _total_of_short_page(page, len(rows))
    if total is None:
        assert query.filter is not None
        total = _count(db, user_ids(ctx, query.filter, joined=False))
    return total, _user_documents(ctx, rows, query.projection, with_groups)


def load_users(
    db: Session, ctx: ScimContext, page: list[str], projection: Projection
) -> list[dict[str, Any]]:
    """The SCIM documents of a page of user ids, in that order, in one query (groups included)."""
    if not page:
        return []
    rtype = ctx.registry.user
    with_groups = projection.wants(rtype, "groups")
    rows = {row.id: row for row in scim_reads.user_documents(db, page, with_groups=with_groups)}
    return _user_documents(ctx, [rows[i] for i in page if i in rows], projection, with_groups)


def _user_documents(
    ctx: ScimContext, found: list[Any], projection: Projection, with_groups: bool
) -> list[dict[str, Any]]:
    """The projected SCIM documents of users' rows (``scim_reads``), in their order."""
    rtype = ctx.registry.user
    groups = (
        {row.id: users.group_refs(ctx, scim_reads.group_pairs(row)) for row in found}
        if with_groups
        else {}
    )
    return [
        project(
            user_to_scim(
                cast(UserColumns, row),
                cast(MembershipColumns, row),
                location=ctx.location("Users", row.id),
                groups=groups.get(row.id),
                user_disabled=row.disabled_at is not None,
                org_active=ctx.org.active,
            ),
            rtype,
            projection,
        )
        for row in found
    ]


def search_groups(db: Session, ctx: ScimContext, query: Query) -> tuple[int, list[dict[str, Any]]]:
    rtype = ctx.registry.group
    resolve = group_resolver(rtype)
    if query.filter and not query.sort_by and query.page.count:
        lookup = equality(query.filter, resolve)
        if lookup is not None:
            return _groups_equal(db, ctx, lookup, query)
    ids = group_ids(ctx, query.filter)
    total, page = _page(db, ctx, "Group", ids, ScimGroup.id, rtype, resolve, query)
    return total, load_groups(db, ctx, page, query.projection)


def _groups_equal(
    db: Session, ctx: ScimContext, lookup: Equality, query: Query
) -> tuple[int, list[dict[str, Any]]]:
    """An IdP's group lookup (``displayName eq "…"``), as ``_users_equal``."""
    page = query.page
    found = scim_reads.groups_where_equal(
        db, ctx.directory_id, lookup, count=page.count, offset=page.offset
    )
    total = _total_of_short_page(page, len(found))
    if total is None:
        assert query.filter is not None
        total = _count(db, group_ids(ctx, query.filter))
    return total, _group_documents(db, ctx, found, query.projection)


def load_groups(
    db: Session, ctx: ScimContext, page: list[str], projection: Projection
) -> list[dict[str, Any]]:
    """The SCIM documents of a page of group ids, in that order."""
    if not page:
        return []
    by_id = {g.id: g for g in db.scalars(select(ScimGroup).where(ScimGroup.id.in_(page)))}
    return _group_documents(db, ctx, [by_id[i] for i in page if i in by_id], projection)


def _group_documents(
    db: Session, ctx: ScimContext, found: list[ScimGroup], projection: Projection
) -> list[dict[str, Any]]:
    """The projected SCIM documents of groups, in their order."""
    rtype = ctx.registry.group
    with_members = projection.wants(rtype, "members")
    return [
        project(group_service.to_scim(db, ctx, g, with_members=with_members), rtype, projection)
        for g in found
    ]


def user_ids(ctx: ScimContext, filter_text: str | None, *, joined: bool) -> Select[str]:
    """The ids of the directory's live users matching the filter (raises invalidFilter).
    The membership is joined only when the filter or the sort key needs it (``joined``)."""
    resolve = user_resolver(ctx.registry.user)
    ids = select(ScimUser.id).where(
        ScimUser.directory_id == ctx.directory_id, ScimUser.deleted_at.is_(None)
    )
    if filter_text or joined:
        ids = ids.join(Membership, Membership.id == ScimUser.membership_id)
    if filter_text:
        ids = ids.where(compile_filter(filter_text, resolve))
    return ids


def group_ids(ctx: ScimContext, filter_text: str | None) -> Select[str]:
    """The ids of the directory's groups matching the filter (raises invalidFilter)."""
    ids = select(ScimGroup.id).where(ScimGroup.directory_id == ctx.directory_id)
    if filter_text:
        ids = ids.where(compile_filter(filter_text, group_resolver(ctx.registry.group)))
    return ids


def total_of(db: Session, ctx: ScimContext, resource: str, ids: Select[str], filtered: bool) -> int:
    """``totalResults``: an exact count of a filtered set, the live counters otherwise."""
    if filtered:
        return _count(db, ids)
    return int(db.scalar(select(list_state.totals(ctx.directory_id, resource).c.total)) or 0)


def _page(
    db: Session,
    ctx: ScimContext,
    resource: str,
    ids: Select[str],
    id_column: InstrumentedAttribute[str],
    rtype: ResourceType,
    resolve: Resolver,
    query: Query,
) -> tuple[int, list[str]]:
    """``totalResults`` and the page's ids. A filtered list counts exactly; the whole
    directory's count comes from the live counters, and its pages in id order from an
    index seek where a bookmark allows (storage/list_state.py explains both)."""
    page = query.page
    if query.filter:
        return _filtered(db, _ordered(ids, rtype, resolve, query, id_column), ids, page)
    if not query.sort_by:
        return _walk(db, ctx.directory_id, resource, ids, id_column, page)
    total = total_of(db, ctx, resource, ids, False)
    if page.count == 0:
        return total, []
    ordered = _ordered(ids, rtype, resolve, query, id_column)
    return total, list(db.scalars(ordered.offset(page.offset).limit(page.count)))


def _filtered(
    db: Session, ordered: Select[str], ids: Select[str], page: Page
) -> tuple[int, list[str]]:
    """A filtered page and its exact total. A page that comes back short and not empty
    ends the matches, so the total is its end and no COUNT runs: an IdP's lookup by
    userName or externalId (one match or none on the first page) costs one statement."""
    found = list(db.scalars(ordered.offset(page.offset).limit(page.count))) if page.count else []
    total = _total_of_short_page(page, len(found))
    return (_count(db, ids) if total is None else total), found


def _total_of_short_page(page: Page, found: int) -> int | None:
    """A page that comes back short and not empty (or short and first) ends the matches,
    so its end is the total; None when only a COUNT can tell."""
    if found < page.count and (found or page.offset == 0):
        return page.offset + found
    return None


def _walk(
    db: Session,
    directory_id: str,
    resource: str,
    ids: Select[str],
    id_column: InstrumentedAttribute[str],
    page: Page,
) -> tuple[int, list[str]]:
    """The unfiltered list in id order: seek past the bookmark of this position, else
    to the counters' shard that holds it, whichever was read at a generation that is still
    current; else OFFSET. Then bookmark the next page."""
    for used in _placements(db, directory_id, resource, page):
        total, generation, found = _totals_and_ids(
            db, directory_id, resource, ids, id_column, page, used
        )
        if used is None or used.generation == generation:
            break  # else the live set changed since: the seek could shift the page
    if found and len(found) == page.count:
        after = list_state.Bookmark(page.offset + len(found), found[-1], generation)
        used_bookmark = used if isinstance(used, list_state.Bookmark) else None
        list_state.save_bookmark(db, directory_id, resource, used_bookmark, after)
    return total, found


def _placements(
    db: Session, directory_id: str, resource: str, page: Page
) -> Iterator[list_state.Bookmark | list_state.Jump | None]:
    """Ways to the page's first row, cheapest first, each read only if the one before it
    turned out stale: the bookmark, the shards (a jump), then the plain OFFSET (None)."""
    if page.offset > 0 and page.count > 0:
        bookmark = list_state.find_bookmark(db, directory_id, resource, page.offset)
        if bookmark is not None:
            yield bookmark
        jump = list_state.find_jump(db, directory_id, resource, page.offset)
        if jump is not None:
            yield jump
    yield None


def _totals_and_ids(
    db: Session,
    directory_id: str,
    resource: str,
    ids: Select[str],
    id_column: InstrumentedAttribute[str],
    page: Page,
    after: list_state.Bookmark | list_state.Jump | None,
) -> tuple[int, int, list[str]]:
    """Total, generation and page ids in one statement: one snapshot on PostgreSQL, so a
    seek is trusted only for the generation it was read at."""
    totals = list_state.totals(directory_id, resource)
    if page.count == 0:
        row = db.execute(select(totals.c.total, totals.c.generation)).one()
        return int(row[0]), int(row[1]), []
    ordered = ids.order_by(id_column).limit(page.count)
    if isinstance(after, list_state.Bookmark):
        ordered = ordered.where(id_column > after.after_id)
    elif isinstance(after, list_state.Jump):
        ordered = ordered.where(id_column >= after.lower).offset(after.skip)
    elif page.offset:
        ordered = ordered.offset(page.offset)
    found = ordered.subquery("page")
    rows = db.execute(
        select(totals.c.total, totals.c.generation, found.c.id)
        .select_from(totals.outerjoin(found, true()))
        .order_by(found.c.id)
    ).all()
    return int(rows[0][0]), int(rows[0][1]), [r[2] for r in rows if r[2] is not None]


def _count(db: Session, base: Select[*tuple[Any, ...]]) -> int:
    return int(db.scalar(select(func.count()).select_from(base.order_by(None).subquery())) or 0)


def _ordered(
    stmt: Select[*tuple[Any, ...]],
    rtype: ResourceType,
    resolve: Resolver,
    query: Query,
    tiebreak: SQLColumnExpression[Any],
) -> Select[*tuple[Any, ...]]:
    """Sort by ``sortBy`` then id, so pages never repeat or skip (Okta requires it)."""
    if not query.sort_by:
        return stmt.order_by(tiebreak)
    key = sort_key(rtype, resolve, query.sort_by)
    key = key.desc() if query.descending else key.asc()
    return stmt.order_by(key.nulls_last(), tiebreak)


def sort_key(rtype: ResourceType, resolve: Resolver, sort_by: str) -> SQLColumnExpression[Any]:
    urn, rest = rtype.split_urn(sort_by)
    name, _, sub = rest.partition(".")
    try:
        target = resolve(urn, name, sub or None)
        if isinstance(target, MultiValued):
            return _multi_valued_sort_key(target, sub or "value")
    except UnresolvedAttribute as error:  # the resolver names the problem; say it of sortBy
        raise InvalidInput(f"Cannot sort by {quoted(sort_by)}: {error}") from None
    expr = target.expr
    if (
        target.attr.type in ("string", "reference")
        and not target.attr.case_exact
        and not target.lowered
    ):
        expr = func.lower(expr)
    return expr


def _multi_valued_sort_key(target: MultiValued, sub: str) -> SQLColumnExpression[Any]:
    """RFC 7644 §3.4.2.3: a multi-valued attribute sorts by its primary (else first) value."""
    sub_attr = target.attr.sub(sub)
    if sub_attr is None or target.attr.name in ("groups", "members"):
        raise InvalidInput(f"Cannot sort by '{target.attr.name}.{sub}'.")
    column = target.sub(sub_attr).expr
    return (
        select(column)
        .where(
            ScimUserValue.scim_user_id == ScimUser.id, ScimUserValue.attribute == target.attr.name
        )
        .order_by(ScimUserValue.primary.desc().nulls_last(), ScimUserValue.id)
        .limit(1)
        .scalar_subquery()
    )
