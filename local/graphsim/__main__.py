"""``python -m local.graphsim [--port N] [--cert-dir DIR]``: the stand-in alone, with the demo tenant."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from local.graphsim.demo import seed_demo
from local.graphsim.server import GraphSim
from local.host import wait_for_signal


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.graphsim", description=__doc__)
    parser.add_argument("--port", type=int, default=7072, help="port to listen on (0 picks a free one)")
    parser.add_argument("--cert-dir", type=Path, default=None, help="where to write cert.pem and key.pem")
    parser.add_argument("--no-meetings", action="store_true", help="seed the demo tenant without meetings")
    options = parser.parse_args(argv)
    sim = GraphSim(port=options.port, cert_dir=options.cert_dir).start()
    demo = seed_demo(sim.app, meetings=not options.no_meetings)
    print(f"graphsim: {sim.url}  certificate {sim.ca_bundle}")
    print(
        f"demo app {demo.client_id}, tenant {demo.tenant_id}; users alice {demo.alice}, bob {demo.bob}, "
        f"room {demo.room}",
        flush=True,
    )
    try:
        wait_for_signal()
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
