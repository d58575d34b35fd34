"""The host.json settings the dev host honours, with the Functions host's defaults.

Sources: Functions host.json reference (version 2.x) and the Storage queue
extension's host.json section. Durations are ``[d.]hh:mm:ss`` timespans.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.errors import ConfigError

QUEUES = "extensions.queues."
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d+))?$")


def parse_timespan(text: str) -> float:
    """Seconds in a ``[d.]hh:mm:ss[.fff]`` timespan; ValueError otherwise."""
    match = _TIMESPAN.match(text.strip())
    if not match:
        raise ValueError(text)
    days, hours, minutes, seconds, fraction = match.groups()
    total = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + int(seconds)
    return total + (float("0." + fraction) if fraction else 0.0)


@dataclass(frozen=True)
class QueueOptions:
    """``extensions.queues``: how queue triggers poll, batch and give up."""

    batch_size: int = 16
    new_batch_threshold: int = 8
    max_dequeue_count: int = 5
    visibility_timeout: float = 0.0
    max_polling_interval: float = 60.0


@dataclass(frozen=True)
class HostOptions:
    """The parts of host.json the dev host uses."""

    route_prefix: str = "api"
    function_timeout: float = 1800.0
    queues: QueueOptions = QueueOptions()


def load_host_json(path: Path) -> HostOptions:
    """Read host.json, failing with a ConfigError that names the bad property."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError([(str(path), type(exc).__name__, "a readable host.json")]) from None
    extensions = doc.get("extensions", {})
    queues = extensions.get("queues", {})
    batch_size = _int(queues, "batchSize", 16, 1, 32)
    return HostOptions(
        route_prefix=str(extensions.get("http", {}).get("routePrefix", "api")).strip("/"),
        function_timeout=_timespan(doc, "functionTimeout", "00:30:00"),
        queues=QueueOptions(
            batch_size=batch_size,
            new_batch_threshold=_int(queues, "newBatchThreshold", batch_size // 2, 0, 1000),
            max_dequeue_count=_int(queues, "maxDequeueCount", 5, 1, 1000),
            visibility_timeout=_timespan(queues, "visibilityTimeout", "00:00:00", QUEUES),
            max_polling_interval=_timespan(queues, "maxPollingInterval", "00:01:00", QUEUES),
        ),
    )


def _int(section: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = section.get(key, default)
    if not isinstance(value, int) or not low <= value <= high:
        raise ConfigError([(f"host.json {QUEUES}{key}", repr(value), f"a whole number from {low} to {high}")])
    return value


def _timespan(section: dict[str, Any], key: str, default: str, where: str = "") -> float:
    value = section.get(key, default)
    try:
        return parse_timespan(str(value))
    except ValueError:
        raise ConfigError([(f"host.json {where}{key}", repr(value), "a timespan like 00:05:00")]) from None
