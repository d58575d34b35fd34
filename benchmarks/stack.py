"""What the benchmarks share: the whole product on this machine, and the report they write.

``on_local_stack`` runs the Graph stand-in in its own process (as ``make run`` does), Azurite, and
the dev host serving the real ``function_app.py`` in this process, then calls ``run(host_url,
sim_url, ca_bundle)``. ``report`` prints a benchmark's lines, writes them to
``benchmarks/results/<name>.md`` and gives the exit code (1 when a line says FAIL).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def on_local_stack(run: Callable[[str, str, str], list[str]], *, function_key: str) -> list[str]:
    from local.azurite import Azurite, free_port
    from local.graphsim.server import spawn
    from local.host import DevHost
    from shared.config import get_settings

    work = Path(tempfile.mkdtemp(prefix="bench-"))
    process, sim_url, ca = spawn(work / "graphsim")
    try:
        with Azurite() as azurite:
            port = free_port()
            os.environ.update({"AzureWebJobsStorage": azurite.connection_string, "HC_LOCAL_PORT": str(port),
                               "HC_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "HC_GRAPH_BASE_URL": sim_url,
                               "HC_GRAPH_CA_BUNDLE": ca, "HC_LOCAL_KEY_FILE": str(work / "kek.json"),
                               "HC_FUNCTION_KEY": function_key, "HC_LOG_LEVEL": "WARNING"})
            with DevHost(get_settings()) as host:
                return run(host.url, sim_url, ca)
    finally:
        process.terminate()
        process.wait(timeout=10)


def report(name: str, lines: list[str]) -> int:
    print("\n".join(lines))
    results = ROOT / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    (results / f"{name}.md").write_text("```\n" + "\n".join(lines) + "\n```\n")
    return 0 if all("FAIL" not in line for line in lines) else 1
