"""Serving the stand-in over HTTPS on 127.0.0.1 (MSAL insists on an https authority).

``with GraphSim() as sim:`` starts it on a free port with a fresh self-signed certificate;
``sim.url`` is the base URL for both sign-in and Graph, ``sim.ca_bundle`` the certificate
clients must trust, ``sim.app`` the application (store, faults) for tests. It is served by
:class:`local.serving.StandIn`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from local.graphsim.app import GraphSimApp
from local.serving import StandIn


class GraphSim(StandIn):
    """The stand-in on ``host``:``port`` (0 picks a free port)."""

    app: GraphSimApp

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        threads: int = 16,
        notify_verify: bool | str = True,
        cert_dir: Path | None = None,
    ) -> None:
        super().__init__(
            GraphSimApp(verify=notify_verify), name="graphsim", host=host, port=port, threads=threads, cert_dir=cert_dir
        )

    def stop(self) -> None:
        super().stop()
        self.app.deliverer.close()


def spawn(cert_dir: Path, *, meetings: bool = False) -> tuple[Any, str, str]:
    """The stand-in in a process of its own (so it does not share this interpreter's GIL).

    Returns (process, base URL, CA bundle path) once it serves; terminate the process to stop it.
    """
    import subprocess
    import sys

    command = [sys.executable, "-m", "local.graphsim", "--port", "0", "--cert-dir", str(cert_dir)]
    process = subprocess.Popen(
        command + ([] if meetings else ["--no-meetings"]),
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        text=True,
    )
    first = process.stdout.readline() if process.stdout else ""
    if not first.startswith("graphsim: "):
        process.kill()
        raise RuntimeError(f"the Graph stand-in did not start: {first!r}")
    if process.stdout:
        process.stdout.readline()
    return process, first.split()[1], str(cert_dir / "cert.pem")
