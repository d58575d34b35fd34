"""For admins: why was (or wasn't) a join link found?

    python -m shared.parsing EVENT.json     # a Graph event: location, body, onlineMeeting
    python -m shared.parsing BODY.html      # an HTML body (a .txt file is read as text)
    python -m shared.parsing --services     # the supported services, as docs/join-info.md lists them

Prints the result and every candidate with where it came from, as JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from shared.parsing import extract_join_info
from shared.parsing.catalogue import services_markdown


def _event_fields(document: dict[str, Any]) -> dict[str, Any]:
    """Graph event shape: location.displayName, body.content/contentType, onlineMeeting.joinUrl."""
    location = document.get("location") or {}
    body = document.get("body") or {}
    online = document.get("onlineMeeting") or {}
    return {
        "location": location.get("displayName") if isinstance(location, dict) else str(location),
        "body": body.get("content") if isinstance(body, dict) else str(body),
        "body_type": (body.get("contentType") or "html") if isinstance(body, dict) else "text",
        "online_meeting_url": online.get("joinUrl") if isinstance(online, dict) else None,
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    if args[0] == "--services":
        print(services_markdown())
        return 0
    path = Path(args[0])
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        print(f"error: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    if path.suffix.lower() == ".json":
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            print(f"error: {path} is not JSON: {exc.msg} at line {exc.lineno}", file=sys.stderr)
            return 2
        if not isinstance(document, dict):
            print(f"error: {path} must hold one Graph event object", file=sys.stderr)
            return 2
        result = extract_join_info(**_event_fields(document))
    else:
        result = extract_join_info(None, text, "text" if path.suffix.lower() == ".txt" else "html")
    print(json.dumps(result.to_dict(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
