"""The commands (see the package's docstring); each is a thin layer over :mod:`hybridcal.client` and the pure
modules :mod:`hybridcal.rows` and :mod:`hybridcal.doctor`."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from hybridcal.client import AdminApiError, AdminClient
from hybridcal.doctor import Finding, echo_finding, health_findings, key_finding
from hybridcal.rows import CsvError, read_rows, results, to_send, write_results
from shared.config import DEFAULT_FUNCTION_KEY

LOCAL_URL = "http://127.0.0.1:7071"
NO_TENANT = "00000000-0000-0000-0000-000000000000"
POLL_SECONDS = 1.0

app = typer.Typer(
    help="Operate a Hybrid Calendar deployment through its admin API.", no_args_is_help=True, add_completion=False
)
tenants = typer.Typer(help="Tenants: list, status.", no_args_is_help=True)
keys = typer.Typer(help="A tenant's data keys: rotate, rewrap, shred.", no_args_is_help=True)
mailboxes = typer.Typer(help="Mailboxes: enable (one, or a CSV), disable.", no_args_is_help=True)
endpoints = typer.Typer(help="A room's webhook endpoints and their deliveries.", no_args_is_help=True)
app.add_typer(tenants, name="tenants")
app.add_typer(mailboxes, name="mailboxes")
app.add_typer(endpoints, name="endpoints")
app.add_typer(keys, name="keys")
console = Console(highlight=False)
State: dict[str, Any] = {}

Url = Annotated[str, typer.Option("--url", envvar="HC_ADMIN_URL", help="The app's base URL.")]
Key = Annotated[
    str | None,
    typer.Option("--key", envvar="HC_FUNCTION_KEY", help="The function key (make run's own on this machine)."),
]


Local = Annotated[
    bool,
    typer.Option(
        "--local",
        help="With no app running: start the Function App inside this command (HTTP on a free loopback port, "
        "queue workers, no timers) on the storage, key provider and Graph that its settings name "
        "(environment, then local.settings.json).",
    ),
]


@app.callback()
def main(ctx: typer.Context, url: Url = LOCAL_URL, key: Key = None, local: Local = False) -> None:
    if local:
        host = _app_in_process()
        ctx.call_on_close(host.stop)
        State["client"] = AdminClient(host.url, host.settings.function_key)
        return
    if key is None:
        if urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
            raise typer.BadParameter("give the deployment's function key (--key or HC_FUNCTION_KEY)")
        key = DEFAULT_FUNCTION_KEY
    State["client"] = AdminClient(url, key)


def _app_in_process() -> Any:
    """The Function App served by the dev host in this process, for one command; the admin API is then the same
    as a deployment's, and bulk operations finish because this process runs the queue workers."""
    from local.host import DevHost
    from shared.config import get_settings
    from shared.errors import ConfigError

    try:
        return DevHost(get_settings(), port=0, timers=False).start()
    except ConfigError as error:
        console.print(f"[red]error[/red] {error}", soft_wrap=True)
        raise typer.Exit(2) from None


def client() -> AdminClient:
    return State["client"]


def fail(error: AdminApiError) -> typer.Exit:
    console.print(f"[red]error[/red] {error}", soft_wrap=True)
    return typer.Exit(1)


@app.command()
def doctor() -> None:
    """Check the app and everything it depends on; exit code 1 when anything fails."""
    findings = _health() + [
        _echo("notifications webhook", "/api/graph/notifications"),
        _echo("lifecycle webhook", "/api/graph/lifecycle"),
        _key(),
    ]
    for finding in findings:
        mark = "[green]pass[/green]" if finding.ok else "[red]fail[/red]"
        console.print(f"{mark}  {finding.name}: {finding.detail}")
    if not all(f.ok for f in findings):
        raise typer.Exit(1)


def _health() -> list[Finding]:
    try:
        answer = client().health()
    except AdminApiError as error:
        return health_findings(None, None, unreachable=str(error))
    return health_findings(answer.status, answer.body)


def _echo(name: str, path: str) -> Finding:
    token = f"hybridcal-doctor-{uuid.uuid4().hex}"
    try:
        answer = client().validation_echo(path, token)
    except AdminApiError as error:
        return echo_finding(name, token, error.status or None, "", "", unreachable=None if error.status else str(error))
    return echo_finding(name, token, answer.status, answer.text, answer.content_type)


def _key() -> Finding:
    try:
        client().tenant_status(NO_TENANT)
    except AdminApiError as error:
        return key_finding(error.status, error.code)
    return key_finding(200)


@tenants.command("list")
def tenant_list() -> None:
    """Every tenant of the deployment: cloud, served or not, mailboxes."""
    try:
        found = client().tenants()
    except AdminApiError as error:
        raise fail(error) from None
    table = Table(Column("tenant", no_wrap=True, min_width=36), "cloud", "served", "mailboxes")
    for tenant in found["value"]:
        table.add_row(tenant["id"], tenant["cloud"], "yes" if tenant["enabled"] else "no", str(tenant["mailboxes"]))
    console.print(table)


@app.command()
def renew(tenant: str) -> None:
    """Renew now the tenant's subscriptions that expire within the renewal margin."""
    _operation(tenant, "renew")


@app.command("catch-up")
def catch_up(tenant: str, mailbox: Annotated[str | None, typer.Option(help="Only this mailbox, now.")] = None) -> None:
    """A delta round now for one mailbox, or queued for every mailbox of the tenant."""
    _operation(tenant, "catch-up", **({"mailbox": mailbox} if mailbox else {}))


@app.command()
def purge(tenant: str) -> None:
    """Delete now what slid out of the retention window (rows, and data keys past theirs)."""
    _operation(tenant, "purge")


@keys.command("rotate")
def keys_rotate(tenant: str) -> None:
    """Start a new data key for the tenant's new writes (old ones still open what they sealed)."""
    _operation(tenant, "keys/rotate")


@keys.command("rewrap")
def keys_rewrap(tenant: str) -> None:
    """Wrap every data key of the tenant again under the newest version of its KEK."""
    _operation(tenant, "keys/rewrap")


@keys.command("shred")
def keys_shred(tenant: str, yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False) -> None:
    """Delete every data key of the tenant: all its stored data becomes unreadable, for good."""
    if not yes and not typer.confirm(f"Make every piece of tenant {tenant}'s data unreadable, for good?"):
        raise typer.Exit(1)
    _operation(tenant, "keys/shred", confirm=tenant)


def _operation(tenant: str, operation: str, **params: str) -> None:
    try:
        answer = client().tenant_operation(tenant, operation, **params)
    except AdminApiError as error:
        raise fail(error) from None
    console.print(", ".join(f"{name} {value}" for name, value in answer.items()), soft_wrap=True)


@tenants.command("status")
def tenant_status(tenant: str) -> None:
    """The tenant's totals, and one row per mailbox."""
    try:
        status = client().tenant_status(tenant)
    except AdminApiError as error:
        raise fail(error) from None
    totals = status["totals"]
    console.print(
        f"tenant {status['tenant']}: {totals['enabled']} of {totals['mailboxes']} mailboxes enabled, "
        f"{totals['withErrors']} with errors, {totals['subscriptionsExpired']} subscriptions expired"
    )
    table = Table(
        Column("mailbox", no_wrap=True, min_width=36),
        "kind",
        "enabled",
        "subscription expires",
        "last notification",
        "last error",
    )
    for row in status["mailboxes"]:
        last = row.get("lastError") or {}
        table.add_row(
            row["id"],
            row["kind"],
            "yes" if row["enabled"] else "no",
            row.get("subscriptionExpires") or "",
            row.get("lastNotification") or "",
            str(last.get("code") or ""),
        )
    console.print(table)


@mailboxes.command("enable")
def enable(
    tenant: str,
    mailbox: Annotated[str | None, typer.Argument()] = None,
    kind: str = "user",
    csv: Annotated[Path | None, typer.Option("--csv", help="A CSV with id (and kind) columns.")] = None,
    results_file: Annotated[
        Path | None, typer.Option("--results", help="Where the per-row results go (default: FILE.results.csv).")
    ] = None,
) -> None:
    """Enable one mailbox, or every mailbox of a CSV (with a progress bar and a result file)."""
    if (mailbox is None) == (csv is None):
        raise typer.BadParameter("give either a MAILBOX or --csv FILE")
    try:
        if mailbox is not None:
            answer = client().enable(tenant, mailbox, kind)
            console.print(f"enabled {answer['mailbox']} ({answer['kind']}), subscription {answer['subscription']}")
            return
        assert csv is not None
        _enable_csv(tenant, csv, results_file or csv.with_name(csv.name + ".results.csv"))
    except AdminApiError as error:
        raise fail(error) from None


def _enable_csv(tenant: str, csv: Path, out: Path) -> None:
    try:
        rows = read_rows(csv.read_bytes())
    except (OSError, CsvError) as error:
        console.print(f"[red]error[/red] {csv.name}: {error}")
        raise typer.Exit(2) from None
    sending = to_send(rows)
    items: list[dict[str, Any]] = []
    if sending:
        queued = client().enable_many(tenant, sending)
        items = _follow(tenant, queued["operation"], len(sending))
    lines = results(rows, items)
    out.write_text(write_results(lines), encoding="utf-8")
    failed = sum(1 for line in lines if line["state"] != "enabled")
    console.print(f"{len(lines) - failed} of {len(lines)} rows enabled; results in {out}")
    if failed:
        raise typer.Exit(1)


def _follow(tenant: str, operation: str, total: int) -> list[dict[str, Any]]:
    """The operation's items once every one is finished, with a progress bar meanwhile."""
    columns = (
        TextColumn("enabling"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} failed"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("enable", total=total, failed=0)
        while True:
            status = client().operation(tenant, operation)
            progress.update(task, completed=status["succeeded"] + status["failed"], failed=status["failed"])
            if status["complete"]:
                return list(status["items"])
            time.sleep(POLL_SECONDS)


@mailboxes.command("disable")
def disable(tenant: str, mailbox: str) -> None:
    """Unsubscribe a mailbox and delete every row kept for it."""
    try:
        answer = client().disable(tenant, mailbox)
    except AdminApiError as error:
        raise fail(error) from None
    console.print(f"disabled {answer['mailbox']}: {answer['rowsRemoved']} rows removed")


@endpoints.command("list")
def list_endpoints(tenant: str, room: str) -> None:
    """A room's webhook endpoints (never their secrets)."""
    try:
        found = client().endpoints(tenant, room)
    except AdminApiError as error:
        raise fail(error) from None
    table = Table(Column("endpoint", no_wrap=True, min_width=36), "url", "enabled", "failing since", "disabled because")
    for endpoint in found.get("value", []):
        table.add_row(
            endpoint["id"],
            endpoint["url"],
            "yes" if endpoint.get("enabled") else "no",
            endpoint.get("failingSince") or "",
            endpoint.get("disabledReason") or "",
        )
    console.print(table)


@endpoints.command("deliveries")
def deliveries(tenant: str, room: str, endpoint: str) -> None:
    """An endpoint's recent delivery attempts."""
    try:
        found = client().deliveries(tenant, room, endpoint)
    except AdminApiError as error:
        raise fail(error) from None
    table = Table("when", "event", "attempt", "status", "outcome")
    for attempt in found.get("value", []):
        table.add_row(
            str(attempt.get("at") or ""),
            str(attempt.get("type") or ""),
            str(attempt.get("attempt") or ""),
            str(attempt.get("status") or ""),
            str(attempt.get("outcome") or ""),
        )
    console.print(table)
