"""The membership state machine of docs/lifecycle.md §2, as pure functions (no session).

D (directory state) belongs to the IdP and O (admin override) to the organisation's
admins; neither writer touches the other's field, and effective access E is derived,
never stored. Deny overrides: the directory cannot lift an admin block, an admin cannot
lift a directory block. Services call ``transition`` and carry out what it returns;
no other module decides a lifecycle rule.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from dataclasses import replace

from scim_server.services.audit import EventType
from scim_server.services.errors import ErrorCode
from scim_server.storage.models import AdminOverride
from scim_server.storage.models import DirectoryState
from scim_server.storage.models import LinkState

# Precedence of denial reasons (docs/lifecycle.md §2.3): the first is the primary code.
DENIAL_ORDER = (
    ErrorCode.ORGANIZATION_INACTIVE,
    ErrorCode.USER_DISABLED,
    ErrorCode.MEMBERSHIP_REMOVED,
    ErrorCode.MEMBERSHIP_INACTIVE,
    ErrorCode.MEMBERSHIP_DISABLED,
    ErrorCode.MEMBERSHIP_PENDING_CLAIM,
)


@dataclass(frozen=True)
class MemberState:
    """What a membership row says: D, O, whether and why it ended, and its link state."""

    directory_state: str = DirectoryState.UNMANAGED
    admin_override: str = AdminOverride.NONE
    end_reason: str | None = None
    link_state: str = LinkState.LINKED

    @property
    def ended(self) -> bool:
        return self.end_reason is not None


# A rule's answer: the new state, the event to record (None: no change), whether it ends
# the membership.
Step = tuple[MemberState, EventType | None, bool]


@dataclass(frozen=True)
class AccessFacts:
    """Everything E depends on besides the membership row."""

    user_disabled: bool = False
    org_active: bool = True


class Trigger(enum.StrEnum):
    """The events of the transition table (docs/lifecycle.md §2.5), named after who acts."""

    DIRECTORY_CREATED = "directory_created"  # rows P1–P7, including re-adds
    DIRECTORY_ACTIVATED = "directory_activated"  # rows U3–U5
    DIRECTORY_DEACTIVATED = "directory_deactivated"  # rows U1–U2
    DIRECTORY_DELETED = "directory_deleted"  # row X1
    DIRECTORY_DISCONNECTED = "directory_disconnected"  # row K1
    ADMIN_DISABLED = "admin_disabled"  # rows A1–A2
    ADMIN_ENABLED = "admin_enabled"  # row A3
    ADMIN_EDITED = "admin_edited"  # row A4
    ADMIN_REMOVED = "admin_removed"  # rows A5–A6
    JOINED = "joined"  # row J1: first JIT login (the membership is unmanaged)
    LINK_CLAIMED = "link_claimed"  # row J7: the person proved the pending account is theirs
    INVITATION_ACCEPTED = "invitation_accepted"  # rows I1–I5


class Refused(Exception):
    """The table refuses this event in this state; ``code`` is a docs/lifecycle.md §8 error code."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Transition:
    """What one event does: the new state and the effects the service must carry out."""

    before: MemberState
    after: MemberState
    event: EventType | None  # the audit event type; None for a no-op, which records nothing
    revoke_sessions: bool = False  # E went true -> false (§2.6)
    clear_grants: bool = False  # removal: snapshot grants into the event, then clear
    tombstone_scim: bool = False  # the SCIM view answers 404 from now on

    @property
    def changed(self) -> bool:
        return self.event is not None


def denial_reasons(state: MemberState, facts: AccessFacts = AccessFacts()) -> list[ErrorCode]:
    """Why access is denied, in precedence order; empty means E is true."""
    reasons = {
        ErrorCode.ORGANIZATION_INACTIVE: not facts.org_active,
        ErrorCode.USER_DISABLED: facts.user_disabled,
        ErrorCode.MEMBERSHIP_REMOVED: state.ended
        or state.directory_state == DirectoryState.REMOVED,
        ErrorCode.MEMBERSHIP_INACTIVE: state.directory_state == DirectoryState.INACTIVE,
        ErrorCode.MEMBERSHIP_DISABLED: state.admin_override == AdminOverride.DISABLED,
        ErrorCode.MEMBERSHIP_PENDING_CLAIM: state.link_state == LinkState.PENDING_CLAIM,
    }
    return [code for code in DENIAL_ORDER if reasons[code]]


def effective_access(state: MemberState, facts: AccessFacts = AccessFacts()) -> bool:
    """E(m) of docs/lifecycle.md §2.3."""
    return not denial_reasons(state, facts)


def counts_as_seat(state: MemberState) -> bool:
    """seat(m): live, directory-active or unmanaged, not admin-disabled; pending claims count."""
    return (
        not state.ended
        and state.directory_state in (DirectoryState.UNMANAGED, DirectoryState.ACTIVE)
        and state.admin_override == AdminOverride.NONE
    )


def scim_active(directory_state: str) -> bool:
    """SCIM ``active`` reports D, not E (docs/lifecycle.md §2.3): Entra reads back what it sent."""
    return directory_state in (DirectoryState.UNMANAGED, DirectoryState.ACTIVE)


def transition(
    state: MemberState | None,
    trigger: Trigger,
    *,
    facts: AccessFacts = AccessFacts(),
    active: bool = True,
    link_state: str = LinkState.LINKED,
    has_live_scim: bool = False,
    directory_connected: bool = True,
) -> Transition:
    """Apply one row of the table. ``state`` is None when no membership row exists yet.

    :raises Refused: the table forbids the event in this state.
    """
    if trigger is Trigger.DIRECTORY_CREATED:
        return _finish(state, _directory_created(state, active, link_state), facts)
    if trigger is Trigger.JOINED:
        if state is not None:
            raise Refused(ErrorCode.ALREADY_MEMBER, "A membership already exists.")
        return _finish(None, (MemberState(), EventType.MEMBERSHIP_CREATED, False), facts)
    if trigger is Trigger.INVITATION_ACCEPTED:
        return _finish(state, _invitation_accepted(state, directory_connected), facts)
    if state is None:
        raise Refused(ErrorCode.MEMBERSHIP_NOT_FOUND, "There is no membership to change.")
    rule = _RULES[trigger]
    return _finish(state, rule(state, has_live_scim), facts)


def _finish(before: MemberState | None, result: Step, facts: AccessFacts) -> Transition:
    after, event, removal = result
    prior = before or MemberState(end_reason="none")
    if event is None:
        return Transition(prior, prior, None)
    lost = effective_access(prior, facts) and not effective_access(after, facts)
    return Transition(
        prior,
        after,
        event,
        revoke_sessions=lost,
        clear_grants=removal,
        tombstone_scim=removal and not prior.ended,
    )


def _directory_created(state: MemberState | None, active: bool, link_state: str) -> Step:
    """docs/lifecycle.md rows P1–P7: a new membership, or a re-add that revives an ended one
    with O unchanged."""
    d = DirectoryState.ACTIVE if active else DirectoryState.INACTIVE
    if state is None:
        return MemberState(d, AdminOverride.NONE, None, link_state), EventType.USER_CREATED, False
    if not state.ended:
        raise Refused(ErrorCode.ALREADY_MEMBER, "A live membership already exists (row P4).")
    revived = MemberState(d, state.admin_override, None, state.link_state)
    return revived, EventType.USER_RELINKED, False


def _activated(state: MemberState, _scim: bool) -> Step:
    """docs/lifecycle.md rows U3–U5: D=active; an admin's override holds (sticky)."""
    _require_live(state)
    if state.directory_state == DirectoryState.ACTIVE:
        return state, None, False  # U4: Entra's periodic PATCH
    after = replace(state, directory_state=DirectoryState.ACTIVE)
    if state.admin_override == AdminOverride.DISABLED:
        return after, EventType.MEMBERSHIP_OVERRIDE_HELD, False  # U5
    if state.directory_state == DirectoryState.UNMANAGED:
        return after, EventType.MEMBERSHIP_DIRECTORY_MANAGED, False
    return after, EventType.USER_REACTIVATED, False  # U3


def _deactivated(state: MemberState, _scim: bool) -> Step:
    """docs/lifecycle.md rows U1–U2: D=inactive; deactivating twice is a no-op."""
    _require_live(state)
    if state.directory_state == DirectoryState.INACTIVE:
        return state, None, False
    return (
        replace(state, directory_state=DirectoryState.INACTIVE),
        EventType.USER_DEACTIVATED,
        False,
    )


def _deleted(state: MemberState, _scim: bool) -> Step:
    """docs/lifecycle.md row X1: end the membership, keep O; grants are snapshotted and cleared."""
    _require_live(state)
    after = replace(state, directory_state=DirectoryState.REMOVED, end_reason="directory_removed")
    return after, EventType.USER_DELETED, True


def _disconnected(state: MemberState, _scim: bool) -> Step:
    """docs/lifecycle.md row K1: directory-active members keep access as unmanaged; inactive
    ones end."""
    if state.ended or state.directory_state == DirectoryState.UNMANAGED:
        return state, None, False
    if state.directory_state == DirectoryState.ACTIVE:
        after = replace(state, directory_state=DirectoryState.UNMANAGED)
        return after, EventType.MEMBERSHIP_DIRECTORY_DISCONNECTED, False
    after = replace(state, end_reason="directory_disconnected")
    return after, EventType.MEMBERSHIP_DIRECTORY_DISCONNECTED, True


def _admin_disabled(state: MemberState, _scim: bool) -> Step:
    """docs/lifecycle.md rows A1–A2: live or ended memberships can be disabled; that blocks
    any later revival."""
    if state.admin_override == AdminOverride.DISABLED:
        return state, None, False
    after = replace(state, admin_override=AdminOverride.DISABLED)
    return after, EventType.MEMBERSHIP_OVERRIDE_SET, False


def _admin_enabled(state: MemberState, _scim: bool) -> Step:
    """docs/lifecycle.md row A3: clear the override; E follows D (an inactive member stays
    without access)."""
    if state.admin_override == AdminOverride.NONE:
        return state, None, False
    return (
        replace(state, admin_override=AdminOverride.NONE),
        EventType.MEMBERSHIP_OVERRIDE_CLEARED,
        False,
    )


def _admin_edited(state: MemberState, _scim: bool) -> Step:
    """docs/lifecycle.md row A4: grants are editable unless the directory says inactive
    (O=disabled may edit)."""
    _require_live(state)
    if state.directory_state == DirectoryState.INACTIVE:
        raise Refused(
            ErrorCode.MEMBERSHIP_INACTIVE,
            "The directory has deactivated this member; their roles cannot be edited "
            "until the directory reactivates them (they can still be removed).",
        )
    return state, EventType.MEMBERSHIP_GRANTS_UPDATED, False


def _admin_removed(state: MemberState, has_live_scim: bool) -> Step:
    """docs/lifecycle.md rows A5–A6: a directory-active member is the directory's to remove."""
    _require_live(state)
    if state.directory_state == DirectoryState.ACTIVE and has_live_scim:
        raise Refused(
            ErrorCode.MANAGED_BY_DIRECTORY,
            "This member is managed by the identity provider: unassign them there, "
            "or disable them here.",
        )
    return replace(state, end_reason="admin_removed"), EventType.MEMBERSHIP_REMOVED, True


def _invitation_accepted(state: MemberState | None, directory_connected: bool) -> Step:
    """docs/lifecycle.md rows I1–I5: an invitation is an admin's explicit decision, so it may
    revive a former member, but never around an admin disable, a directory deactivation, or a
    directory that deleted the person and is still connected."""
    if state is None:
        return MemberState(), EventType.MEMBERSHIP_CREATED, False  # I1
    if state.admin_override == AdminOverride.DISABLED:
        raise Refused(ErrorCode.MEMBERSHIP_DISABLED, "An admin has disabled this member.")  # I3
    if not state.ended:
        if state.directory_state == DirectoryState.INACTIVE:
            raise Refused(
                ErrorCode.MEMBERSHIP_INACTIVE, "The directory has deactivated this member."
            )
        if state.link_state == LinkState.PENDING_CLAIM:
            return (
                replace(state, link_state=LinkState.LINKED),
                EventType.MEMBERSHIP_LINK_CLAIMED,
                False,
            )
        return state, None, False  # I5: already a member; grants untouched
    if state.end_reason == "directory_removed" and directory_connected:
        raise Refused(
            ErrorCode.MANAGED_BY_DIRECTORY,
            "The identity provider removed this person; it must add them back.",
        )
    revived = MemberState(DirectoryState.UNMANAGED, state.admin_override, None, LinkState.LINKED)
    return revived, EventType.MEMBERSHIP_REVIVED, False  # I2


def _link_claimed(state: MemberState, _scim: bool) -> Step:
    """docs/lifecycle.md row J7: the person signed in through this org's SSO with the
    membership's verified email."""
    _require_live(state)
    if state.link_state != LinkState.PENDING_CLAIM:
        return state, None, False
    return replace(state, link_state=LinkState.LINKED), EventType.MEMBERSHIP_LINK_CLAIMED, False


def _require_live(state: MemberState) -> None:
    if state.ended:
        raise Refused(ErrorCode.MEMBERSHIP_REMOVED, "The membership has ended.")


_RULES = {
    Trigger.DIRECTORY_ACTIVATED: _activated,
    Trigger.DIRECTORY_DEACTIVATED: _deactivated,
    Trigger.DIRECTORY_DELETED: _deleted,
    Trigger.DIRECTORY_DISCONNECTED: _disconnected,
    Trigger.ADMIN_DISABLED: _admin_disabled,
    Trigger.ADMIN_ENABLED: _admin_enabled,
    Trigger.ADMIN_EDITED: _admin_edited,
    Trigger.ADMIN_REMOVED: _admin_removed,
    Trigger.LINK_CLAIMED: _link_claimed,
}
