"""The ops CLI without a server: reading a CSV of mailboxes (malformed, oversized, hostile, broken text), the
result file, doctor's conclusions, and the commands over a fake transport with Typer's runner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hybridcal.cli import app
from hybridcal.doctor import echo_finding, health_findings, key_finding
from hybridcal.rows import MAX_ROWS, CsvError, read_rows, results, to_send, write_results

A = "5a1b2c3d-0000-4444-8888-9abcdef01234"
B = "9f8e7d6c-1111-2222-3333-444455556666"


def test_a_csv_of_mailboxes_is_read_row_by_row_with_each_problem_named() -> None:
    data = (
        f"\ufeffId,Kind,Address\n{A},user,alice@x\n{B.upper()},ROOM,\nnot-a-guid,user,\n{A},room,\n{B},printer,\n"
    ).encode()
    rows = read_rows(data)
    assert [(r.line, r.problem) for r in rows] == [
        (2, None),
        (3, None),
        (4, "id is not an object id (a GUID)"),
        (5, None),
        (6, "kind must be user or room"),
    ]
    assert to_send(rows) == [(A, "room"), (B, "room")], "a mailbox listed twice is sent once, its last kind"
    items = [
        {"mailbox": A, "state": "enabled", "error": None},
        {"mailbox": B, "state": "failed", "error": {"code": "mailbox_not_found", "description": "gone"}},
    ]
    lines = results(rows, items)
    assert [(line["line"], line["state"], line["error"]) for line in lines] == [
        ("2", "enabled", ""),
        ("3", "failed", "mailbox_not_found"),
        ("4", "not sent", "invalid_row"),
        ("5", "enabled", ""),
        ("6", "not sent", "invalid_row"),
    ]
    written = write_results(lines).splitlines()
    assert written[0] == "line,id,kind,state,error,reason" and len(written) == 6


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "id column"),
        (b"mailbox,kind\nx,user\n", "id column"),
        (b"id\n", "no rows"),
        (b"id\n\xff\xfe\n", "not UTF-8"),
        (b"id\n" + b"x" * (6 * 1024 * 1024), "over 5 MB"),
        (b"id\n" + f"{A}\n".encode() * (MAX_ROWS + 1), "more than 10000 rows"),
        (b'id\n"unterminated\n', "after line 1: unexpected end"),
        (b"id\nabc\x00\n", "NUL"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole_with_the_reason(data: bytes, problem: str) -> None:
    with pytest.raises(CsvError, match=problem):
        read_rows(data)


def test_hostile_cells_are_rows_with_problems_and_never_echoed_long() -> None:
    rows = read_rows(
        ("id,kind\n" + "=cmd|' /C calc'!A0,user\n" + "x" * 5000 + ",user\n" + "\u202e" + A + ",user\n").encode()
    )
    assert all(r.problem for r in rows) and max(len(r.mailbox) for r in rows) <= 80


def test_doctor_concludes_from_the_answers() -> None:
    body = {
        "checks": {"storage": {"ok": False, "detail": "ServiceRequestError"}, "graph": {"ok": True, "detail": "ok"}}
    }
    findings = health_findings(503, body)
    assert [(f.name, f.ok) for f in findings] == [("app", True), ("storage", False), ("graph", True)]
    assert health_findings(None, None, unreachable="did not answer")[0].ok is False
    assert echo_finding("hook", "t", 200, "t", "text/plain; charset=utf-8").ok
    for status, text, kind in ((200, "t", "application/json"), (200, "other", "text/plain"), (401, "", "")):
        assert not echo_finding("hook", "t", status, text, kind).ok
    assert not key_finding(401).ok and key_finding(404, "tenant_not_found").ok
    assert not key_finding(None, "unreachable").ok


class Answer:
    def __init__(self, status: int, body: Any = None, content_type: str = "application/json") -> None:
        self.status_code, self.body = status, body
        self.text = body if isinstance(body, str) else json.dumps(body)
        self.headers = {"Content-Type": content_type}

    def json(self) -> Any:
        if isinstance(self.body, str):
            raise ValueError("not JSON")
        return self.body


class FakeApp:
    """Answers the admin API's routes; the bulk operation finishes on the second poll."""

    def __init__(self) -> None:
        self.polls, self.calls = 0, []

    def request(self, method: str, url: str, *, params: Any, json: Any, headers: Any, timeout: float) -> Answer:
        path = url.split("7071", 1)[1]
        self.calls.append((method, path, headers.get("x-functions-key")))
        if path == "/api/health":
            return Answer(200, {"checks": {"storage": {"ok": True, "detail": "ok"}}})
        if path.startswith("/api/graph/"):
            return Answer(200, params["validationToken"], "text/plain")
        if method == "POST" and path.endswith("/mailboxes"):
            self.sent = json["mailboxes"]
            return Answer(202, {"operation": "op-1", "queued": len(json["mailboxes"])})
        if "/operations/" in path:
            self.polls += 1
            done = self.polls > 1
            items = [{"mailbox": m["id"], "state": "enabled", "error": None} for m in self.sent] if done else []
            return Answer(200, {"complete": done, "succeeded": len(items), "failed": 0, "items": items})
        return Answer(404, {"error": {"code": "tenant_not_found", "message": "no such tenant"}})


def test_doctor_and_a_csv_enable_over_a_fake_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeApp()
    monkeypatch.setattr("hybridcal.client.requests.Session", lambda: fake)
    monkeypatch.setattr("hybridcal.cli.POLL_SECONDS", 0.0)
    runner = CliRunner()
    checked = runner.invoke(app, ["doctor"])
    assert checked.exit_code == 0, checked.output
    assert "pass  notifications webhook" in checked.output and "pass  admin key" in checked.output
    listing = tmp_path / "people.csv"
    listing.write_text(f"id,kind\n{A},user\nbad,user\n")
    enabled = runner.invoke(app, ["mailboxes", "enable", "72f988bf-86f1-41af-91ab-2d7cd011db47", "--csv", str(listing)])
    assert enabled.exit_code == 1, "a row was not sent"
    assert "1 of 2 rows enabled" in enabled.output
    written = (tmp_path / "people.csv.results.csv").read_text().splitlines()
    assert written[1].startswith(f"2,{A},user,enabled") and written[2].startswith("3,bad,user,not sent")
    assert {key for _, _, key in fake.calls if key} == {"local-dev-function-key"}
    assert runner.invoke(app, ["--url", "https://hc.contoso.example", "doctor"]).exit_code == 2, "a remote needs a key"
    assert runner.invoke(app, ["mailboxes", "enable", "t"]).exit_code == 2, "a mailbox or a CSV"
