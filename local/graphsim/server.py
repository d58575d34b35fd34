"""Serving the stand-in over HTTPS on 127.0.0.1 (MSAL insists on an https authority).

``with GraphSim() as sim:`` starts it on a free port with a fresh self-signed certificate;
``sim.url`` is the base URL for both sign-in and Graph, ``sim.ca_bundle`` the certificate
clients must trust, ``sim.app`` the application (store, faults) for tests. It is served by
:class:`local.serving.HttpsServer`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from local.graphsim.app import GraphSimApp
from local.serving import HttpsServer


class GraphSim:
    """The stand-in on ``host``:``port`` (0 picks a free port)."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, threads: int = 16,
                 notify_verify: bool | str = True, cert_dir: Path | None = None) -> None:
        self.app = GraphSimApp(verify=notify_verify)
        self._server = HttpsServer(self.app, name="graphsim", host=host, port=port, threads=threads,
                                   cert_dir=cert_dir)
        self.cert, self.host = self._server.cert, host

    @property
    def ca_bundle(self) -> str:
        return self._server.ca_bundle

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> GraphSim:
        self._server.start()
        self.app.base_url = self.url
        self._server.serve()
        return self

    def stop(self) -> None:
        self._server.stop()
        self.app.deliverer.close()

    def __enter__(self) -> GraphSim:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def spawn(cert_dir: Path, *, meetings: bool = False) -> tuple[Any, str, str]:
    """The stand-in in a process of its own (so it does not share this interpreter's GIL).

    Returns (process, base URL, CA bundle path) once it serves; terminate the process to stop it.
    """
    import subprocess
    import sys

    command = [sys.executable, "-m", "local.graphsim", "--port", "0", "--cert-dir", str(cert_dir)]
    process = subprocess.Popen(command + ([] if meetings else ["--no-meetings"]),
                               cwd=Path(__file__).resolve().parents[2], stdout=subprocess.PIPE, text=True)
    first = process.stdout.readline() if process.stdout else ""
    if not first.startswith("graphsim: "):
        process.kill()
        raise RuntimeError(f"the Graph stand-in did not start: {first!r}")
    if process.stdout:
        process.stdout.readline()
    return process, first.split()[1], str(cert_dir / "cert.pem")
