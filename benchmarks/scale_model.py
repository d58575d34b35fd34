"""A million mailboxes on paper: what one deployment asks of Graph, Storage, Functions and Key Vault, and costs.

Inputs are the load (mailboxes, tenants, calendar changes per mailbox per day, a peak factor over the daily
average) and the product's settings that drive background work (catch-up period, presence poll period,
subscription lifetime, data-key cache). Per-change costs are the ones measured on this machine
(``benchmarks/README.md``: one Graph GET per change, two table operations, the product's own CPU per change);
limits are the published ones, and unit prices are in ``PRICES``, one table, to be checked against the Azure
pricing calculator for the region and redundancy chosen (they were not fetched from this machine).

Where a limit is crossed, the model says how many shards it takes: storage accounts and queues are sharded by
a hash of the tenant id, so one tenant's mailboxes stay together (docs/scale.md).

    python benchmarks/scale_model.py                       # 1,000,000 mailboxes, 20 changes/day, peak x5
    python benchmarks/scale_model.py --mailboxes 50000 --tenants 40 --changes-per-day 40 --peak 8
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.stack import report  # noqa: E402

DAY = 86_400.0
MONTH_SECONDS = 30 * DAY

MEASURED = {
    "graph_gets_per_change": 1.0,  # pipeline.py: 1.00 GET per distinct change (0 for a duplicate)
    "table_ops_per_change": 2.0,  # pipeline.py: the occurrence row and the mailbox's state, per change
    "queue_ops_per_change": 2.2,  # one put (shared by a POST's group commit), a 1/16 share of a get, one delete
    "cpu_ms_per_change": 8.0,  # pipeline.py: the product's own CPU per change, front + worker (7.5 measured)
    "telemetry_kb_per_change": 3.0,  # telemetry.py: about 3 spans and a few metric points per change
}

LIMITS = {
    "graph_app_per_10s": 130_000,  # Graph: requests per 10 s per app, across all tenants
    "graph_mailbox_per_10min": 10_000,  # Outlook: requests per 10 min per app and mailbox (and 4 at once)
    "graph_subscription_writes_per_20s_tenant": 1_000,  # subscriptions: writes per 20 s per app and tenant
    "storage_account_tps": 20_000,  # Azure Storage: requests per second per account
    "table_partition_tps": 2_000,  # entities per second per partition
    "queue_mps": 2_000,  # messages per second per queue
    "keyvault_rsa3072_software_per_10s": 1_000,  # wrap/unwrap per 10 s per vault, RSA 3072 software key
    "keyvault_rsa3072_hsm_per_10s": 500,
}

PRICES = {
    # USD, pay-as-you-go; a starting point to verify, not a quote
    "flex_gb_s": 0.000026,  # Flex Consumption on-demand execution time, per GB-s
    "flex_executions_per_million": 0.40,
    "flex_always_ready_baseline_gb_s": 0.000004,  # per GB-s of always-ready memory while idle
    "table_ops_per_10k": 0.00036,
    "queue_ops_per_10k": 0.004,
    "table_gb_month": 0.045,
    "keyvault_advanced_key_ops_per_10k": 0.15,  # RSA 3072 keys are "advanced" key operations
    "log_ingestion_gb": 2.30,
}
HEADROOM = 0.5
"""Plan each shard for half its limit: bursts above the modelled peak, retries and the other work sharing it."""


@dataclass(frozen=True)
class Load:
    mailboxes: int
    tenants: int
    changes_per_day: float
    peak: float
    catchup_minutes: float = 30
    presence_minutes: float = 15
    renew_every_days: float = 5.0  # subscriptions live 10,000 min and are renewed 48 h before they end
    dek_cache_seconds: float = 3600
    instance_gb: float = 2.0
    instance_cores: float = 1.0
    always_ready: int = 1
    rows_per_mailbox: int = 60  # meetings in the 38-day window, each a row and an index row
    row_kb: float = 2.0


@dataclass(frozen=True)
class Plan:
    lines: list[str]


def model(load: Load) -> list[str]:
    m = MEASURED
    changes_avg = load.mailboxes * load.changes_per_day / DAY
    changes_peak = changes_avg * load.peak
    catchup = load.mailboxes / (load.catchup_minutes * 60)
    presence = load.mailboxes / (load.presence_minutes * 60)
    renewals = load.mailboxes / (load.renew_every_days * DAY)
    graph_peak = changes_peak * m["graph_gets_per_change"] + catchup + presence + renewals
    graph_limit = LIMITS["graph_app_per_10s"] / 10
    per_mailbox_10min = (
        load.changes_per_day * load.peak / DAY * 600 * m["graph_gets_per_change"]
        + 600 / (load.catchup_minutes * 60)
        + 600 / (load.presence_minutes * 60)
    )
    renew_writes_tenant_20s = renewals / load.tenants * 20 * load.peak
    table_tps = changes_peak * m["table_ops_per_change"] + catchup * 1.0 + presence * 0.1
    queue_mps = changes_peak * m["queue_ops_per_change"] + catchup * 3 + presence * 3 / 20
    storage_tps = table_tps + queue_mps
    accounts = max(1, math.ceil(storage_tps / (LIMITS["storage_account_tps"] * HEADROOM)))
    queues = max(1, math.ceil(changes_peak / (LIMITS["queue_mps"] * HEADROOM)))
    cpu_peak = changes_peak * m["cpu_ms_per_change"] / 1000 + (catchup + presence) * 0.004
    instances = max(load.always_ready, math.ceil(cpu_peak / (load.instance_cores * 0.7)))
    kv_ops = instances * min(load.tenants, load.mailboxes) / load.dek_cache_seconds
    kv_limit = LIMITS["keyvault_rsa3072_software_per_10s"] / 10

    cpu_avg = changes_avg * m["cpu_ms_per_change"] / 1000 + (catchup + presence) * 0.004
    gb_s = cpu_avg / load.instance_cores * load.instance_gb * MONTH_SECONDS
    executions = (changes_avg + catchup + presence) * MONTH_SECONDS / 8  # messages carry several references
    table_ops_month = (changes_avg * m["table_ops_per_change"] + catchup + presence * 0.1) * MONTH_SECONDS
    queue_ops_month = (changes_avg * m["queue_ops_per_change"] + catchup * 3 + presence * 0.15) * MONTH_SECONDS
    storage_gb = load.mailboxes * load.rows_per_mailbox * 2 * load.row_kb / 1024 / 1024
    log_gb = (changes_avg + catchup) * m["telemetry_kb_per_change"] * MONTH_SECONDS / 1024 / 1024 * 0.1
    costs = {
        "Functions execution": gb_s * PRICES["flex_gb_s"] + executions / 1e6 * PRICES["flex_executions_per_million"],
        "Functions always ready": load.always_ready
        * load.instance_gb
        * MONTH_SECONDS
        * PRICES["flex_always_ready_baseline_gb_s"],
        "Table transactions": table_ops_month / 1e4 * PRICES["table_ops_per_10k"],
        "Queue transactions": queue_ops_month / 1e4 * PRICES["queue_ops_per_10k"],
        "Table capacity": storage_gb * PRICES["table_gb_month"],
        "Key Vault": kv_ops * MONTH_SECONDS / 1e4 * PRICES["keyvault_advanced_key_ops_per_10k"],
        "Logs (10% of traces sampled)": log_gb * PRICES["log_ingestion_gb"],
    }

    def verdict(value: float, limit: float, action: str = "SHARD") -> str:
        return f"{value / limit:.1%} of the limit" + ("" if value <= limit * HEADROOM else f": {action}")

    lines = [
        f"load: {load.mailboxes:,} mailboxes in {load.tenants:,} tenants, {load.changes_per_day:g} changes per "
        f"mailbox per day, peak {load.peak:g}x the average",
        f"changes: {changes_avg:,.0f}/s on average, {changes_peak:,.0f}/s at peak",
        "",
        f"Graph, per app across tenants: {graph_peak:,.0f} requests/s at peak (changes {changes_peak:,.0f}, "
        f"catch-up deltas {catchup:,.0f}, presence items {presence:,.0f}, renewals {renewals:,.1f}) against "
        f"{graph_limit:,.0f}/s: {verdict(graph_peak, graph_limit, 'OVER: lengthen the catch-up and presence periods')}",
        f"Graph, per mailbox: {per_mailbox_10min:.1f} requests per 10 min at peak against "
        f"{LIMITS['graph_mailbox_per_10min']:,}: {verdict(per_mailbox_10min, LIMITS['graph_mailbox_per_10min'])}",
        f"subscriptions: {load.mailboxes:,} (one per mailbox); renewals {renewals * DAY:,.0f}/day in "
        f"{math.ceil(renewals * DAY / 20):,} $batch requests; per tenant {renew_writes_tenant_20s:.1f} writes per 20 s "
        f"at peak against {LIMITS['graph_subscription_writes_per_20s_tenant']:,}",
        "",
        f"Storage: {storage_tps:,.0f} requests/s at peak (tables {table_tps:,.0f}, queues {queue_mps:,.0f}) against "
        f"{LIMITS['storage_account_tps']:,}/s per account: {verdict(storage_tps, LIMITS['storage_account_tps'])}; "
        f"plan {accounts} account(s) by tenant hash",
        f"table partitions: one per mailbox, {load.changes_per_day * load.peak / DAY * 2:.4f} writes/s each at peak "
        f"against {LIMITS['table_partition_tps']:,}",
        f"queue hc-changes: {changes_peak:,.0f} messages/s at peak (one reference each, the worst case) against "
        f"{LIMITS['queue_mps']:,}/s per queue: {verdict(changes_peak, LIMITS['queue_mps'])}; plan {queues} "
        "queue(s) by tenant hash",
        "",
        f"Functions: {cpu_peak:,.1f} CPU-seconds per second at peak ({MEASURED['cpu_ms_per_change']:g} ms per change "
        f"measured) -> {instances} instance(s) of {load.instance_cores:g} core(s) at 70% (Flex allows 1,000)",
        f"Key Vault: {kv_ops:.1f} unwraps/s ({instances} instances x {load.tenants:,} tenants per "
        f"{load.dek_cache_seconds:g} s data-key cache) against {kv_limit:,.0f}/s (RSA 3072 software; "
        f"{LIMITS['keyvault_rsa3072_hsm_per_10s'] / 10:,.0f}/s HSM): "
        f"{verdict(kv_ops, kv_limit, 'OVER: lengthen the data-key cache or add vaults by tenant hash')}",
        "",
        "monthly cost, USD (unit prices in PRICES, to verify for your region):",
        *(f"  {name}: {value:,.0f}" for name, value in costs.items()),
        f"  total: {sum(costs.values()):,.0f} ({sum(costs.values()) / load.mailboxes * 1000:,.2f} per 1,000 mailboxes)",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=1_000_000)
    parser.add_argument("--tenants", type=int, default=1_000)
    parser.add_argument("--changes-per-day", type=float, default=20)
    parser.add_argument("--peak", type=float, default=5)
    parser.add_argument("--catchup-minutes", type=float, default=30)
    parser.add_argument("--presence-minutes", type=float, default=15)
    args = parser.parse_args(argv)
    load = Load(
        args.mailboxes, args.tenants, args.changes_per_day, args.peak, args.catchup_minutes, args.presence_minutes
    )
    report("scale_model", model(load))
    return 0


if __name__ == "__main__":
    sys.exit(main())
