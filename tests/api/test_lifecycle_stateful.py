"""Random sequences of SCIM pushes and admin actions keep the lifecycle invariants.

After every step: an admin-disabled member never has access, whatever the directory
pushed; no valid session exists for a member without effective access; the seat count
equals its definition; DELETE never loses a person or their history; and D and O are
what a simple model of docs/lifecycle.md §2.5 predicts.
"""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine
from hypothesis.stateful import initialize
from hypothesis.stateful import invariant
from hypothesis.stateful import rule
from hypothesis.stateful import run_state_machine_as_test

from tests.conftest import PLATFORM_KEY
from tests.scim_client import PRODUCT
from tests.scim_client import Admin
from tests.scim_client import Scim

SLOTS = st.integers(min_value=0, max_value=1)


class Slot:
    """The model of one person: what docs/lifecycle.md §2.5 says D and O must be."""

    def __init__(self) -> None:
        self.user_id: str | None = None
        self.scim_id: str | None = None
        self.directory = "unmanaged"
        self.override = "none"
        self.ended = False
        self.sessions: list[str] = []
        self.events = 0


def make_machine(client):
    class Lifecycle(RuleBasedStateMachine):
        @initialize()
        def new_organization(self):
            platform = Admin(client, PLATFORM_KEY)
            body = platform.call("POST", "/organizations", {"name": "stateful"}).get_json()
            self.org_id = body["id"]
            self.scim = Scim(client, body["scim_token"])
            self.admin = Admin(client, body["management_key"], body["id"])
            self.platform = Admin(client, PLATFORM_KEY, body["id"])
            self.slots = [Slot() for _ in range(2)]
            self.tag = uuid.uuid4().hex[:6]

        @rule(i=SLOTS, active=st.booleans())
        def scim_create(self, i, active):
            slot = self.slots[i]
            response = self.scim.post(
                "/Users",
                {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": f"p{i}-{self.tag}@example.com",
                    "active": active,
                },
            )
            if slot.scim_id is not None:
                assert response.status_code == 409
                return
            assert response.status_code == 201, response.get_json()
            body = response.get_json()
            assert slot.user_id in (None, body[PRODUCT]["userId"])  # re-add: same person
            slot.user_id, slot.scim_id = body[PRODUCT]["userId"], body["id"]
            slot.directory, slot.ended = ("active" if active else "inactive"), False

        @rule(i=SLOTS, active=st.booleans(), entra=st.booleans())
        def scim_set_active(self, i, active, entra):
            slot = self.slots[i]
            if slot.scim_id is None:
                return
            op = (
                {"op": "Replace", "path": "active", "value": str(active)}
                if entra
                else {"op": "replace", "value": {"active": active}}
            )
            response = self.scim.patch(f"/Users/{slot.scim_id}", [op])
            assert response.status_code == 200
            assert response.get_json()["active"] is active  # SCIM reads back what it said
            slot.directory = "active" if active else "inactive"

        @rule(i=SLOTS)
        def scim_delete(self, i):
            slot = self.slots[i]
            if slot.scim_id is None:
                return
            assert self.scim.delete(f"/Users/{slot.scim_id}").status_code == 204
            assert self.scim.get(f"/Users/{slot.scim_id}").status_code == 404
            slot.scim_id, slot.directory, slot.ended = None, "removed", True

        @rule(i=SLOTS)
        def admin_disable(self, i):
            slot = self.slots[i]
            if slot.user_id is None:
                return
            assert self.admin.disable(slot.user_id).status_code == 200
            slot.override = "disabled"

        @rule(i=SLOTS)
        def admin_enable(self, i):
            slot = self.slots[i]
            if slot.user_id is None:
                return
            assert self.admin.enable(slot.user_id).status_code == 200
            slot.override = "none"

        @rule(i=SLOTS)
        def admin_remove(self, i):
            slot = self.slots[i]
            if slot.user_id is None:
                return
            response = self.admin.remove(slot.user_id)
            if slot.ended:
                assert response.get_json()["error"]["code"] == "membership_removed"
            elif slot.directory == "active":
                assert response.get_json()["error"]["code"] == "managed_by_directory"
            else:
                assert response.status_code == 200
                slot.scim_id, slot.ended = None, True

        @rule(i=SLOTS)
        def sign_in(self, i):
            slot = self.slots[i]
            if slot.user_id is None:
                return
            response = self.platform.call(
                "POST",
                "/sessions",
                {"user_id": slot.user_id, "organization_id": self.org_id, "method": "sso"},
            )
            if response.status_code == 201:
                slot.sessions.append(response.get_json()["id"])
            else:
                assert response.status_code == 403

        @invariant()
        def lifecycle_holds(self):
            if not hasattr(self, "slots"):
                return
            expected_seats = 0
            for slot in self.slots:
                if slot.user_id is None:
                    continue
                member = self.admin.member(slot.user_id)  # the person and membership exist
                assert member["directory_state"] == slot.directory
                assert member["admin_override"]["state"] == slot.override
                assert (member["ended_at"] is not None) == slot.ended
                if slot.override == "disabled":
                    assert member["effective_access"] is False
                expected_seats += member["counts_as_seat"]
                assert member["counts_as_seat"] == (
                    not slot.ended
                    and slot.directory in ("active", "unmanaged")
                    and slot.override == "none"
                )
                for session in slot.sessions:
                    state = self.platform.call("GET", f"/sessions/{session}").get_json()
                    if state["valid"]:
                        assert member["effective_access"] is True
                events = sum(
                    1 for e in self.admin.events()["events"] if e["user_id"] == slot.user_id
                )
                assert events >= slot.events  # history only grows
                slot.events = events
            seats = self.admin.call("GET", f"/organizations/{self.org_id}/seats").get_json()
            assert seats["used"] == expected_seats

    return Lifecycle


def test_random_sequences_keep_the_invariants(client, org):
    machine = make_machine(client)
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=100,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
