"""``/api/docs``: the OpenAPI description rendered by Swagger UI, from files on this app only.

The page and its start-up script are here; Swagger UI's bundle and stylesheet come from the
``swagger-ui-dist`` npm package (``node_modules/swagger-ui-dist`` on a development machine, or
``static/swagger-ui`` beside the app where a deployment copied them). Only the names in
:data:`ASSETS` are ever served: a request names an asset, never a path. The page's Content
Security Policy allows scripts and styles from this app alone (Swagger UI sets inline styles,
so ``style-src`` also allows those), no framing, and requests only to this app.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
APP_DIR = HERE.parents[2]
"""The app's directory, from where this file sits (a setting cannot move it)."""
SWAGGER_UI_DIRS = (APP_DIR / "static" / "swagger-ui", APP_DIR / "node_modules" / "swagger-ui-dist")
ASSETS = {"swagger-ui.css": "text/css", "swagger-ui-bundle.js": "text/javascript", "init.js": "text/javascript"}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
PAGE_HEADERS = {"Content-Security-Policy": CSP, "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}


@dataclass(frozen=True)
class Asset:
    body: bytes
    mimetype: str


def page() -> Asset:
    return Asset((HERE / "index.html").read_bytes(), "text/html")


def asset(name: str) -> Asset | None:
    """The named asset, or None for any other name (or when Swagger UI's files are not installed)."""
    mimetype = ASSETS.get(name)
    if mimetype is None:
        return None
    for directory in (HERE,) if name == "init.js" else SWAGGER_UI_DIRS:
        if (directory / name).is_file():
            return Asset((directory / name).read_bytes(), mimetype)
    return None
