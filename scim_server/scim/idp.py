"""Which identity provider sent a SCIM request, from its User-Agent and its dialect.

The provisioning log shows it so an admin can tell Okta's failures from Entra's
(docs/idp-dialects.md lists what each sends). The User-Agent decides when it names a
known client (Okta's is ``Okta SCIM Client 1.0.0``); otherwise
the dialect does: the ``aadOptscim062020`` flag on the URL is Entra's alone
(docs/idp-dialects.md §2.5). Anything else is ``unknown``, never a guess.
"""

from __future__ import annotations

UNKNOWN = "unknown"

# (substring of the lower-cased User-Agent, IdP), first match wins.
_USER_AGENTS: tuple[tuple[str, str], ...] = (
    ("okta", "okta"),
    ("azure", "entra"),
    ("microsoft", "entra"),
    ("entra", "entra"),
    ("onelogin", "onelogin"),
    ("jumpcloud", "jumpcloud"),
    ("google", "google"),
    ("ping", "ping"),
    ("rippling", "rippling"),
    ("scim-conformance", "conformance"),
)
ENTRA_FLAG = "aadoptscim062020"

# Every value ``recognise`` returns, for validating a search parameter.
KNOWN = frozenset({UNKNOWN, *(idp for _needle, idp in _USER_AGENTS)})


def recognise(user_agent: str | None, query_string: str) -> str:
    """The IdP's short name (``okta``, ``entra``…) or ``unknown``."""
    agent = (user_agent or "").lower()
    for needle, idp in _USER_AGENTS:
        if needle in agent:
            return idp
    if ENTRA_FLAG in query_string.lower():
        return "entra"
    return UNKNOWN
