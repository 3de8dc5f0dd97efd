"""The console's edge: its blueprint, who is signed in, CSRF and the security headers.

A console session comes from a one-time link (``services/organizations/console_access``):
``GET /console/start?token=…`` spends it, sets the cookie and redirects, so the secret is
in no URL after that first redirect. The cookie is Secure, HttpOnly and SameSite=Lax; only
its keyed hash is stored. Every POST carries a CSRF token derived from the cookie, every
response a strict Content-Security-Policy (no inline script or style) and refuses framing.
"""

from __future__ import annotations

import functools
import hmac
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Blueprint
from flask import current_app
from flask import g
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from werkzeug.wrappers import Response

from scim_server.db import get_session
from scim_server.errors import api_status
from scim_server.secrets import digest
from scim_server.services.audit import Actor
from scim_server.services.errors import DomainError
from scim_server.services.inputs import control_character
from scim_server.services.membership.admin import AdminActor
from scim_server.services.membership.admin import resolve_actor
from scim_server.services.organizations import console_access
from scim_server.services.organizations.orgs import get_org
from scim_server.storage.models import ConsoleSession
from scim_server.storage.models import Organization
from scim_server.storage.models import User

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
)
COOKIE = "scim_console"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# Form fields that may span lines: pasted metadata and certificates, a disable reason.
MULTILINE_FORM_FIELDS = frozenset({"metadata_xml", "certificate", "reason"})
FORM_FIELD_LIMIT = 200_000
View = Callable[..., Response]


@dataclass(frozen=True)
class Console:
    """Who is signed in: the session, its organisation, the audit actor and, for a host
    admin, the member acting (re-checked on every request, so a demoted admin is out)."""

    session: ConsoleSession
    org: Organization
    actor: Actor
    admin: AdminActor | None
    csrf: str
    who: str  # shown in the header: the acting member's email, or "Set-up link"

    def may(self, section: str) -> bool:
        return section in self.session.sections


def timeouts() -> console_access.Timeouts:
    config = current_app.config
    return console_access.Timeouts(
        idle=timedelta(seconds=config["CONSOLE_IDLE_SECONDS"]),
        absolute=timedelta(seconds=config["CONSOLE_ABSOLUTE_SECONDS"]),
    )


def _pepper() -> str:
    return str(current_app.config["TOKEN_PEPPER"])


def csrf_for(cookie: str) -> str:
    """Bound to the session's cookie, which a cross-site page can neither read nor set."""
    return digest(f"csrf:{cookie}", _pepper())


def _request_id() -> str:
    return request.headers.get("X-Request-Id") or uuid.uuid4().hex


def _load() -> Console | None:
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return None
    db = get_session()
    session = console_access.find_session(db, cookie, pepper=_pepper(), timeouts=timeouts())
    if session is None:
        return None
    org = get_org(db, session.org_id)
    if session.acting_user_id is None:
        actor = Actor("portal", console_access.session_actor_id(session), _request_id())
        return Console(session, org, actor, None, csrf_for(cookie), "Set-up link")
    # The role guards apply to the member as they are now, exactly as X-Acting-User does.
    admin = resolve_actor(
        db, org, session.acting_user_id, key=Actor("admin", None, _request_id()), platform=False
    )
    email = db.get_one(User, session.acting_user_id).email
    return Console(session, org, admin.actor, admin, csrf_for(cookie), f"Signed in as {email}")


def current() -> Console:
    console: Console = g.console
    return console


@bp.before_request
def _authenticate() -> Response | None:
    if request.endpoint in ("console.start", "console.static"):
        return None
    try:
        console = _load()
    except DomainError:  # the acting member is no longer an effective Owner or Admin
        console = None
    if console is None:
        return page("signed_out.html", status=401)
    g.console = console
    if request.method == "POST":
        return _check_form(console)
    return None


def _check_form(console: Console) -> Response | None:
    sent = request.form.get("csrf_token", "")
    if not hmac.compare_digest(sent.encode(), console.csrf.encode()):
        return page("error.html", status=403, message="This form has expired: reload the page.")
    for field, value in request.form.items(multi=True):
        bad = control_character(value, multiline=field in MULTILINE_FORM_FIELDS)
        if bad is not None or len(value) > FORM_FIELD_LIMIT:
            what = f"the character {bad}" if bad else "too much text"
            return page("error.html", status=400, message=f"The field {field} contains {what}.")
    return None


def section(name: str) -> Callable[[View], View]:
    """A view of section ``name``: a 403 page unless this session opens it (a portal link
    opens only some; members, invitations and events need a host admin's session)."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Response:
            if not current().may(name):
                return page("error.html", status=403, message="This link does not open that page.")
            return view(*args, **kwargs)

        return guarded

    return decorate


def page(template: str, *, status: int = 200, **context: Any) -> Response:
    console = g.get("console")
    body = render_template(f"console/{template}", console=console, **context)
    return make_response(body, status)


@bp.errorhandler(DomainError)
def _refused(error: DomainError) -> Response:
    """A refusal from a service: its message on a page, with the management API's status
    (the request's transaction rolls back, so nothing changed)."""
    status, _ = api_status(error)
    return page("error.html", status=status, message=error.message)


@bp.after_app_request
def _security_headers(response: Response) -> Response:
    if not request.path.startswith(bp.url_prefix or "/console"):
        return response
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    if request.endpoint != "console.static":
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/start")
def start() -> Response:
    """Spend a one-time link and redirect to the console, leaving the secret behind."""
    token = request.args.get("token", "")
    session, cookie = console_access.open_link(
        get_session(), token, pepper=_pepper(), timeouts=timeouts(), request_id=_request_id()
    )
    response = redirect(url_for("console.home"), 303)
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=int(timeouts().absolute.total_seconds()),
        secure=bool(current_app.config["CONSOLE_COOKIE_SECURE"]),
        httponly=True,
        samesite="Lax",
        path="/console",
    )
    return response


@bp.get("/")
def home() -> Response:
    for section, endpoint in (
        ("members", "console.members"),
        ("sso", "console.signin"),
        ("directory", "console.directory"),
    ):
        if current().may(section):
            return redirect(url_for(endpoint), 303)
    return page("error.html", status=403, message="This link opens no page.")


@bp.post("/logout")
def logout() -> Response:
    console = current()
    console_access.end_session(get_session(), console.session, actor=console.actor)
    response = redirect(url_for("console.home"), 303)
    response.delete_cookie(COOKIE, path="/console")
    return response
