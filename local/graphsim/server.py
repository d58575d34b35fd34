"""Serving the stand-in over HTTPS on 127.0.0.1 (MSAL insists on an https authority).

``with GraphSim() as sim:`` starts it on a free port with a fresh self-signed certificate;
``sim.url`` is the base URL for both sign-in and Graph, ``sim.ca_bundle`` the certificate
clients must trust, ``sim.app`` the application (store, faults) for tests. cheroot serves it:
a thread pool, HTTP/1.1 keep-alive and TLS, enough for the 300 requests/s the pipeline
benchmarks need on two cores.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from local.graphsim.app import GraphSimApp
from local.tls import self_signed


log = logging.getLogger("local.graphsim")


def one_line_error_log(msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
    """cheroot's error log, one line per event: a client killed mid-request (a test's timeout, a stopped
    benchmark) is routine for a stand-in, and cheroot would print a whole traceback to stderr for it. The
    line names the exception; nothing of the request is in it."""
    error = sys.exc_info()[1] if traceback else None
    detail = f" ({type(error).__name__}: {error})" if error is not None else ""
    log.log(level if level > logging.INFO else logging.INFO, "%s%s", str(msg).strip().replace("\n", " "), detail)


class GraphSim:
    """The stand-in on ``host``:``port`` (0 picks a free port)."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, threads: int = 16,
                 notify_verify: bool | str = True, cert_dir: Path | None = None) -> None:
        from cheroot import wsgi
        from cheroot.ssl.builtin import BuiltinSSLAdapter

        self.cert, key = self_signed(cert_dir or Path(tempfile.mkdtemp(prefix="graphsim-")))
        self.app = GraphSimApp(verify=notify_verify)
        self._server = wsgi.Server((host, port), self.app, numthreads=threads, server_name="graphsim",
                                   shutdown_timeout=1)
        self._server.ssl_adapter = BuiltinSSLAdapter(str(self.cert), str(key))
        self._server.error_log = one_line_error_log  # type: ignore[method-assign]
        self._thread: threading.Thread | None = None
        self.host = host

    @property
    def ca_bundle(self) -> str:
        return str(self.cert)

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self._server.bind_addr[1]}"

    def start(self) -> GraphSim:
        self._server.prepare()
        self.app.base_url = self.url
        self._thread = threading.Thread(target=self._server.serve, name="graphsim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.stop()
        self.app.deliverer.close()
        if self._thread:
            self._thread.join(timeout=5)

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
