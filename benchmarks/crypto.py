"""What envelope encryption costs against real storage, and how many key-provider calls it makes.

1. Round-trip cost. The same meeting rows (as the meetings list stores them) are written and
   read back point by point against one Azurite, once sealed (``FieldCipher``) and once in
   clear, interleaved in rounds so machine noise hits both alike. Target (issue 5): sealing
   adds at most 10 % to the storage round trip, writes and reads each.
2. Key-provider calls. 10,000 rows across 10 tenants written through the meetings repository
   and read back by a second process view (an empty data-key cache). Target: one wrap per
   tenant to create its key and one unwrap per tenant per cache lifetime, never per row.

    python benchmarks/crypto.py       # prints the figures, writes benchmarks/results/crypto.md
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.stack import report  # noqa: E402
from local.azurite import Azurite  # noqa: E402
from shared.config import load_settings, local_key_path  # noqa: E402
from shared.crypto.providers import CountingKeyProvider, LocalKeyProvider  # noqa: E402
from shared.storage.meetings import MeetingRecord, MeetingRepository, partition_of  # noqa: E402
from shared.storage.stores import build_stores  # noqa: E402

ROWS_PER_ROUND = 200
ROUNDS = 5
TENANTS = 10
COUNT_ROWS = 10_000
TARGET_OVERHEAD = 0.10
START = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def record(i: int) -> MeetingRecord:
    start = START + timedelta(minutes=30 * i)
    return MeetingRecord(
        f"AAMkAGI2{uuid.uuid4().hex}==",
        start,
        start + timedelta(minutes=30),
        "UTC",
        f"Project review {i} with the steering group",
        f"Organizer {i}",
        "webex",
        f"https://contoso.webex.com/contoso/j.php?MTID=m{uuid.uuid4().hex}",
        f"{i}@contoso.webex.com",
        f"040000008200E00074C5B7101A82E008{i:08d}",
        True,
        False,
    )


def entities(meetings: MeetingRepository, tenant: str, mailbox: str, count: int, *, sealed: bool) -> list[dict]:
    partition = partition_of(tenant, mailbox)
    rows = [
        meetings._entity(tenant, partition, "e|bench", record(i)) if sealed else _clear(meetings, partition, record(i))
        for i in range(count)
    ]
    return rows


def _clear(meetings: MeetingRepository, partition: str, item: MeetingRecord) -> dict:
    return {
        "PartitionKey": partition,
        "RowKey": f"m|{item.start:%Y%m%dT%H%M%SZ}|{uuid.uuid4().hex}",
        "EventKey": "e|bench",
        "StartUtc": item.start,
        "EndUtc": item.end,
        "TimeZone": item.time_zone,
        "Provider": item.provider,
        "IsOnline": item.is_online,
        "IsCancelled": item.is_cancelled,
        "EventId": item.event_id,
        "ICalUId": item.ical_uid,
        "Subject": item.subject,
        "OrganizerName": item.organizer_name,
        "JoinUrl": item.join_url,
        "SipUri": item.sip_uri,
    }


def one_round(meetings: MeetingRepository, *, sealed: bool) -> tuple[float, float]:
    """Seconds per row to seal+write and to read+open ROWS_PER_ROUND rows (or the same in clear)."""
    tenant, mailbox = str(uuid.uuid4()), str(uuid.uuid4())
    client = meetings.table.client
    started = time.perf_counter()
    rows = entities(meetings, tenant, mailbox, ROWS_PER_ROUND, sealed=sealed)
    for row in rows:
        client.upsert_entity(row)
    written = time.perf_counter() - started
    started = time.perf_counter()
    for row in rows:
        entity = client.get_entity(row["PartitionKey"], row["RowKey"])
        if sealed:
            meetings.cipher.open_fields(meetings.TABLE, entity, meetings.SEALED, tenant_id=tenant)
    read = time.perf_counter() - started
    return written / ROWS_PER_ROUND, read / ROWS_PER_ROUND


def overhead(meetings: MeetingRepository) -> list[str]:
    one_round(meetings, sealed=True)
    one_round(meetings, sealed=False)
    samples: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for _ in range(ROUNDS):
        for sealed in (False, True):
            samples[sealed].append(one_round(meetings, sealed=sealed))
    med = {s: (statistics.median(w for w, _ in v), statistics.median(r for _, r in v)) for s, v in samples.items()}
    write_over = med[True][0] / med[False][0] - 1
    read_over = med[True][1] / med[False][1] - 1
    ok = write_over <= TARGET_OVERHEAD and read_over <= TARGET_OVERHEAD
    return [
        f"rows: {ROWS_PER_ROUND} meeting rows x {ROUNDS} rounds each way, one upsert / one point read per row",
        f"write in clear: {1 / med[False][0]:,.0f} rows/s ({med[False][0] * 1000:.2f} ms/row)",
        f"write sealed:   {1 / med[True][0]:,.0f} rows/s ({med[True][0] * 1000:.2f} ms/row)",
        f"read in clear:  {1 / med[False][1]:,.0f} rows/s ({med[False][1] * 1000:.2f} ms/row)",
        f"read sealed:    {1 / med[True][1]:,.0f} rows/s ({med[True][1] * 1000:.2f} ms/row)",
        f"overhead: write {write_over:+.1%}, read {read_over:+.1%} (target <= {TARGET_OVERHEAD:.0%}): "
        f"{'PASS' if ok else 'FAIL'}",
    ]


def provider_calls(settings: object, key_file: Path) -> list[str]:
    writer_provider = CountingKeyProvider(LocalKeyProvider(key_file))
    writer = build_stores(settings, provider=writer_provider)
    tenants = [(str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(TENANTS)]
    per_tenant = COUNT_ROWS // TENANTS
    started = time.perf_counter()
    for tenant, mailbox in tenants:
        for batch in range(0, per_tenant, 50):
            event = f"series-{tenant}-{batch}"
            records = [record(i) for i in range(batch, batch + 50)]
            writer.meetings.replace_event(tenant, mailbox, event, records, change_key="ck", last_modified=START)
    elapsed = time.perf_counter() - started
    reader_provider = CountingKeyProvider(LocalKeyProvider(key_file))
    reader = build_stores(settings, provider=reader_provider)
    read = sum(
        len(reader.meetings.list_meetings(t, m, start=START, end=START + timedelta(days=400))) for t, m in tenants
    )
    ok = writer_provider.wraps == TENANTS and reader_provider.unwraps == TENANTS and read == COUNT_ROWS
    return [
        f"{COUNT_ROWS:,} rows across {TENANTS} tenants written in {elapsed:.1f} s "
        f"({COUNT_ROWS / elapsed:,.0f} rows/s in transactions of 50 occurrences)",
        f"key-provider calls writing: {writer_provider.wraps} wraps, {writer_provider.unwraps} unwraps",
        f"key-provider calls reading {read:,} rows with an empty cache: {reader_provider.unwraps} unwraps "
        f"(target: one per tenant): {'PASS' if ok else 'FAIL'}",
    ]


def main() -> int:
    key_file = Path(tempfile.mkdtemp()) / "kek.json"
    with Azurite() as azurite:
        settings = load_settings(
            {"AzureWebJobsStorage": azurite.connection_string, "HC_LOCAL_KEY_FILE": str(key_file)},
            local_settings=Path("/nonexistent"),
        )
        meetings = build_stores(settings).meetings
        lines = [
            f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"Azurite in memory on this machine, local KEK at {local_key_path(settings).name}"
        ]
        lines += overhead(meetings)
        lines += provider_calls(settings, key_file)
    return report("crypto", lines)


if __name__ == "__main__":
    sys.exit(main())
