"""One HTTPS server for the local stand-ins (Graph, Webex): cheroot on a thread, TLS with a fresh certificate.

cheroot gives a thread pool, HTTP/1.1 keep-alive and TLS, enough for the 300 requests/s the pipeline
benchmarks need on two cores. Its error log is one line per event: a client killed mid-request (a
test's timeout, a stopped benchmark) is routine for a stand-in, and cheroot would print a whole
traceback for it. The line names the exception; nothing of the request is in it.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

from local.tls import self_signed


def drop_unsent_bytes_of_a_gone_client() -> None:
    """A write to a client that went away drops what it could not send (once per process).

    cheroot's socket writer keeps the bytes a failed write could not send; when the writer is collected
    later, it tries them again on the closed socket, and Python reports an "Exception ignored" at that
    later, unrelated moment (a test then fails for something another test's stand-in did). The Webex
    stand-in's lost answers (a create answered after the client's timeout) do exactly that. The first
    failure cannot be undone, so the bytes are dropped and the failure goes on as before.
    """
    from cheroot import makefile

    writer: Any = makefile.BufferedWriter
    if getattr(writer, "_drops_unsent", False):
        return
    flush = writer._flush_unlocked

    def flush_or_drop(self: Any) -> None:
        try:
            flush(self)
        except OSError:
            self._write_buf.clear()
            raise

    writer._flush_unlocked = flush_or_drop
    writer._drops_unsent = True


def one_line_error_log(log: logging.Logger) -> Callable[..., None]:
    def error_log(msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
        error = sys.exc_info()[1] if traceback else None
        detail = f" ({type(error).__name__}: {error})" if error is not None else ""
        log.log(level if level > logging.INFO else logging.INFO, "%s%s", str(msg).strip().replace("\n", " "), detail)

    return error_log


class HttpsServer:
    """``app`` served on ``host``:``port`` (0 picks a free port) until :meth:`stop`."""

    def __init__(
        self,
        app: Any,
        *,
        name: str,
        host: str = "127.0.0.1",
        port: int = 0,
        threads: int = 16,
        cert_dir: Path | None = None,
    ) -> None:
        from cheroot import wsgi
        from cheroot.ssl.builtin import BuiltinSSLAdapter

        drop_unsent_bytes_of_a_gone_client()
        self.cert, key = self_signed(cert_dir or Path(tempfile.mkdtemp(prefix=f"{name}-")))
        self._server = wsgi.Server((host, port), app, numthreads=threads, server_name=name, shutdown_timeout=1)
        self._server.ssl_adapter = BuiltinSSLAdapter(str(self.cert), str(key))
        self._server.error_log = one_line_error_log(logging.getLogger(f"local.{name}"))  # type: ignore[method-assign]
        self._thread: threading.Thread | None = None
        self.host, self.name = host, name

    @property
    def ca_bundle(self) -> str:
        return str(self.cert)

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self._server.bind_addr[1]}"

    def start(self) -> None:
        self._server.prepare()

    def serve(self) -> None:
        self._thread = threading.Thread(target=self._server.serve, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.stop()
        if self._thread:
            self._thread.join(timeout=5)


class StandIn:
    """A stand-in's WSGI ``app`` served over HTTPS; ``start`` gives the app its base URL (for the links it
    writes: next pages, notification URLs). ``with`` starts and stops it."""

    def __init__(
        self,
        app: Any,
        *,
        name: str,
        host: str = "127.0.0.1",
        port: int = 0,
        threads: int = 16,
        cert_dir: Path | None = None,
    ) -> None:
        self.app = app
        self._server = HttpsServer(app, name=name, host=host, port=port, threads=threads, cert_dir=cert_dir)
        self.cert, self.host = self._server.cert, host

    @property
    def ca_bundle(self) -> str:
        return self._server.ca_bundle

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> Self:
        self._server.start()
        self.app.base_url = self.url
        self._server.serve()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
