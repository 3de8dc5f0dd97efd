"""Management API: moving an organisation to another IdP (issue 15; docs/api.md §3.9).

Stage a candidate directory (its SCIM token is in the answer, once), tune the matching
rules and manual pairs, read the match report (JSON or CSV), cut over, roll back.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from flask import Response
from flask import request

from scim_server.api.admin import auth
from scim_server.api.admin.http import fields
from scim_server.api.admin.http import limit_arg
from scim_server.api.admin.http import pepper
from scim_server.api.admin.http import reply
from scim_server.db import get_session
from scim_server.services.errors import ErrorCode
from scim_server.services.errors import ProvisioningError
from scim_server.services.organizations import idp_matching
from scim_server.services.organizations import idp_migration
from scim_server.services.organizations.representation import migration_json

bp = auth.blueprint("idp_migration", __name__, "/api/v1/organizations/<org_id>/idp-migration")

CSV_COLUMNS = (
    "category",
    "candidate_id",
    "candidate_user_name",
    "user_id",
    "email",
    "old_user_name",
    "rule",
    "old_groups",
)


@bp.post("")
def stage(org_id: str) -> Response:
    """A candidate directory beside the active one; its SCIM token is shown this once."""
    org = auth.organization(org_id)
    actor = auth.acting(org).actor
    rules = fields("rules").get("rules")
    staged = idp_migration.stage(get_session(), org, rules, pepper=pepper(), actor=actor)
    token = {"id": staged.token.id, "prefix": staged.token.row.prefix}
    return reply(
        {**migration_json(staged.migration), "scim_token": {**token, "token": staged.token.secret}},
        201,
    )


@bp.get("")
def show(org_id: str) -> Response:
    db = get_session()
    migration = idp_migration.current(db, auth.organization(org_id))
    return reply(migration_json(migration))


@bp.put("/rules")
def put_rules(org_id: str) -> Response:
    org = auth.organization(org_id)
    auth.acting(org)
    rules = fields("rules").get("rules")
    return reply(migration_json(idp_migration.set_rules(get_session(), org, rules)))


@bp.put("/pairs")
def put_pairs(org_id: str) -> Response:
    """Replace the manual pairs of each kind sent (``users``: candidate SCIM id -> member
    user id; ``groups``: candidate group id -> old group id)."""
    org = auth.organization(org_id)
    auth.acting(org)
    sent = fields("users", "groups")
    if not sent:
        raise ProvisioningError(ErrorCode.VALIDATION_ERROR, "Send 'users', 'groups' or both.")
    db = get_session()
    counts = {key: idp_migration.set_pairs(db, org, key[:-1], value) for key, value in sent.items()}
    return reply({"pairs": counts})


@bp.get("/report")
def report(org_id: str) -> Response:
    """Counts for every category, and the rows of one (``category``, up to ``limit``)."""
    db = get_session()
    migration = idp_migration.current(db, auth.organization(org_id))
    scope = idp_migration.scope_of(db, migration)
    category = request.args.get("category", "ambiguous")
    rows = list(idp_matching.rows(db, scope, category, limit=limit_arg()))
    return reply(
        {
            "migration": migration_json(migration),
            "counts": idp_matching.counts(db, scope),
            "category": category,
            "rows": rows,
        }
    )


@bp.get("/report.csv")
def report_csv(org_id: str) -> Response:
    """Every row of every category as CSV, for a spreadsheet review before cutover."""
    db = get_session()
    migration = idp_migration.current(db, auth.organization(org_id))
    scope = idp_migration.scope_of(db, migration)
    body = "".join(_csv_lines(db, scope))
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="idp-migration-report.csv"'
    return response


def _csv_lines(db: object, scope: idp_matching.Scope) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for category in idp_matching.CATEGORIES:
        for row in idp_matching.rows(db, scope, category, limit=None):  # type: ignore[arg-type]
            writer.writerow(row)
            if buffer.tell() > 65536:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue()


@bp.post("/cutover")
def cutover(org_id: str) -> Response:
    """The candidate becomes the active directory (an Owner's call, confirmed)."""
    org = auth.organization(org_id)
    by = auth.acting(org)
    sent = fields("confirm", "only_in_old", "force", "rollback_days")
    _confirmed(sent, "cut over")
    force = sent.get("force", False)
    days = sent.get("rollback_days", idp_migration.DEFAULT_ROLLBACK_DAYS)
    if not isinstance(force, bool) or not isinstance(days, int) or isinstance(days, bool):
        raise ProvisioningError(
            ErrorCode.VALIDATION_ERROR,
            "'force' must be true or false and 'rollback_days' an integer.",
        )
    done = idp_migration.cutover(
        get_session(),
        org,
        policy=sent.get("only_in_old", "keep"),
        force=force,
        rollback_days=days,
        by=by,
    )
    return reply(
        {
            **migration_json(done.migration),
            "already_cut_over": done.already,
            "outcome": idp_migration.summary(done),
        }
    )


@bp.post("/rollback")
def rollback(org_id: str) -> Response:
    """Restore the old directory within the window; the old IdP's new token is shown once."""
    org = auth.organization(org_id)
    by = auth.acting(org)
    _confirmed(fields("confirm"), "roll back")
    done = idp_migration.rollback(get_session(), org, pepper=pepper(), by=by)
    token = {"id": done.token.id, "prefix": done.token.row.prefix, "token": done.token.secret}
    return reply({**migration_json(done.migration), "scim_token": token})


@bp.post("/cancel")
def cancel(org_id: str) -> Response:
    org = auth.organization(org_id)
    actor = auth.acting(org).actor
    fields()
    return reply(migration_json(idp_migration.cancel(get_session(), org, actor=actor)))


def _confirmed(sent: dict[str, object], what: str) -> None:
    if sent.get("confirm") is not True:
        raise ProvisioningError(
            ErrorCode.CONFIRMATION_REQUIRED, f'Send {{"confirm": true}} to {what}.'
        )
