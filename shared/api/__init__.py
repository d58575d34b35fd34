"""The product's own HTTP API: meetings lists for apps and room devices, credentials, tenant status.

``tokens`` validates users' bearer tokens, ``meetings`` builds the lists, ``service`` ties them
to storage and serves the admin routes. ``openapi.json`` describes every route of the app.
"""

from pathlib import Path

OPENAPI_PATH = Path(__file__).with_name("openapi.json")
