"""``make run``: the whole product on one machine.

Starts Azurite when the storage setting points at 127.0.0.1 (the default), the Graph and Webex
stand-ins when their settings point at this machine (the defaults), then the
dev host serving ``function_app.py``, prints what runs where, and on Ctrl-C or
SIGTERM stops the host (in-flight work finishes) and then Azurite. Presence is polled every minute
here (``HC_PRESENCE_POLL_MINUTES`` unless set), so a demo's automatic replies show within two.
"""

from __future__ import annotations

import os
import sys
from typing import Any
from urllib.parse import urlsplit

from local.azurite import Azurite, port_open
from local.graphsim.demo import seed_demo
from local.graphsim.server import GraphSim
from local.host import DevHost, configure_logging, wait_for_signal
from shared.config import LOOPBACK_HOSTS, Settings, app_path, load_settings, loopback_storage_ports
from shared.errors import ConfigError


def start_storage(settings: Settings) -> Azurite | None:
    """Start Azurite on the configured local ports, unless something already listens there."""
    ports = loopback_storage_ports(settings.storage_connection)
    if ports is None:
        print("storage: the configured Azure Storage account (not started here)")
        return None
    if all(port_open(p) for p in ports):
        print(f"storage: reusing the Azurite already listening on ports {ports[0]} and {ports[1]}")
        return None
    azurite = Azurite(queue_port=ports[0], table_port=ports[1])
    azurite.start()
    print(f"storage: Azurite (in memory) queues :{ports[0]}  tables :{ports[1]}")
    return azurite


def start_graph(settings: Settings) -> GraphSim | None:
    """Start the Graph stand-in with its demo tenant when HC_GRAPH_BASE_URL points at this machine."""
    parts = urlsplit(settings.graph_base_url)
    if not settings.graph_base_url or parts.hostname not in LOOPBACK_HOSTS:
        print("graph: Microsoft Graph and sign-in (each tenant's national cloud)")
        return None
    sim = GraphSim(
        host=parts.hostname, port=parts.port or 443, cert_dir=app_path(settings.graph_ca_bundle).parent
    ).start()
    demo = seed_demo(sim.app)
    print(
        f"graph: stand-in {sim.url} (demo tenant {demo.tenant_id}: alice {demo.alice}, bob {demo.bob}, "
        f"room {demo.room}; certificate {settings.graph_ca_bundle})"
    )
    return sim


def start_webex(settings: Settings) -> Any:
    """Start the Webex stand-in with its demo organization when HC_WEBEX_API_URL points at this machine."""
    from local.webexsim.server import DEMO_CLIENT_ID, WebexSim, seed_demo

    parts = urlsplit(settings.webex_api_url)
    if parts.hostname not in LOOPBACK_HOSTS:
        print(f"webex: {settings.webex_api_url}")
        return None
    sim = WebexSim(
        host=parts.hostname or "127.0.0.1", port=parts.port or 443, cert_dir=app_path(settings.webex_ca_bundle).parent
    ).start()
    seed_demo(sim.app)
    print(
        f"webex: stand-in {sim.api} (demo Service App {DEMO_CLIENT_ID[:12]}...; @webex uses it once the tenant's "
        "scheduling configuration says so, see docs/webex.md)"
    )
    return sim


def tour_line(settings: Settings, app_url: str, graph: GraphSim | None) -> str:
    """The values the README's tour reads (its defaults are these when nothing is configured). The function
    key is shown only when it is the published local default: a key of your own stays yours."""
    from shared.config import DEFAULT_FUNCTION_KEY

    key = settings.function_key if settings.function_key == DEFAULT_FUNCTION_KEY else "<your HC_FUNCTION_KEY>"
    values = f"APP={app_url} KEY={key}"
    if graph is not None:
        values += f" SIM={graph.url} CA={settings.graph_ca_bundle}"
    return f"tour (README): {values}"


def main() -> int:
    os.environ.setdefault("HC_PRESENCE_POLL_MINUTES", "1")
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings)
    azurite = start_storage(settings)
    graph = webex = None
    try:
        graph = start_graph(settings)
        webex = start_webex(settings)
        host = DevHost(settings).start()
        print("dev host: " + host.url)
        print("\n".join("  " + line for line in host.describe_lines()))
        print(tour_line(settings, host.url, graph))
        print("ready; Ctrl-C stops everything", flush=True)
        wait_for_signal()
        print("stopping...", flush=True)
        host.stop()
    finally:
        if webex is not None:
            webex.stop()
        if graph is not None:
            graph.stop()
        if azurite is not None:
            azurite.stop()
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
