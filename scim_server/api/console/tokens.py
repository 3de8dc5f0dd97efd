"""Console: the Directory page's SCIM tokens — create (the secret shown once), list, revoke.

Through ``services/organizations/tokens.py`` exactly as ``…/scim-tokens`` calls it, so the
events name the console's actor (the acting member, or the portal link of a set-up
session). The new secret is rendered in the answer to the POST itself: a redirect would
need it in a URL or in a cookie, and it must be in neither; the page is ``no-store``
(``web.py``), so the browser's history keeps no copy.
"""

from __future__ import annotations

from flask import current_app
from flask import redirect
from flask import url_for
from werkzeug.wrappers import Response

from scim_server.api.console.directory import directory_page
from scim_server.api.console.web import bp
from scim_server.api.console.web import current
from scim_server.api.console.web import page
from scim_server.api.console.web import section
from scim_server.db import get_session
from scim_server.services.errors import NotFound
from scim_server.services.organizations import tokens
from scim_server.services.organizations.representation import token_json
from scim_server.storage.models import ApiToken


@bp.post("/directory/scim-tokens")
@section("directory")
def create_scim_token() -> Response:
    """Issue a token beside the existing ones and show its secret, this once."""
    console = current()
    issued = tokens.create_token(
        get_session(),
        console.org,
        "scim",
        pepper=str(current_app.config["TOKEN_PEPPER"]),
        actor=console.actor,
    )
    return directory_page(new_token={**token_json(issued.row), "token": issued.secret})


@bp.get("/directory/scim-tokens/<token_id>/revoke")
@section("directory")
def confirm_revoke(token_id: str) -> Response:
    """The confirmation step: revoking cuts the IdP off at once, so say so first."""
    token = _token(token_id)
    return page("revoke_token.html", token=token_json(token))


@bp.post("/directory/scim-tokens/<token_id>/revoke")
@section("directory")
def revoke_scim_token(token_id: str) -> Response:
    console = current()
    tokens.revoke_org_token(get_session(), console.org, token_id, "scim", actor=console.actor)
    return redirect(url_for("console.directory", revoked=token_id), 303)


def _token(token_id: str) -> ApiToken:
    """One of this organisation's SCIM tokens (a handful, so the list is cheap); any other
    id is the API's 404."""
    for token in tokens.list_tokens(get_session(), current().org, "scim"):
        if token.id == token_id:
            return token
    raise NotFound("No scim token with that id in this organization.")
