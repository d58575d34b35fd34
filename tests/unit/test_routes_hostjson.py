"""Route templates and host.json reading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local.devhost.hostjson import load_host_json, parse_timespan
from local.devhost.routes import compile_route, match_route
from shared.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def targets(templates: list[str], path: str) -> list[tuple[str, dict[str, str]]]:
    routes = [compile_route(t, t) for t in templates]
    return [(route.target, params) for route, params in match_route(routes, path)]


def test_parameters_are_captured_and_decoded() -> None:
    assert targets(["rooms/{room}/meetings"], "/rooms/room%201/meetings") == [
        ("rooms/{room}/meetings", {"room": "room 1"})
    ]


def test_literals_are_case_insensitive_and_a_trailing_slash_is_accepted() -> None:
    assert targets(["graph/notifications"], "/Graph/Notifications/")[0][0] == "graph/notifications"


def test_most_specific_template_comes_first() -> None:
    found = targets(["items/{id}", "items/{id:int}", "items/new", "items/{*rest}"], "/items/new")
    assert [t for t, _ in found] == ["items/new", "items/{id}", "items/{*rest}"]
    assert targets(["items/{id}", "items/{id:int}"], "/items/7")[0][0] == "items/{id:int}"


def test_optional_and_catch_all_segments() -> None:
    assert targets(["files/{*path}"], "/files/a/b/c") == [("files/{*path}", {"path": "a/b/c"})]
    assert targets(["me/meetings/{id?}"], "/me/meetings") == [("me/meetings/{id?}", {})]


@pytest.mark.parametrize("template", ["x/{id:number}", "x/{broken", "x/a{b}"])
def test_bad_templates_fail_at_start_up(template: str) -> None:
    with pytest.raises(ConfigError, match="route"):
        compile_route(template, None)


@pytest.mark.parametrize(
    ("text", "seconds"), [("00:00:05", 5), ("01:02:03", 3723), ("1.00:00:00", 86400), ("00:00:00.500", 0.5)]
)
def test_timespans(text: str, seconds: float) -> None:
    assert parse_timespan(text) == seconds


def test_repository_host_json_has_production_queue_settings() -> None:
    options = load_host_json(ROOT / "host.json")
    doc = json.loads((ROOT / "host.json").read_text())
    assert doc["extensionBundle"]["id"] == "Microsoft.Azure.Functions.ExtensionBundle"
    assert options.queues.max_dequeue_count == 5
    assert options.queues.batch_size == 16 and options.queues.new_batch_threshold == 8
    assert options.route_prefix == "api" and options.function_timeout == 600
    assert doc["logging"]["applicationInsights"]["samplingSettings"]["isEnabled"] is True


@pytest.mark.parametrize(
    ("patch", "named"),
    [
        ({"functionTimeout": "ten minutes"}, "functionTimeout"),
        ({"extensions": {"queues": {"batchSize": 64}}}, "batchSize"),
    ],
)
def test_bad_host_json_names_the_property(tmp_path: Path, patch: dict, named: str) -> None:
    (tmp_path / "host.json").write_text(json.dumps({"version": "2.0"} | patch))
    with pytest.raises(ConfigError, match=named):
        load_host_json(tmp_path / "host.json")
