"""The plaintext scan: after a realistic run, no sensitive value is anywhere in storage, in any encoding.

Several tenants with users and rooms; invitations with subjects, organizer names, attendee
addresses, HTML bodies and join links go through join-info detection into meeting rows;
delta links and token caches are stored; change references are queued. Then every table and
queue is read raw and searched for each sensitive value and its common encodings.
"""

from __future__ import annotations

import base64
import html
import json
import secrets
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, quote_plus

from shared.parsing import extract_join_info
from shared.storage.clients import queue_client, queue_service, table_service
from shared.storage.meetings import MeetingRecord
from shared.storage.records import Mailbox, Subscription, Tenant, digest
from shared.storage.stores import Stores
from tests.storage.conftest import new_id

START = datetime(2026, 12, 2, 14, 0, tzinfo=timezone.utc)


def encodings(value: str) -> set[bytes]:
    """The value as it could leak: raw, case-folded, URL/HTML/JSON-escaped, UTF-16, hex, base64."""
    raw = value.encode("utf-8")
    forms = {
        raw,
        raw.lower(),
        raw.upper(),
        quote(value, safe="").encode(),
        quote_plus(value).encode(),
        html.escape(value).encode(),
        json.dumps(value)[1:-1].encode(),
        value.encode("utf-16-le"),
        raw.hex().encode(),
    }
    for skip in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            forms.add(encode(raw[skip:])[:-4])
    return {form for form in forms if len(form) >= 8}


def scenario(stores: Stores, queue: str) -> list[str]:
    """Write what the product writes for 3 tenants; return every sensitive value used."""
    secrets_used: list[str] = []
    for t in range(3):
        tenant, tag = new_id(), secrets.token_hex(4)
        name = f"Tenant {tag} Holdings"
        stores.tenants.save(Tenant(tenant, name))
        secrets_used.append(name)
        for m in range(3):
            mailbox, address = new_id(), f"person{m}.{tag}@tenant{t}.example.com"
            display = f"Person {m} {tag}"
            stores.mailboxes.save(Mailbox(tenant, mailbox, "room" if m == 2 else "user", address, display))
            state = f"client-state-{tag}-{m}"
            stores.subscriptions.save(Subscription(tenant, new_id(), mailbox, START, digest(state)))
            delta = f"https://graph.microsoft.com/v1.0/users/{mailbox}/calendarView/delta?$deltatoken=dt{tag}{m}"
            stores.delta_links.save(tenant, mailbox, delta)
            token = f'{{"RefreshToken": {{"secret": "0.AR8A-refresh-{tag}-{m}"}}}}'
            stores.token_caches.save(tenant, mailbox, token)
            secrets_used += [address, display, state, delta, f"0.AR8A-refresh-{tag}-{m}"]
            for e in range(3):
                secrets_used += meeting(stores, queue, tenant, mailbox, f"{tag}{m}{e}", e)
    return secrets_used


def meeting(stores: Stores, queue: str, tenant: str, mailbox: str, tag: str, day: int) -> list[str]:
    subject = f"Budget review {tag} (confidential)"
    organizer = f"Organizer {tag}"
    attendee = f"attendee.{tag}@partner.example.org"
    join = f"https://contoso.webex.com/meet/room{tag}"
    body = (
        f"<html><body><p>Agenda for {subject}</p><p>Invitees: {attendee}</p>"
        f'<a href="{join}">Join meeting</a><p>Video address: room{tag}@contoso.webex.com</p></body></html>'
    )
    info = extract_join_info("@webex", body, "html")
    event_id = f"AAMkAD{tag}=="
    start = START + timedelta(days=day)
    record = MeetingRecord(
        event_id,
        start,
        start + timedelta(hours=1),
        "Pacific Standard Time",
        subject,
        organizer,
        info.provider,
        info.join_url,
        info.sip_uri,
        f"040000008200E00074C5B7101A82E008{tag}",
        True,
        False,
    )
    stores.meetings.replace_event(tenant, mailbox, event_id, [record], change_key=f"ck{tag}", last_modified=START)
    stores.queues.send(
        queue, {"tenant_id": tenant, "mailbox_id": mailbox, "event_id": event_id, "change_type": "updated"}
    )
    assert info.join_url == join and info.sip_uri == f"room{tag}@contoso.webex.com"
    return [subject, organizer, attendee, join, info.sip_uri, body]


def raw_storage(connection: str) -> list[bytes]:
    """Every entity of every table and every message of every queue, as stored."""
    blobs: list[bytes] = []
    service = table_service(connection)
    for table in service.list_tables():
        for entity in service.get_table_client(table.name).list_entities():
            blobs.append(b"\x00".join(_bytes(v) for v in [*entity.values(), *entity.metadata.values()]))
    for item in queue_service(connection).list_queues():
        for message in queue_client(connection, item.name, base64=False).peek_messages(max_messages=32):
            blobs += [message.content.encode(), _unbase64(message.content)]
    return blobs


def _unbase64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        return b""


def _bytes(value: object) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


def test_no_sensitive_value_is_stored_in_any_encoding(stores: Stores, azurite: str) -> None:
    used = scenario(stores, "scan-" + new_id()[:8])
    stored = raw_storage(azurite)
    assert len(stored) > 100
    leaks = [
        (value[:20], form[:20]) for value in used for form in encodings(value) if any(form in blob for blob in stored)
    ]
    assert leaks == []


def test_the_scan_would_catch_a_leak(stores: Stores, azurite: str) -> None:
    leaked = f"leaked.{secrets.token_hex(4)}@contoso.example.com"
    table = stores.mailboxes.table.client
    table.upsert_entity(
        {
            "PartitionKey": "scan-self-test",
            "RowKey": new_id(),
            "Note": base64.b64encode(b"x" + leaked.encode()).decode(),
        }
    )
    stored = raw_storage(azurite)
    assert any(form in blob for form in encodings(leaked) for blob in stored)
