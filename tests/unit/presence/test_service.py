"""The presence service's wiring with fakes: one ``$batch`` per poll, a mailbox still throttled polled again
later while the others are applied, one failing mailbox recorded and never failing the poll, the round
spreading its polls over the period."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from shared.errors import ConflictError, ThrottledError
from shared.graph.batch import BatchResult
from shared.graph.errors import graph_error
from shared.presence.model import PresenceRecord
from shared.presence.service import PresenceService

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=timezone.utc)
ALWAYS = {
    "automaticRepliesSetting": {"status": "alwaysEnabled", "internalReplyMessage": "Away"},
    "language": {"locale": "en-GB"},
    "timeZone": "GMT Standard Time",
}


class Rows:
    def __init__(self) -> None:
        self.rows: dict[str, PresenceRecord] = {}
        self.saves = 0

    def get(self, tenant_id: str, mailbox_id: str) -> PresenceRecord | None:
        return self.rows.get(mailbox_id)

    def get_many(self, tenant_id: str, mailbox_ids: Any) -> dict[str, PresenceRecord]:
        return {m: self.rows[m] for m in mailbox_ids if m in self.rows}

    def save(self, record: PresenceRecord) -> None:
        held = self.rows.get(record.mailbox_id)
        if (held.etag if held else None) != record.etag:
            raise ConflictError("etag")
        self.saves += 1
        self.rows[record.mailbox_id] = PresenceRecord(**{**record.__dict__, "etag": f"e{self.saves}"})


class Graph:
    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers, self.batches = answers, []

    def batch(self, tenant_id: str, requests: list[Any]) -> dict[str, BatchResult]:
        self.batches.append([r.url for r in requests])
        results = {}
        for request in requests:
            mailbox = request.url.split("/")[2]
            answer = self.answers[mailbox]
            if isinstance(answer, Exception):
                results[request.id] = BatchResult(request.id, 429, None, {}, answer)
            elif isinstance(answer, tuple):
                status, body = answer
                results[request.id] = BatchResult(request.id, status, body, {}, graph_error(status, body, {}, what="x"))
            else:
                results[request.id] = BatchResult(request.id, 200, answer, {})
        return results


class Queues:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, int | None]] = []

    def send(self, queue: str, fields: dict[str, str], *, delay_seconds: int | None = None) -> None:
        self.sent.append((queue, json.dumps(fields), delay_seconds))

    def send_text(self, queue: str, text: str, *, delay_seconds: int | None = None) -> None:
        self.sent.append((queue, text, delay_seconds))


class Mailboxes:
    def __init__(self, ids: list[str]) -> None:
        self.ids = ids

    def list_enabled(
        self, tenant_id: str, *, kind: str, first: str | None = None, last: str | None = None
    ) -> list[str]:
        return [
            m
            for m in sorted(self.ids)
            if not m.startswith(("room", "off")) and kind == "user" and (first is None or first <= m <= str(last))
        ]


def service(answers: dict[str, Any], ids: list[str] | None = None) -> tuple[PresenceService, Rows, Graph, Queues]:
    rows, graph, queues = Rows(), Graph(answers), Queues()
    return (
        PresenceService(
            rows,
            Mailboxes(ids or list(answers)),
            graph,
            None,
            queues,  # type: ignore[arg-type]
            every=timedelta(minutes=15),
            now=lambda: NOW,
            sleep=lambda s: None,
        ),
        rows,
        graph,
        queues,
    )


def test_a_mailbox_still_throttled_is_polled_again_after_retry_after_and_the_others_are_applied() -> None:
    no_exchange = (404, {"error": {"code": "MailboxNotEnabledForRESTAPI", "message": "inactive"}})
    presence, rows, graph, queues = service(
        {"a": ALWAYS, "b": ThrottledError("busy", retry_after=7.0), "c": no_exchange}
    )
    counts = presence.poll("t", ["a", "b", "c", "off-since"])
    assert counts == {"changed": 1, "throttled": 1, "no_exchange_mailbox": 1}, "a mailbox disabled since: left out"
    assert len(graph.batches) == 1 and len(graph.batches[0]) == 3
    assert rows.rows["a"].presence.out_of_office and rows.rows["a"].language == "en-GB"
    assert rows.rows["c"].error == "no_exchange_mailbox" and "b" not in rows.rows
    ((queue, text, delay),) = queues.sent
    assert (
        queue == "hc-presence"
        and delay == 8
        and json.loads(text) == {"references": [{"tenant_id": "t", "kind": "poll", "mailbox_id": "b"}]}
    )
    saves = rows.saves
    presence.poll("t", ["a", "c"])
    assert rows.saves == saves, "nothing changed, the same error: nothing written"


def test_the_round_polls_enabled_users_only_twenty_at_a_time_spread_over_the_period() -> None:
    ids = [f"u{n:03d}" for n in range(45)] + ["room1", "off1"]
    presence, _, _, queues = service({}, ids)
    assert presence.round(["t"]) == 3
    delays = [delay for _, _, delay in queues.sent]
    assert delays == [None, 300, 600], "15 minutes / 3 polls"
    sizes = [len(json.loads(text)["references"]) for _, text, _ in queues.sent]
    assert sizes == [20, 20, 5]
    polled = [ref["mailbox_id"] for _, text, _ in queues.sent for ref in json.loads(text)["references"]]
    assert polled == sorted(polled) and "room1" not in polled and "off1" not in polled


def test_a_window_in_a_zone_not_known_warns_the_mailbox_and_is_read_as_utc() -> None:
    mars = {
        "automaticRepliesSetting": {
            "status": "scheduled",
            "scheduledStartDateTime": {"dateTime": "2026-12-04T08:00:00", "timeZone": "Mars/Olympus"},
            "scheduledEndDateTime": {"dateTime": "2026-12-04T10:00:00", "timeZone": "Mars/Olympus"},
        }
    }
    presence, rows, _, _ = service({"a": mars, "b": ALWAYS})
    warned: list[tuple[str, str, str]] = []
    presence.warn = lambda tenant, mailbox, code: warned.append((tenant, mailbox, code))
    presence.poll("t", ["a", "b"])
    assert warned == [("t", "a", "unknown_time_zone")]
    assert rows.rows["a"].presence.out_of_office and rows.rows["a"].presence.until == datetime(
        2026, 12, 4, 10, 0, tzinfo=timezone.utc
    )
