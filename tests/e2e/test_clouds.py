"""A government deployment end to end: GCC and GCC High tenants served together, each through the app
registration of the Azure environment it signs in through; without the Azure Government one, GCC High is
refused at onboarding with what to configure, and GCC goes on working."""

from __future__ import annotations

import uuid
from pathlib import Path

from local.graphsim.demo import Demo
from local.graphsim.store import User
from tests.e2e.conftest import running_stack


def _enable(stack, tenant: str, mailbox: str):  # type: ignore[no-untyped-def]
    return stack.admin("POST", f"tenants/{tenant}/mailboxes/{mailbox}", params={"kind": "user"})


def test_gcc_and_gcc_high_are_served_together_each_with_its_registration(azurite: str, session_key_file: Path) -> None:
    demo = Demo()
    with running_stack(
        azurite,
        session_key_file,
        HC_DEPLOYMENT="government",
        HC_USGOV_CLIENT_ID=demo.usgov_client_id,
        HC_USGOV_CLIENT_SECRET=demo.usgov_client_secret,
    ) as stack:
        for tenant, user in ((demo.gcc_tenant_id, demo.gcc_user), (demo.gcc_high_tenant_id, demo.gcc_high_user)):
            answer = _enable(stack, tenant, user)
            assert answer.status_code == 200, answer.text
            assert answer.json()["subscription"] in stack.sim.app.store.subscriptions
        answer = _enable(stack, demo.tenant_id, demo.alice)
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "cloud_not_supported"


def test_without_the_azure_government_registration_gcc_high_is_refused_and_gcc_still_served(
    azurite: str, session_key_file: Path
) -> None:
    demo = Demo()
    with running_stack(azurite, session_key_file, HC_DEPLOYMENT="government") as stack:
        officer = stack.sim.app.store.add_user(
            User(str(uuid.uuid4()), demo.gcc_high_tenant_id, "another.officer@agency.example.us", "Another Officer")
        )
        answer = _enable(stack, demo.gcc_high_tenant_id, officer.id)
        assert answer.status_code == 403, answer.text
        error = answer.json()["error"]
        assert error["code"] == "cloud_not_supported"
        assert "signs in through Azure Government" in error["message"]
        assert "HC_USGOV_CLIENT_ID" in error["message"]
        assert stack.stores.mailboxes.get(demo.gcc_high_tenant_id, officer.id) is None
        assert not [s for s in stack.sim.app.store.subscriptions.values() if officer.id in str(s)]
        answer = _enable(stack, demo.gcc_tenant_id, demo.gcc_user)
        assert answer.status_code == 200, answer.text
