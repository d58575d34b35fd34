"""Azurite (Tables + Queues), in memory, on chosen or free ports of 127.0.0.1.

Used by ``make run`` and by the test fixtures, so both start it the same way. It is
pinned to 3.35.0 in package.json (the last release that runs on Node 20) and is
started with ``--skipApiVersionCheck`` because the queue SDK sends a newer
``x-ms-version`` than Azurite knows.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from shared.config import APP_ROOT, azurite_connection_string

AZURITE_BIN = Path(os.environ.get("AZURITE_BIN", APP_ROOT / "node_modules" / ".bin" / "azurite"))
INSTALL_HINT = "Azurite is not installed: run `npm ci` in the repository (make run / make test do it)"


def free_port() -> int:
    """A port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        socket.create_connection((host, port), timeout=0.2).close()
    except OSError:
        return False
    return True


class Azurite:
    """One Azurite process; ``start()`` returns its connection string once both services listen."""

    def __init__(
        self,
        *,
        queue_port: int = 0,
        table_port: int = 0,
        blob_port: int = 0,
        binary: Path = AZURITE_BIN,
        skip_api_version_check: bool = True,
    ) -> None:
        self.queue_port = queue_port or free_port()
        self.table_port = table_port or free_port()
        self.blob_port = blob_port or free_port()
        self.binary = binary
        self.skip_api_version_check = skip_api_version_check
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def connection_string(self) -> str:
        return azurite_connection_string(self.queue_port, self.table_port, self.blob_port)

    @property
    def pid(self) -> int | None:
        """The Azurite (node) process id while it runs: benchmarks account its CPU time."""
        return self._process.pid if self._process is not None else None

    def start(self, timeout: float = 30.0) -> str:
        if not self.binary.exists():
            raise FileNotFoundError(INSTALL_HINT)
        self._process = subprocess.Popen(
            self._command(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        for port in (self.queue_port, self.table_port):
            while not port_open(port):
                if self._process.poll() is not None or time.monotonic() > deadline:
                    error = self._failure()
                    self.stop()
                    raise RuntimeError(f"Azurite did not start: {error}")
                time.sleep(0.05)
        return self.connection_string

    def _command(self) -> list[str]:
        flags = ["--skipApiVersionCheck"] if self.skip_api_version_check else []
        return [
            str(self.binary),
            "--inMemoryPersistence",
            *flags,
            "--loose",
            "--silent",
            "--disableTelemetry",
            "--extentMemoryLimit",
            "256",
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(self.blob_port),
            "--queueHost",
            "127.0.0.1",
            "--queuePort",
            str(self.queue_port),
            "--tableHost",
            "127.0.0.1",
            "--tablePort",
            str(self.table_port),
        ]

    def _failure(self) -> str:
        if self._process is None or self._process.poll() is None:
            return "timed out waiting for its ports"
        return (self._process.stderr.read() if self._process.stderr else b"").decode(errors="replace")[-500:]

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the process group (node and anything it spawned) and wait for it."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def __enter__(self) -> Azurite:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
