"""What the benchmarks share: the whole product on this machine, and the report they write.

``on_local_stack`` runs the Graph stand-in in its own process (as ``make run`` does), Azurite, and
the dev host serving the real ``function_app.py``, then calls ``run(host_url, sim_url,
ca_bundle)``. The host runs in this process (so a benchmark can read its in-process counters) or,
with ``host_process=True``, as two processes of their own: an HTTP front and a queue/timer worker
(:func:`front_and_worker_hosts`). Then the benchmark's load generators and probes do not share the
service's interpreter and GIL, as they never would in Azure, and acknowledgements do not wait
behind change processing. The presence round's timer is off (its polls would land in the Graph
counts of the benchmarks that measure the sync); ``presence.py`` queues its rounds itself.
``report`` prints a benchmark's lines, writes them to
``benchmarks/results/<name>.md`` and gives the exit code (1 when a line says FAIL).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PROCESSES: dict[str, int] = {"benchmark": os.getpid()}
"""The stack's processes by role (filled by ``on_local_stack``), for :func:`cpu_seconds`."""
HOSTS: dict[str, str] = {}
"""The app's host processes by role and their URLs (filled by ``on_local_stack``), for :func:`key_provider_calls`."""
MASTER_KEY = "benchmark-master-key-00000001"


def cpu_seconds() -> dict[str, float]:
    """CPU time (user + system) each process of the stack has used so far; empty where /proc is missing."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    used: dict[str, float] = {}
    for role, pid in PROCESSES.items():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[role] = (int(fields[11]) + int(fields[12])) / ticks
    return used


def function_cpu_seconds() -> dict[str, float]:
    """CPU seconds spent inside the app's functions so far, per host role (the dev host counts them; the
    machinery around them, polling queues and serving HTTP, is the Functions host's in Azure)."""
    import requests

    spent: dict[str, float] = {}
    for role, url in HOSTS.items():
        answer = requests.get(f"{url}/admin/host/invocations", headers={"x-functions-key": MASTER_KEY}, timeout=30)
        spent[role] = sum(f["cpuSeconds"] for f in answer.json()["functions"].values())
    return spent


def key_provider_calls() -> int:
    """Key-provider calls (wraps and unwraps) every host of the app has made so far, from its ``/api/health``.

    The worker serves no HTTP function (they are disabled there), so it is asked with the master
    key, as an admin can ask a disabled function in Azure.
    """
    import requests

    total = 0
    for url in HOSTS.values():
        answer = requests.get(f"{url}/api/health", headers={"x-functions-key": MASTER_KEY}, timeout=30)
        check = answer.json()["checks"]["key_provider"]
        total += int(check["keyWraps"]) + int(check["keyUnwraps"])
    return total


def on_local_stack(
    run: Callable[[str, str, str], list[str]], *, function_key: str, host_process: bool = False, workers: int = 1
) -> list[str]:
    from local.azurite import Azurite, free_port
    from local.graphsim.server import spawn
    from local.host import DevHost
    from shared.config import get_settings

    os.environ.setdefault("AzureWebJobs.presence_round.Disabled", "true")
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    process, sim_url, ca = spawn(work / "graphsim")
    PROCESSES["stand-in"] = process.pid
    try:
        with Azurite() as azurite:
            PROCESSES["Azurite"] = azurite.pid or 0
            port = free_port()
            os.environ.update(
                {
                    "AzureWebJobsStorage": azurite.connection_string,
                    "HC_LOCAL_PORT": str(port),
                    "HC_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
                    "HC_GRAPH_BASE_URL": sim_url,
                    "HC_GRAPH_CA_BUNDLE": ca,
                    "HC_LOCAL_KEY_FILE": str(work / "kek.json"),
                    "HC_FUNCTION_KEY": function_key,
                    "HC_MASTER_KEY": MASTER_KEY,
                    "HC_LOG_LEVEL": "WARNING",
                }
            )
            if host_process:
                with front_and_worker_hosts(port, workers=workers) as url:
                    return run(url, sim_url, ca)
            with DevHost(get_settings()) as host:
                HOSTS["host"] = host.url
                return run(host.url, sim_url, ca)
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def front_and_worker_hosts(port: int, *, workers: int = 1) -> Iterator[str]:
    """``python -m local.host`` processes of the app, as Azure runs it with per-function scaling: a front
    serving the HTTP functions on ``port`` and ``workers`` instances running the queue functions (each disables
    the others' functions with ``AzureWebJobs.<name>.Disabled``); timers run on the first worker only, as
    Azure runs a timer on one instance. Yields the front's URL once all answer."""
    from local.azurite import free_port
    from local.devhost.metadata import describe, load_app

    functions = describe(load_app(ROOT))
    front = {f"AzureWebJobs.{f.name}.Disabled": "true" for f in functions if f.trigger_type != "httpTrigger"}
    worker = {f"AzureWebJobs.{f.name}.Disabled": "true" for f in functions if f.trigger_type == "httpTrigger"}
    more = worker | {f"AzureWebJobs.{f.name}.Disabled": "true" for f in functions if f.trigger_type == "timerTrigger"}
    with ExitStack() as stack:
        url = stack.enter_context(_host_process(port, front, role="front"))
        for n in range(workers):
            stack.enter_context(
                _host_process(free_port(), more if n else worker, role="worker" if n == 0 else f"worker{n + 1}")
            )
        yield url


@contextmanager
def _host_process(port: int, settings: dict[str, str], *, role: str, timeout: float = 60.0) -> Iterator[str]:
    """``python -m local.host`` with this process's environment plus ``settings``; yields its URL once it answers."""
    import requests

    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "local.host"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        env=dict(os.environ) | settings | {"HC_LOCAL_PORT": str(port)},
    )
    PROCESSES[role] = process.pid
    HOSTS[role] = url
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the dev host exited with status {process.returncode}")
            try:
                requests.get(f"{url}/api/health", timeout=5)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=60)


def quantile(ordered: list[float], share: float) -> float:
    """The ``share`` quantile of samples already sorted (the nearest rank); infinity when there are none."""
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("inf")


def report(name: str, lines: list[str]) -> int:
    print("\n".join(lines))
    results = ROOT / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    (results / f"{name}.md").write_text("```\n" + "\n".join(lines) + "\n```\n")
    return 0 if all("FAIL" not in line for line in lines) else 1
