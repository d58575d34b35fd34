"""Every setting of the product, read and validated in one place.

Settings come from the environment (App Settings in Azure). When running locally,
``local.settings.json`` "Values" are read too, the way the Functions host does;
a variable set in the environment wins over the file. Every setting has a default
that makes the one-machine stack work with no configuration at all.

A missing or malformed setting raises :class:`~shared.errors.ConfigError` naming
each bad setting, what was found and what is expected, so start-up stops with one
clear message. Values of secret settings are never echoed.

``SETTINGS`` is the single list; docs/configuration.md's settings table and the local host's
``%NAME%`` resolution both come from it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from shared.errors import ConfigError

APP_ROOT = Path(__file__).resolve().parent.parent
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
AZURITE_PORTS = {"Blob": 10000, "Queue": 10001, "Table": 10002}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class _Invalid(ValueError):
    """Raised by a parser with the text of what was expected."""


@dataclass(frozen=True)
class Setting:
    """One setting: its environment name, the Settings attribute it fills, and how to read it."""

    name: str
    attr: str
    default: str
    expected: str
    doc: str
    parse: Callable[[str], Any] = str
    secret: bool = False

    def read(self, values: Mapping[str, str]) -> Any:
        raw = values.get(self.name, self.default)
        try:
            return self.parse(raw.strip())
        except _Invalid as exc:
            raise ConfigError([(self.name, self._shown(raw), str(exc) or self.expected)]) from None

    def _shown(self, raw: str) -> str:
        return f"<{len(raw)} characters, hidden>" if self.secret else raw


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        if not raw.lstrip("-").isdigit() or not low <= int(raw) <= high:
            raise _Invalid(f"a whole number from {low} to {high}")
        return int(raw)

    return parse


def _float_between(low: float, high: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not low <= value <= high:
            raise _Invalid(f"a number from {low:g} to {high:g}")
        return value

    return parse


def _appinsights_connection(raw: str) -> str:
    if raw and "instrumentationkey=" not in raw.lower():
        raise _Invalid()
    return raw


def _one_of(*choices: str) -> Callable[[str], str]:
    """Any case accepted; the value comes back in the case of ``choices`` (all upper or all lower)."""
    fold = str.upper if all(c.isupper() for c in choices) else str.lower

    def parse(raw: str) -> str:
        if fold(raw) not in choices:
            raise _Invalid("one of " + ", ".join(choices))
        return fold(raw)

    return parse


def _non_empty(raw: str) -> str:
    if not raw:
        raise _Invalid("a non-empty value")
    return raw


def _host_key(raw: str) -> str:
    if len(raw) < 16 or any(c.isspace() for c in raw):
        raise _Invalid("a key of at least 16 characters without spaces")
    return raw


def azurite_connection_string(queue_port: int, table_port: int, blob_port: int | None = None) -> str:
    """Connection string for an Azurite on 127.0.0.1 with the well-known development account."""
    parts = [f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY}"]
    ports = {"Queue": queue_port, "Table": table_port} | ({"Blob": blob_port} if blob_port else {})
    parts += [f"{kind}Endpoint=http://127.0.0.1:{port}/{AZURITE_ACCOUNT}" for kind, port in ports.items()]
    return ";".join(parts) + ";"


def parse_connection_string(raw: str) -> dict[str, str]:
    """``key=value;`` pairs of an Azure Storage connection string (values may contain '=')."""
    pairs = [part.split("=", 1) for part in raw.split(";") if part.strip()]
    if any(len(pair) != 2 or not pair[0].strip() for pair in pairs):
        raise _Invalid("an Azure Storage connection string of key=value pairs separated by ';'")
    return {key.strip(): value.strip() for key, value in pairs}


def loopback_storage_ports(connection: str) -> tuple[int, int] | None:
    """(queue, table) ports when both storage endpoints are on this machine (an emulator), else None."""
    parts = parse_connection_string(connection)
    urls = [urlsplit(parts.get(key, "")) for key in ("QueueEndpoint", "TableEndpoint")]
    if all(u.hostname in LOOPBACK_HOSTS and u.port for u in urls):
        return urls[0].port or 0, urls[1].port or 0
    return None


def _account_name(raw: str) -> str:
    if raw and not re.fullmatch(r"[a-z0-9]{3,24}", raw):
        raise _Invalid("a storage account name: 3 to 24 lower-case letters and digits")
    return raw


def _https_url_or_empty(raw: str) -> str:
    if raw and (urlsplit(raw).scheme != "https" or not urlsplit(raw).hostname):
        raise _Invalid()
    return raw.rstrip("/")


def _certificate_pem(raw: str) -> str:
    if raw and ("-----BEGIN CERTIFICATE-----" not in raw or "PRIVATE KEY-----" not in raw):
        raise _Invalid("PEM text holding both the private key and the certificate")
    return raw


def _storage_connection(raw: str) -> str:
    parts = parse_connection_string(raw)
    if parts.get("UseDevelopmentStorage", "").lower() == "true":
        return azurite_connection_string(AZURITE_PORTS["Queue"], AZURITE_PORTS["Table"], AZURITE_PORTS["Blob"])
    if not parts.get("AccountName") or not (parts.get("AccountKey") or parts.get("SharedAccessSignature")):
        raise _Invalid(
            "UseDevelopmentStorage=true, or a connection string with AccountName and AccountKey "
            "(or SharedAccessSignature)"
        )
    if (
        not {"TableEndpoint", "QueueEndpoint"} <= parts.keys()
        and "EndpointSuffix" not in parts
        and parts.get("DefaultEndpointsProtocol") not in ("http", "https")
    ):
        raise _Invalid("DefaultEndpointsProtocol, EndpointSuffix, or both TableEndpoint and QueueEndpoint")
    return raw


KEY_PROVIDERS = ("local", "keyvault", "awskms")


def _boolean(raw: str) -> bool:
    if raw.lower() not in ("true", "false", "1", "0", ""):
        raise _Invalid("true or false")
    return raw.lower() in ("true", "1")


def _keyvault_key_id(raw: str) -> str:
    parts = urlsplit(raw)
    key_path = re.fullmatch(r"/keys/[\w-]+(/\w+)?/?", parts.path)
    if raw and (parts.scheme != "https" or not parts.hostname or not key_path):
        raise _Invalid("a Key Vault key URL like https://<vault>.vault.azure.net/keys/<name>[/<version>]")
    return raw


def _aws_key_id(raw: str) -> str:
    forms = r"(arn:aws[\w-]*:kms:[\w-]+:\d{12}:(key|alias)/[\w/-]+|alias/[\w/-]+|[0-9a-f-]{36})"
    if raw and not re.fullmatch(forms, raw):
        raise _Invalid("an AWS KMS key id, key ARN, alias ARN or alias/<name>")
    return raw


DEPLOYMENTS = ("commercial", "government")
MICROSOFT = "microsoft"
GRAPHSIM_URL = "https://127.0.0.1:7072"
WEBEXSIM_URL = "https://127.0.0.1:7073/v1"
WEBEX_URL = "https://webexapis.com/v1"
DEMO_CLIENT_ID = "11111111-2222-4333-8444-555555555555"
DEMO_CLIENT_SECRET = "graphsim-demo-client-secret"


def _graph_base_url(raw: str) -> str:
    if raw.lower() == MICROSOFT:
        return ""
    parts = urlsplit(raw)
    if parts.scheme != "https" or not parts.hostname:
        raise _Invalid(f"`{MICROSOFT}` (Microsoft's clouds) or the https URL of a Graph stand-in")
    return raw.rstrip("/")


def _public_url(raw: str) -> str:
    parts = urlsplit(raw)
    if raw and (parts.scheme not in ("http", "https") or not parts.hostname or parts.query):
        raise _Invalid("an http(s) URL without a query, or empty")
    return raw.rstrip("/")


def _client_id(raw: str) -> str:
    if not re.fullmatch(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}", raw):
        raise _Invalid("the application (client) id of the app registration, a GUID")
    return raw.lower()


def _audiences(raw: str) -> tuple[str, ...]:
    audiences = tuple(part.strip() for part in raw.split(",") if part.strip())
    if not audiences or any(" " in a for a in audiences):
        raise _Invalid("one or more audiences (an application ID URI or a client id), separated by commas")
    return audiences


def _https_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
        raise _Invalid("an https URL without query or fragment, e.g. https://meet.jit.si")
    return raw.rstrip("/")


def _domain_or_empty(raw: str) -> str:
    if raw and not re.fullmatch(r"(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z]{2,63}", raw.lower()):
        raise _Invalid("a domain name such as sip.contoso.example, or empty")
    return raw.lower()


def _scope_name(raw: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,100}", raw):
        raise _Invalid("a scope name such as Meetings.Read (letters, digits, '.', '_', '-')")
    return raw


DEMO_ROOM_SECRET = "local-dev-room-secret"
DEFAULT_FUNCTION_KEY = "local-dev-function-key"

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "AzureWebJobsStorage",
        "storage_connection",
        "UseDevelopmentStorage=true",
        "an Azure Storage connection string",
        "Storage for tables and queues. `UseDevelopmentStorage=true` means Azurite on 127.0.0.1 "
        "ports 10000-10002 (what `make run` starts).",
        _storage_connection,
        secret=True,
    ),
    Setting(
        "AzureWebJobsStorage__accountName",
        "storage_account_name",
        "",
        "a storage account name, or empty",
        "Identity-based storage (used when AzureWebJobsStorage is not set): the account, reached at "
        "`https://{name}.table.core.windows.net` and `.queue.`; the app and the Functions host then authenticate "
        "with a token (see AzureWebJobsStorage__credential), not a key.",
        _account_name,
    ),
    Setting(
        "AzureWebJobsStorage__tableServiceUri",
        "storage_table_uri",
        "",
        "an https URL, or empty",
        "Identity-based storage outside Azure commercial (e.g. `https://{name}.table.core.usgovcloudapi.net`): "
        "the table endpoint, instead of AzureWebJobsStorage__accountName.",
        _https_url_or_empty,
    ),
    Setting(
        "AzureWebJobsStorage__queueServiceUri",
        "storage_queue_uri",
        "",
        "an https URL, or empty",
        "Identity-based storage outside Azure commercial: the queue endpoint, with __tableServiceUri.",
        _https_url_or_empty,
    ),
    Setting(
        "AzureWebJobsStorage__credential",
        "storage_credential",
        "",
        "managedidentity, or empty",
        "Identity-based storage: `managedidentity` in Azure (with __clientId for a user-assigned identity); empty "
        "uses DefaultAzureCredential (a developer's Azure CLI sign-in, say). Key Vault uses the same credential.",
        lambda raw: _one_of("managedidentity")(raw) if raw else "",
    ),
    Setting(
        "AzureWebJobsStorage__clientId",
        "storage_client_id",
        "",
        "a GUID, or empty",
        "The user-assigned managed identity's client id, for storage and Key Vault.",
        lambda raw: _client_id(raw) if raw else "",
    ),
    Setting(
        "HC_LOG_LEVEL",
        "log_level",
        "INFO",
        "one of " + ", ".join(LOG_LEVELS),
        "Local dev host only: level of the console log. In Azure, host.json `logging.logLevel` decides.",
        _one_of(*LOG_LEVELS),
    ),
    Setting(
        "HC_HEALTH_TIMEOUT_SECONDS",
        "health_timeout",
        "2",
        "a number from 0.1 to 30",
        "How long `/api/health` waits for each dependency before calling it down.",
        _float_between(0.1, 30),
    ),
    Setting(
        "HC_LOCAL_HOST",
        "local_host",
        "127.0.0.1",
        "an IP address or host name",
        "Local dev host only: address the HTTP triggers are served on.",
        _non_empty,
    ),
    Setting(
        "HC_LOCAL_PORT",
        "local_port",
        "7071",
        "a whole number from 0 to 65535",
        "Local dev host only: port the HTTP triggers are served on (0 picks a free port).",
        _int_between(0, 65535),
    ),
    Setting(
        "HC_FUNCTION_KEY",
        "function_key",
        DEFAULT_FUNCTION_KEY,
        "at least 16 characters",
        "Local dev host only: the key that `authLevel: function` routes accept (`x-functions-key` "
        "header or `code` query). In Azure the Functions host manages keys.",
        _host_key,
        secret=True,
    ),
    Setting(
        "HC_MASTER_KEY",
        "master_key",
        "local-dev-master-key",
        "at least 16 characters",
        "Local dev host only: the admin (master) key; accepted by every route, required by `authLevel: admin` routes.",
        _host_key,
        secret=True,
    ),
    Setting(
        "HC_KEY_PROVIDER",
        "key_provider",
        "local",
        "one of " + ", ".join(KEY_PROVIDERS),
        "Where the key-encryption key (KEK) lives: `local` (a JWK file, one machine only), `keyvault` "
        "(Azure Key Vault, managed identity) or `awskms` (AWS KMS).",
        _one_of(*KEY_PROVIDERS),
    ),
    Setting(
        "HC_LOCAL_KEY_FILE",
        "local_key_file",
        ".hc/local-kek.json",
        "a file path",
        "`local` provider: the JWK file holding the KEK; created with mode 0600 on first use. A relative "
        "path is relative to the app directory.",
        _non_empty,
    ),
    Setting(
        "HC_ALLOW_LOCAL_KEY_WITH_REMOTE_STORAGE",
        "allow_local_key_remote",
        "false",
        "true or false",
        "Allow the `local` provider with storage that is not on this machine (refused by default: the "
        "key would sit beside the data it protects).",
        _boolean,
    ),
    Setting(
        "HC_KEYVAULT_KEY_ID",
        "keyvault_key_id",
        "",
        "a Key Vault key URL",
        "`keyvault` provider: the KEK's URL, best without a version so that rotations in Key Vault are "
        "picked up, e.g. `https://contoso-hc.vault.azure.net/keys/hc-kek`.",
        _keyvault_key_id,
    ),
    Setting(
        "HC_AWS_KMS_KEY_ID",
        "aws_kms_key_id",
        "",
        "an AWS KMS key id, ARN or alias",
        "`awskms` provider: the KMS key (credentials come from the usual AWS environment).",
        _aws_key_id,
    ),
    Setting(
        "HC_AWS_REGION",
        "aws_region",
        "",
        "an AWS region name",
        "`awskms` provider: the region, when the key id is not an ARN that names it.",
        str,
    ),
    Setting(
        "HC_DEK_ROTATION_DAYS",
        "dek_rotation_days",
        "30",
        "a whole number from 1 to 365",
        "Days a tenant's data key encrypts new data before a new one is made. Old keys are kept for the "
        "retention window (38 days) plus 7 days more, then deleted.",
        _int_between(1, 365),
    ),
    Setting(
        "HC_DEK_CACHE_SECONDS",
        "dek_cache_seconds",
        "3600",
        "a whole number from 1 to 86400",
        "How long an unwrapped data key stays in memory; key-provider calls scale with tenants per this "
        "period, never with rows.",
        _int_between(1, 86400),
    ),
    Setting(
        "HC_DEPLOYMENT",
        "deployment",
        "commercial",
        "one of " + ", ".join(DEPLOYMENTS),
        "Which Office 365 instances this deployment serves: `commercial` (Worldwide tenants) or `government` "
        "(GCC and GCC High). Tenants of any other instance are refused with the reason.",
        _one_of(*DEPLOYMENTS),
    ),
    Setting(
        "HC_GRAPH_BASE_URL",
        "graph_base_url",
        GRAPHSIM_URL,
        f"`{MICROSOFT}` or an https URL",
        f"`{MICROSOFT}` for Microsoft's sign-in and Graph (each tenant's national cloud is found from its OpenID "
        "configuration); otherwise the URL of the local Graph stand-in that `make run` starts.",
        _graph_base_url,
    ),
    Setting(
        "HC_GRAPH_CA_BUNDLE",
        "graph_ca_bundle",
        ".hc/graphsim/cert.pem",
        "a file path",
        "Stand-in only: the certificate to trust for HC_GRAPH_BASE_URL (relative to the app directory).",
        _non_empty,
    ),
    Setting(
        "HC_CLIENT_ID",
        "client_id",
        DEMO_CLIENT_ID,
        "a GUID",
        "The app registration's application (client) id.",
        _client_id,
    ),
    Setting(
        "HC_CLIENT_SECRET",
        "client_secret",
        DEMO_CLIENT_SECRET,
        "a client secret",
        "The app registration's client secret (ignored when HC_CLIENT_CERTIFICATE_FILE is set).",
        str,
        secret=True,
    ),
    Setting(
        "HC_CLIENT_CERTIFICATE_FILE",
        "client_certificate_file",
        "",
        "a PEM file with key and certificate",
        "Use a certificate instead of a secret: a PEM file holding the private key and its certificate (the "
        "thumbprint is computed from it).",
        str,
    ),
    Setting(
        "HC_CLIENT_CERTIFICATE",
        "client_certificate",
        "",
        "a PEM text with private key and certificate, or empty",
        "The certificate as text instead of a file: in Azure a Key Vault reference to the certificate "
        "`hc-client-certificate` imported in PEM format (docs/deploy.md). Wins over the file and the secret.",
        _certificate_pem,
        secret=True,
    ),
    Setting(
        "HC_USGOV_CLIENT_ID",
        "usgov_client_id",
        "",
        "a GUID, or empty",
        "Government deployments: the application (client) id of the app registered in Azure Government, which GCC "
        "High tenants sign in through (an app registered in Azure commercial, HC_CLIENT_ID, is unknown there). "
        "Empty: GCC High tenants are refused at onboarding with this explanation.",
        lambda raw: _client_id(raw) if raw else "",
    ),
    Setting(
        "HC_USGOV_CLIENT_SECRET",
        "usgov_client_secret",
        "",
        "a client secret, or empty",
        "The Azure Government registration's client secret (ignored when HC_USGOV_CLIENT_CERTIFICATE_FILE is set).",
        str,
        secret=True,
    ),
    Setting(
        "HC_USGOV_CLIENT_CERTIFICATE_FILE",
        "usgov_client_certificate_file",
        "",
        "a PEM file with key and certificate, or empty",
        "The Azure Government registration's certificate instead of a secret (a PEM file with key and certificate).",
        str,
    ),
    Setting(
        "HC_USGOV_CLIENT_CERTIFICATE",
        "usgov_client_certificate",
        "",
        "a PEM text with private key and certificate, or empty",
        "The Azure Government registration's certificate as text (a Key Vault reference to "
        "`hc-usgov-client-certificate` in Azure).",
        _certificate_pem,
        secret=True,
    ),
    Setting(
        "HC_GRAPH_TIMEOUT_SECONDS",
        "graph_timeout",
        "30",
        "a number from 1 to 120",
        "Timeout of each Graph and sign-in request.",
        _float_between(1, 120),
    ),
    Setting(
        "HC_PUBLIC_BASE_URL",
        "public_base_url",
        "",
        "an http(s) URL, or empty",
        "Where Graph reaches this app: subscriptions get `{this}/api/graph/notifications` and "
        "`{this}/api/graph/lifecycle`. Must be https in Azure (e.g. `https://contoso-hc.azurewebsites.net`); "
        "empty means the local host's own address.",
        _public_url,
    ),
    Setting(
        "HC_WINDOW_PAST_DAYS",
        "window_past_days",
        "7",
        "a whole number from 0 to 31",
        "Meetings kept this many days back; older rows are purged.",
        _int_between(0, 31),
    ),
    Setting(
        "HC_WINDOW_FUTURE_DAYS",
        "window_future_days",
        "31",
        "a whole number from 1 to 90",
        "Meetings kept this many days ahead; the daily catch-up brings in what enters the horizon.",
        _int_between(1, 90),
    ),
    Setting(
        "HC_SUBSCRIPTION_MINUTES",
        "subscription_minutes",
        "10000",
        "a whole number from 60 to 10000",
        "Lifetime asked for each subscription. Graph allows at most 10,080 minutes for events, counted on its "
        "own clock; the 80 minutes kept back absorb clock skew (Graph stores the expiry it grants).",
        _int_between(60, 10000),
    ),
    Setting(
        "HC_CATCHUP_MINUTES",
        "catchup_minutes",
        "30",
        "a number of minutes from 0.25 to 1440",
        "Every enabled mailbox gets a delta round from its stored link at least this often, spread evenly over "
        "the period: whatever Graph failed to deliver is restored within it, without Graph's help.",
        _float_between(0.25, 1440),
    ),
    Setting(
        "HC_RENEWAL_MARGIN_HOURS",
        "renewal_margin_hours",
        "48",
        "a whole number from 1 to 160",
        "Subscriptions expiring within this many hours are renewed by the renewal timer.",
        _int_between(1, 160),
    ),
    Setting(
        "HC_API_AUDIENCE",
        "api_audiences",
        "api://hybrid-calendar",
        "audiences separated by commas",
        "The `aud` the meetings API accepts in users' bearer tokens: the application ID URI and/or the client id "
        "of the app registration that exposes the API (Entra v2 tokens carry the client id).",
        _audiences,
    ),
    Setting(
        "HC_API_SCOPE",
        "api_scope",
        "Meetings.Read",
        "a scope name",
        "The delegated scope (`scp`) a user's token must carry to read `/api/me/meetings`.",
        _scope_name,
    ),
    Setting(
        "HC_JOIN_LEAD_MINUTES",
        "join_lead_minutes",
        "5",
        "a whole number from 0 to 60",
        "A meeting is `joinableNow`, and its Join button is pushed, from this many minutes before its start "
        "until its end.",
        _int_between(0, 60),
    ),
    Setting(
        "HC_PRESENCE_POLL_MINUTES",
        "presence_poll_minutes",
        "15",
        "a whole number from 1 to 1440",
        "Every enabled user mailbox's automatic replies (out of office) are read once per this many minutes "
        "(Graph sends no notifications for them); scheduled windows still flip on the minute.",
        _int_between(1, 1440),
    ),
    Setting(
        "HC_DELIVERY_RETRY_HOURS",
        "delivery_retry_hours",
        "26",
        "a number of hours from 0.001 to 72",
        "How long an outgoing webhook (a Join button, ...) is retried with exponential back-off before it is "
        "given up; every retry carries the same `webhook-id`.",
        _float_between(0.001, 72),
    ),
    Setting(
        "HC_DELIVERY_FIRST_RETRY_SECONDS",
        "delivery_first_retry_seconds",
        "5",
        "a whole number from 1 to 300",
        "The first retry's delay; each next one waits four times longer, at most 10 hours.",
        _int_between(1, 300),
    ),
    Setting(
        "HC_ENDPOINT_DISABLE_HOURS",
        "endpoint_disable_hours",
        "72",
        "a number of hours from 0.0005 to 720",
        "An endpoint whose deliveries have all failed for this long is disabled (the tenant status shows it).",
        _float_between(0.0005, 720),
    ),
    Setting(
        "HC_SECRET_OVERLAP_HOURS",
        "secret_overlap_hours",
        "24",
        "a number of hours from 0 to 168",
        "After an endpoint's secret is rotated, deliveries are signed with the old one too for this long.",
        _float_between(0, 168),
    ),
    Setting(
        "HC_BUILTIN_MEETING_URL",
        "builtin_meeting_url",
        "https://meet.jit.si",
        "an https URL",
        "The built-in meeting platform's base URL: keyword meetings become rooms `{this}/hc-<20 hex digits>` "
        "(a Jitsi deployment, public or your own).",
        _https_url,
    ),
    Setting(
        "HC_BUILTIN_SIP_DOMAIN",
        "builtin_sip_domain",
        "",
        "a domain name, or empty",
        "Optional: rooms of the built-in platform get the video address `hc-...@{this}` (a Jitsi SIP gateway).",
        _domain_or_empty,
    ),
    Setting(
        "HC_BUILTIN_ROOM_SECRET",
        "builtin_room_secret",
        "local-dev-room-secret",
        "at least 16 characters",
        "Secret mixed into built-in room names, so that no one can compute a person's room from their "
        "address; the published default is refused with storage that is not on this machine.",
        _host_key,
        secret=True,
    ),
    Setting(
        "HC_WEBEX_API_URL",
        "webex_api_url",
        WEBEXSIM_URL,
        "an https URL",
        f"The Webex REST API tenants' Webex meetings are made with: `{WEBEX_URL}`, or the local Webex stand-in "
        "that `make run` starts.",
        lambda raw: _https_url(raw).rstrip("/"),
    ),
    Setting(
        "HC_WEBEX_CA_BUNDLE",
        "webex_ca_bundle",
        ".hc/webexsim/cert.pem",
        "a file path",
        "Stand-in only: the certificate to trust for an HC_WEBEX_API_URL on this machine (relative to the app "
        "directory); ignored for any other host.",
        _non_empty,
    ),
    Setting(
        "HC_MEETINGS_PAGE_SIZE",
        "meetings_page_size",
        "100",
        "a whole number from 1 to 1000",
        "Meetings per page of a meetings list; longer lists carry a `nextLink`.",
        _int_between(1, 1000),
    ),
    Setting(
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "appinsights_connection",
        "",
        "an Application Insights connection string (with InstrumentationKey=), or empty",
        "Optional: traces, metrics and logs go to this Application Insights resource through OpenTelemetry "
        "(docs/operations.md). Empty: see HC_TELEMETRY.",
        _appinsights_connection,
        secret=True,
    ),
    Setting(
        "HC_TELEMETRY",
        "telemetry",
        "off",
        "one of off, console",
        "Without an Application Insights connection string: `console` prints spans and metrics (local use), "
        "`off` records nothing.",
        _one_of("off", "console"),
    ),
    Setting(
        "HC_LOG_FORMAT",
        "log_format",
        "text",
        "one of text, json",
        "Local dev host only: its console log as text or one JSON object per line (with invocation, trace and "
        "tenant ids). In Azure, logs carry these ids as Application Insights dimensions.",
        _one_of("text", "json"),
    ),
)


@dataclass(frozen=True)
class Settings:
    """Validated settings; ``values`` keeps every raw app setting for ``%NAME%`` lookups."""

    storage_connection: str
    storage_account_name: str
    storage_table_uri: str
    storage_queue_uri: str
    storage_credential: str
    storage_client_id: str
    log_level: str
    health_timeout: float
    local_host: str
    local_port: int
    function_key: str
    master_key: str
    key_provider: str
    local_key_file: str
    allow_local_key_remote: bool
    keyvault_key_id: str
    aws_kms_key_id: str
    aws_region: str
    dek_rotation_days: int
    dek_cache_seconds: int
    deployment: str
    graph_base_url: str
    graph_ca_bundle: str
    client_id: str
    client_secret: str
    client_certificate_file: str
    client_certificate: str
    usgov_client_id: str
    usgov_client_secret: str
    usgov_client_certificate_file: str
    usgov_client_certificate: str
    graph_timeout: float
    public_base_url: str
    window_past_days: int
    window_future_days: int
    subscription_minutes: int
    catchup_minutes: float
    renewal_margin_hours: int
    api_audiences: tuple[str, ...]
    api_scope: str
    join_lead_minutes: int
    presence_poll_minutes: int
    delivery_retry_hours: float
    delivery_first_retry_seconds: int
    endpoint_disable_hours: float
    secret_overlap_hours: float
    builtin_meeting_url: str
    builtin_sip_domain: str
    builtin_room_secret: str
    webex_api_url: str
    webex_ca_bundle: str
    meetings_page_size: int
    appinsights_connection: str
    telemetry: str
    log_format: str
    values: Mapping[str, str] = field(repr=False, default_factory=dict)

    def __repr__(self) -> str:
        return f"Settings(log_level={self.log_level!r}, local_port={self.local_port})"

    @property
    def storage_identity_based(self) -> bool:
        """Storage reached with a token (managed identity or developer credentials) instead of a key."""
        return "AccountKey=" not in self.storage_connection and "SharedAccessSignature=" not in self.storage_connection


def read_local_settings(path: Path) -> dict[str, str]:
    """The "Values" of a local.settings.json, as strings, the way the Functions host reads them."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError([(str(path), type(exc).__name__, "a readable JSON file")]) from None
    values = document.get("Values", {}) if isinstance(document, dict) else None
    if not isinstance(values, dict):
        raise ConfigError([(f"{path.name} Values", type(values).__name__, "a JSON object")])
    return {str(key): "" if value is None else str(value) for key, value in values.items()}


def app_settings(environ: Mapping[str, str] | None = None, *, local_settings: Path | None = None) -> dict[str, str]:
    """Environment over local.settings.json "Values" (when that file exists)."""
    path = local_settings if local_settings is not None else APP_ROOT / "local.settings.json"
    merged = read_local_settings(path) if path.is_file() else {}
    merged.update(os.environ if environ is None else environ)
    return merged


def load_settings(environ: Mapping[str, str] | None = None, *, local_settings: Path | None = None) -> Settings:
    """Read and validate every setting; raise one ConfigError naming all that are wrong."""
    values = app_settings(environ, local_settings=local_settings)
    parsed: dict[str, Any] = {}
    problems: list[tuple[str, str | None, str]] = []
    for setting in SETTINGS:
        try:
            parsed[setting.attr] = setting.read(values)
        except ConfigError as exc:
            problems += exc.problems
    if problems:
        raise ConfigError(problems)
    return _graph_rules(_registration_rules(_key_rules(_storage_rules(_checked(Settings(**parsed, values=values))))))


def _checked(settings: Settings) -> Settings:
    """Rules across settings: the published default keys only ever guard a loopback address."""
    defaults = {s.attr: s.default for s in SETTINGS}
    loopback = settings.local_host in LOOPBACK_HOSTS
    weak = [
        s.name
        for s in SETTINGS
        if s.attr in ("function_key", "master_key") and getattr(settings, s.attr) == defaults[s.attr]
    ]
    if weak and not loopback:
        raise ConfigError(
            [
                (
                    name,
                    "the published default",
                    f"a key of your own, because HC_LOCAL_HOST is {settings.local_host!r}, not loopback",
                )
                for name in weak
            ]
        )
    return settings


def _key_rules(settings: Settings) -> Settings:
    """The chosen key provider has what it needs, and a local key never guards remote storage."""
    problems: list[tuple[str, str | None, str]] = []
    if settings.key_provider == "keyvault" and not settings.keyvault_key_id:
        problems.append(("HC_KEYVAULT_KEY_ID", None, "a Key Vault key URL, because HC_KEY_PROVIDER is keyvault"))
    if settings.key_provider == "awskms" and not settings.aws_kms_key_id:
        problems.append(("HC_AWS_KMS_KEY_ID", None, "an AWS KMS key, because HC_KEY_PROVIDER is awskms"))
    if (
        settings.key_provider == "awskms"
        and settings.aws_kms_key_id
        and not (settings.aws_region or settings.aws_kms_key_id.startswith("arn:"))
    ):
        problems.append(("HC_AWS_REGION", None, "a region, because HC_AWS_KMS_KEY_ID is not an ARN"))
    remote = loopback_storage_ports(settings.storage_connection) is None
    if settings.key_provider == "local" and remote and not settings.allow_local_key_remote:
        problems.append(
            (
                "HC_KEY_PROVIDER",
                "local",
                "keyvault or awskms, because AzureWebJobsStorage is not on this "
                "machine (or set HC_ALLOW_LOCAL_KEY_WITH_REMOTE_STORAGE=true)",
            )
        )
    if problems:
        raise ConfigError(problems)
    return settings


def _storage_rules(settings: Settings) -> Settings:
    """Identity-based storage, as the Functions host reads it, when AzureWebJobsStorage itself is not set: the
    connection becomes the account's endpoints without a key (the clients then take the token credential)."""
    if "AzureWebJobsStorage" in settings.values or not (settings.storage_account_name or settings.storage_table_uri):
        return settings
    name = settings.storage_account_name
    table = settings.storage_table_uri or f"https://{name}.table.core.windows.net"
    queue = settings.storage_queue_uri or (f"https://{name}.queue.core.windows.net" if name else "")
    if not queue:
        raise ConfigError(
            [("AzureWebJobsStorage__queueServiceUri", None, "the queue endpoint, because __tableServiceUri is set")]
        )
    account = name or urlsplit(table).hostname.split(".")[0]  # type: ignore[union-attr]
    connection = f"AccountName={account};TableEndpoint={table};QueueEndpoint={queue}"
    return replace(settings, storage_connection=connection)


def _registration_rules(settings: Settings) -> Settings:
    """The Azure Government registration, when named, has a secret or a certificate."""
    if settings.usgov_client_id and not (
        settings.usgov_client_secret or settings.usgov_client_certificate_file or settings.usgov_client_certificate
    ):
        raise ConfigError(
            [
                (
                    "HC_USGOV_CLIENT_SECRET",
                    None,
                    "a client secret, or set HC_USGOV_CLIENT_CERTIFICATE_FILE, because HC_USGOV_CLIENT_ID is set",
                )
            ]
        )
    return settings


def _graph_rules(settings: Settings) -> Settings:
    """The stand-in and its published demo credentials only ever serve storage on this machine."""
    if loopback_storage_ports(settings.storage_connection) is not None:
        return settings
    problems: list[tuple[str, str | None, str]] = []
    if settings.graph_base_url:
        problems.append(
            (
                "HC_GRAPH_BASE_URL",
                settings.graph_base_url,
                f"`{MICROSOFT}`, because AzureWebJobsStorage is not on this machine (the stand-in is for local runs)",
            )
        )
    if settings.client_id == DEMO_CLIENT_ID:
        problems.append(("HC_CLIENT_ID", "the stand-in's demo app", "your app registration's client id"))
    if settings.client_secret == DEMO_CLIENT_SECRET and not (
        settings.client_certificate_file or settings.client_certificate
    ):
        problems.append(
            ("HC_CLIENT_SECRET", "the published demo secret", "your app's secret, or set HC_CLIENT_CERTIFICATE_FILE")
        )
    if settings.builtin_room_secret == DEMO_ROOM_SECRET:
        problems.append(
            (
                "HC_BUILTIN_ROOM_SECRET",
                "the published default",
                "a secret of your own (at least 16 characters), because AzureWebJobsStorage is not on this machine",
            )
        )
    if not settings.public_base_url.startswith("https://"):
        problems.append(
            (
                "HC_PUBLIC_BASE_URL",
                settings.public_base_url or None,
                "the app's https address, because Graph delivers notifications only over https",
            )
        )
    if problems:
        raise ConfigError(problems)
    return settings


def public_base_url(settings: Settings) -> str:
    """The base URL Graph posts notifications to: the setting, or the local host's own address."""
    return settings.public_base_url or f"http://{settings.local_host}:{settings.local_port}"


def app_path(value: str) -> Path:
    """A setting's file path; relative paths are under the app directory."""
    path = Path(value)
    return path if path.is_absolute() else APP_ROOT / path


def local_key_path(settings: Settings) -> Path:
    """The local KEK file; relative paths are under the app directory."""
    return app_path(settings.local_key_file)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once (app settings only change with a restart in Azure)."""
    return load_settings()


def resolve_expression(text: str, values: Mapping[str, str]) -> str:
    """Replace ``%NAME%`` with the app setting NAME, as binding expressions do in Functions.

    A name that is not set is a configuration error: a timer with no schedule or a
    trigger on no queue must stop start-up, not run on a guess.
    """

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise ConfigError([(name, None, f"an app setting, used by the binding expression {text!r}")])
        return values[name]

    return _EXPRESSION.sub(lookup, text)


_EXPRESSION = re.compile(r"%([A-Za-z_][A-Za-z0-9_.:-]*)%")
