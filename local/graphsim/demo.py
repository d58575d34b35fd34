"""The demo tenant ``make run`` seeds: an app registration, two users and a room, and a few meetings.

Ids are fixed so that a demo, a README example or a test can name them. Two more tenants show the
government clouds: one in GCC (Worldwide sign-in, the commercial registration) and one in GCC High,
which signs in through Azure Government and so has consented to the app's Azure Government
registration (``USGOV_CLIENT_ID``): a commercial deployment refuses it, a government one serves it
with that second registration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from local.graphsim.app import GraphSimApp
from local.graphsim.signin import CLOUD_FIELDS
from local.graphsim.store import App, Tenant, User

CLIENT_ID = "11111111-2222-4333-8444-555555555555"
CLIENT_SECRET = "graphsim-demo-client-secret"
TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
GCC_HIGH_TENANT_ID = "0c0c0c0c-1111-2222-3333-444444444444"
GCC_TENANT_ID = "0d0d0d0d-1111-2222-3333-444444444444"
USGOV_CLIENT_ID = "22222222-3333-4444-8555-666666666666"
USGOV_CLIENT_SECRET = "graphsim-demo-usgov-client-secret"
GCC_USER = "0d0d0d0d-0000-4000-8000-000000000001"
GCC_HIGH_USER = "0c0c0c0c-0000-4000-8000-000000000001"
ALICE = "5a1b2c3d-0000-4444-8888-9abcdef01234"
BOB = "9f8e7d6c-1111-2222-3333-444455556666"
ROOM = "c0ffee00-0000-4000-8000-000000000001"


@dataclass(frozen=True)
class Demo:
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    usgov_client_id: str = USGOV_CLIENT_ID
    usgov_client_secret: str = USGOV_CLIENT_SECRET
    tenant_id: str = TENANT_ID
    gcc_tenant_id: str = GCC_TENANT_ID
    gcc_high_tenant_id: str = GCC_HIGH_TENANT_ID
    gcc_user: str = GCC_USER
    gcc_high_user: str = GCC_HIGH_USER
    alice: str = ALICE
    bob: str = BOB
    room: str = ROOM


def seed_demo(
    app: GraphSimApp,
    *,
    redirect_uris: tuple[str, ...] = ("http://127.0.0.1:7071/api/auth/callback",),
    meetings: bool = True,
) -> Demo:
    """Register the demo app and tenants; with ``meetings``, put a few meetings on the calendars."""
    store = app.store
    store.apps[CLIENT_ID] = App(CLIENT_ID, CLIENT_SECRET, redirect_uris=set(redirect_uris))
    store.add_tenant(Tenant(TENANT_ID, "contoso.example", "Contoso", dict(CLOUD_FIELDS["Worldwide"]), {CLIENT_ID}))
    store.apps[USGOV_CLIENT_ID] = App(
        USGOV_CLIENT_ID, USGOV_CLIENT_SECRET, redirect_uris=set(redirect_uris), azure="AzureUSGovernment"
    )
    store.add_tenant(
        Tenant(GCC_HIGH_TENANT_ID, "agency.example.us", "Agency", dict(CLOUD_FIELDS["GCCHigh"]), {USGOV_CLIENT_ID})
    )
    store.add_tenant(Tenant(GCC_TENANT_ID, "county.example.gov", "County", dict(CLOUD_FIELDS["GCC"]), {CLIENT_ID}))
    store.add_user(User(GCC_USER, GCC_TENANT_ID, "clerk@county.example.gov", "County Clerk"))
    store.add_user(User(GCC_HIGH_USER, GCC_HIGH_TENANT_ID, "officer@agency.example.us", "Agency Officer"))
    store.add_user(
        User(ALICE, TENANT_ID, "alice@contoso.example", "Alice Organizer", time_zone="W. Europe Standard Time")
    )
    store.add_user(User(BOB, TENANT_ID, "bob@contoso.example", "Bob Attendee", time_zone="Pacific Standard Time"))
    store.add_user(User(ROOM, TENANT_ID, "boardroom@contoso.example", "Board Room", kind="room"))
    if meetings:
        _meetings(app)
    return Demo()


def _meetings(app: GraphSimApp) -> None:
    start = (datetime.now(timezone.utc) + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    people = [
        {"emailAddress": {"address": "bob@contoso.example", "name": "Bob Attendee"}, "type": "required"},
        {"emailAddress": {"address": "boardroom@contoso.example", "name": "Board Room"}, "type": "resource"},
    ]
    app.store.create_event(
        ALICE,
        {
            "subject": "Project kickoff",
            "attendees": people,
            "location": {"displayName": "Board Room"},
            "body": {
                "contentType": "html",
                "content": '<p>Join: <a href="https://contoso.webex.com/meet/alice">'
                "https://contoso.webex.com/meet/alice</a></p>",
            },
            "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
            "end": {"dateTime": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
        },
    )
    app.store.create_event(
        ALICE,
        {
            "subject": "Weekly sync",
            "attendees": people[:1],
            "location": {"displayName": "@webex"},
            "start": {"dateTime": (start + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
            "end": {
                "dateTime": (start + timedelta(hours=5, minutes=30)).strftime("%Y-%m-%dT%H:%M:%S"),
                "timeZone": "UTC",
            },
            "recurrence": {
                "pattern": {
                    "type": "weekly",
                    "interval": 1,
                    "daysOfWeek": [start.strftime("%A").lower()],
                    "firstDayOfWeek": "monday",
                },
                "range": {"type": "noEnd", "startDate": start.date().isoformat()},
            },
        },
    )
