"""`python -m shared.parsing FILE`: the admin's view of a detection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.parsing.__main__ import main
from shared.parsing.catalogue import SERVICES, SERVICES_END, SERVICES_START
from tests.unit.parsing import invites


def test_graph_event_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    event = {
        "subject": "x",
        "location": {"displayName": "Room 1; @webex:onetime"},
        "body": {"contentType": "html", "content": invites.ZOOM_HTML},
        "onlineMeeting": None,
    }
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    assert main([str(path)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["provider"], shown["join_url"], shown["keyword"], shown["keyword_modifier"]) == (
        "zoom",
        invites.ZOOM_URL,
        "@webex",
        "onetime",
    )
    assert {c["kind"] for c in shown["candidates"]} == {"join_url", "non_join", "video_address"}


def test_online_meeting_field_is_used(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "event.json"
    path.write_text(json.dumps({"onlineMeeting": {"joinUrl": invites.TEAMS_URL}, "body": {"content": ""}}))
    assert main([str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["join_url"] == invites.TEAMS_URL


def test_html_and_text_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "body.html").write_text(invites.TEAMS_HTML)
    (tmp_path / "body.txt").write_text(invites.ZOOM_TEXT)
    assert main([str(tmp_path / "body.html")]) == 0
    assert json.loads(capsys.readouterr().out)["provider"] == "teams"
    assert main([str(tmp_path / "body.txt")]) == 0
    assert json.loads(capsys.readouterr().out)["provider"] == "zoom"


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [("{not json", "event.json", "is not JSON"), ("[1, 2]", "event.json", "must hold one Graph event object")],
)
def test_bad_files_are_clear_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, name: str, message: str
) -> None:
    (tmp_path / name).write_text(content)
    assert main([str(tmp_path / name)]) == 2
    assert message in capsys.readouterr().err


def test_missing_file_and_usage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "nope.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main([]) == 2


def test_services_list_is_the_one_the_docs_show(capsys: pytest.CaptureFixture[str]) -> None:
    """docs/join-info.md's list of supported services is written from the catalogue; this keeps it true."""
    assert main(["--services"]) == 0
    block = capsys.readouterr().out.strip()
    assert block.startswith(SERVICES_START) and block.endswith(SERVICES_END)
    shown = (Path(__file__).resolve().parents[3] / "docs" / "join-info.md").read_text(encoding="utf-8")
    start, end = shown.index(SERVICES_START), shown.index(SERVICES_END) + len(SERVICES_END)
    assert shown[start:end] == block, (
        "docs/join-info.md out of date: paste the output of python -m shared.parsing --services"
    )
    assert all(f"(`{provider}`)" in block for provider in SERVICES)
