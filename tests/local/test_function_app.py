"""The real function_app: what it registers and how start-up fails on bad configuration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HC_") and k != "AzureWebJobsStorage"}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean | env, capture_output=True, text=True, timeout=60
    )


def test_function_app_registers_its_blueprints_from_decorators() -> None:
    done = run_python(
        "from function_app import app\n"
        "print(sorted((f.get_function_name(), f.get_trigger().get_dict_repr().get('route'))"
        " for f in app.get_functions()))"
    )
    assert done.returncode == 0, done.stderr
    assert "('health', 'health')" in done.stdout


def test_invalid_configuration_stops_start_up_naming_the_setting() -> None:
    done = run_python("import function_app", HC_LOG_LEVEL="chatty")
    assert done.returncode != 0
    assert "ConfigError" in done.stderr and "setting HC_LOG_LEVEL: found 'chatty'" in done.stderr


def test_dev_host_refuses_to_start_on_bad_configuration() -> None:
    done = run_python("import sys; from local.host import main; sys.exit(main([]))", HC_LOCAL_PORT="seventy")
    assert done.returncode == 2
    assert "error: invalid configuration: setting HC_LOCAL_PORT: found 'seventy'" in done.stderr
