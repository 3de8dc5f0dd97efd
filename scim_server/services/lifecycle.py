"""The membership state model of lifecycle.md §2, as pure functions (no session).

D (directory state) belongs to the IdP and O (admin override) to the organisation's
admins; neither writer may touch the other's field, and effective access E is derived,
never stored. Deny overrides: the directory cannot lift an admin block.
"""

from __future__ import annotations

from dataclasses import dataclass

from scim_server.storage.models import AdminOverride
from scim_server.storage.models import DirectoryState
from scim_server.storage.models import LinkState

# Precedence of denial reasons (lifecycle.md §2.3): the first is the primary code.
DENIAL_ORDER = (
    "organization_inactive",
    "user_disabled",
    "membership_removed",
    "membership_inactive",
    "membership_disabled",
    "membership_pending_claim",
)


@dataclass(frozen=True)
class AccessFacts:
    """Everything E depends on."""

    directory_state: str
    admin_override: str
    ended: bool
    link_state: str = LinkState.LINKED
    user_disabled: bool = False
    org_active: bool = True


def denial_reasons(facts: AccessFacts) -> list[str]:
    """Why access is denied, in precedence order; empty means E is true."""
    reasons = {
        "organization_inactive": not facts.org_active,
        "user_disabled": facts.user_disabled,
        "membership_removed": facts.ended or facts.directory_state == DirectoryState.REMOVED,
        "membership_inactive": facts.directory_state == DirectoryState.INACTIVE,
        "membership_disabled": facts.admin_override == AdminOverride.DISABLED,
        "membership_pending_claim": facts.link_state == LinkState.PENDING_CLAIM,
    }
    return [code for code in DENIAL_ORDER if reasons[code]]


def effective_access(facts: AccessFacts) -> bool:
    """E(m) of lifecycle.md §2.3."""
    return not denial_reasons(facts)


def counts_as_seat(facts: AccessFacts) -> bool:
    """seat(m): live, directory-active or unmanaged, not admin-disabled (pending claims count)."""
    return (
        not facts.ended
        and facts.directory_state in (DirectoryState.UNMANAGED, DirectoryState.ACTIVE)
        and facts.admin_override == AdminOverride.NONE
    )


def scim_active(directory_state: str) -> bool:
    """SCIM ``active`` reports D, not E (lifecycle.md §2.3): Entra reads back what it sent."""
    return directory_state in (DirectoryState.UNMANAGED, DirectoryState.ACTIVE)


def directory_state_for(active: bool) -> DirectoryState:
    """The D a directory push of ``active`` sets (rows U1–U5, P1, P7)."""
    return DirectoryState.ACTIVE if active else DirectoryState.INACTIVE
