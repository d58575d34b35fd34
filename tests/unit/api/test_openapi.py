"""The OpenAPI description in the repo is valid OpenAPI and describes exactly the app's routes."""

from __future__ import annotations

import json
from pathlib import Path

from openapi_spec_validator import validate

from local.devhost.metadata import describe, load_app
from shared.api import OPENAPI_PATH

ROOT = Path(__file__).resolve().parents[3]
METHODS = ("get", "post", "put", "patch", "delete")


def app_routes() -> set[tuple[str, str]]:
    functions = describe(load_app(ROOT))
    return {
        (f"/api/{f.setting('route')}", str(getattr(m, "value", m)).lower())
        for f in functions
        if f.trigger_type == "httpTrigger"
        for m in f.trigger["methods"]
    }


def documented_routes() -> set[tuple[str, str]]:
    paths = json.loads(OPENAPI_PATH.read_text())["paths"]
    return {(path, method) for path, item in paths.items() for method in item if method in METHODS}


def test_the_description_is_valid_openapi() -> None:
    validate(json.loads(OPENAPI_PATH.read_text()))


def test_every_route_of_the_app_is_described_and_nothing_else() -> None:
    assert app_routes() == documented_routes()


def test_every_operation_documents_its_errors_and_path_parameters() -> None:
    document = json.loads(OPENAPI_PATH.read_text())
    for path, item in document["paths"].items():
        for method, operation in item.items():
            names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert names == {part[1:-1] for part in path.split("/") if part.startswith("{")}, (path, method)
            secured = operation["security"] != []
            assert not secured or "401" in operation["responses"], (path, method)
