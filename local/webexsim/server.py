"""The Webex stand-in over HTTPS, and the demo organization ``make run`` gives it.

``with WebexSim() as sim:`` starts it on a free port; ``sim.url`` + ``/v1`` is the API base a
client uses, ``sim.ca_bundle`` the certificate it must trust, ``sim.app`` the state and faults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from local.serving import StandIn
from local.webexsim.app import WebexSimApp

DEMO_SITE = "contoso.webex.com"
DEMO_SECOND_SITE = "contoso-eu.webex.com"
DEMO_PEOPLE = (
    ("alice@contoso.example", "Alice Organizer", (DEMO_SITE,)),
    ("bob@contoso.example", "Bob Attendee", (DEMO_SECOND_SITE, DEMO_SITE)),
)
"""The demo tenant's people as Webex knows them: Bob's default site is the second one."""
DEMO_CLIENT_ID = "Cdemo0000000000000000000000000000000000000000000000000000000000001"
DEMO_CLIENT_SECRET = "webexsim-demo-client-secret"
DEMO_REFRESH_TOKEN = "webexsim-demo-refresh-token"
"""The demo Service App's credentials, fixed so that docs/webex.md and the README can show the configuration step."""


class WebexSim(StandIn):
    """The Webex stand-in on ``host``:``port`` (0 picks a free port)."""

    app: WebexSimApp

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, cert_dir: Path | None = None) -> None:
        super().__init__(WebexSimApp(), name="webexsim", host=host, port=port, threads=8, cert_dir=cert_dir)

    @property
    def api(self) -> str:
        return self.url + "/v1"


def seed_demo(app: WebexSimApp) -> dict[str, Any]:
    """The demo organization (its directory is the demo tenant's: every address of contoso.example is a host),
    its people on two sites, and a Service App with the meeting scopes: its credentials and first tokens."""
    for email, name, sites in DEMO_PEOPLE:
        app.add_person(email, name, sites)
    app.add_domain(DEMO_PEOPLE[0][0].partition("@")[2], (DEMO_SITE,))
    return app.add_service_app(fixed=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN))
