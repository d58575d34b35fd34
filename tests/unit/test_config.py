"""Configuration: defaults work with nothing set; each bad setting gets its own clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.config import SETTINGS, load_settings, resolve_expression
from shared.errors import ConfigError

NOWHERE = Path("/nonexistent/local.settings.json")
README = Path(__file__).resolve().parents[2] / "README.md"


def test_no_configuration_at_all_gives_a_working_local_setup() -> None:
    settings = load_settings({}, local_settings=NOWHERE)
    assert "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1" in settings.storage_connection
    assert "QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1" in settings.storage_connection
    assert (settings.log_level, settings.local_host, settings.local_port) == ("INFO", "127.0.0.1", 7071)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("AzureWebJobsStorage", "just-text", "connection string of key=value pairs"),
        ("AzureWebJobsStorage", "AccountName=x", "AccountName and AccountKey"),
        ("AzureWebJobsStorage", "AccountName=x;AccountKey=k", "DefaultEndpointsProtocol, EndpointSuffix"),
        ("HC_LOG_LEVEL", "LOUD", "one of DEBUG, INFO, WARNING, ERROR"),
        ("HC_HEALTH_TIMEOUT_SECONDS", "soon", "a number from 0.1 to 30"),
        ("HC_HEALTH_TIMEOUT_SECONDS", "99", "a number from 0.1 to 30"),
        ("HC_LOCAL_HOST", "", "a non-empty value"),
        ("HC_LOCAL_PORT", "70000", "a whole number from 0 to 65535"),
        ("HC_LOCAL_PORT", "http", "a whole number from 0 to 65535"),
        ("HC_FUNCTION_KEY", "short", "at least 16 characters"),
        ("HC_MASTER_KEY", "has spaces in the key", "at least 16 characters"),
        ("APPLICATIONINSIGHTS_CONNECTION_STRING", "IngestionEndpoint=https://x", "with InstrumentationKey="),
        ("HC_TELEMETRY", "loud", "one of off, console"),
        ("HC_LOG_FORMAT", "xml", "one of text, json"),
        ("HC_USGOV_CLIENT_ID", "usgov-app", "a GUID"),
        ("HC_CLIENT_CERTIFICATE", "-----BEGIN CERTIFICATE-----\nMIIB\n", "private key and the certificate"),
    ],
)
def test_each_invalid_setting_is_named_with_what_was_expected(name: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({name: value}, local_settings=NOWHERE)
    assert caught.value.settings == [name]
    assert f"setting {name}: found" in str(caught.value)
    assert expected in str(caught.value)


def test_every_bad_setting_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"HC_LOG_LEVEL": "x", "HC_LOCAL_PORT": "-1"}, local_settings=NOWHERE)
    assert caught.value.settings == ["HC_LOG_LEVEL", "HC_LOCAL_PORT"]


def test_secret_values_are_never_echoed() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"AzureWebJobsStorage": "AccountName=acct;AccountKey=TOPSECRET"}, local_settings=NOWHERE)
    assert "TOPSECRET" not in str(caught.value)
    assert "characters, hidden" in str(caught.value)


def test_local_settings_values_are_read_and_the_environment_wins(tmp_path: Path) -> None:
    path = tmp_path / "local.settings.json"
    path.write_text(json.dumps({"IsEncrypted": False, "Values": {"HC_LOG_LEVEL": "debug", "HC_LOCAL_PORT": 8000}}))
    settings = load_settings({"HC_LOCAL_PORT": "9000"}, local_settings=path)
    assert (settings.log_level, settings.local_port) == ("DEBUG", 9000)


@pytest.mark.parametrize("content", ["{not json", '{"Values": ["a"]}', "[]"])
def test_malformed_local_settings_file_is_a_config_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "local.settings.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match="local.settings.json"):
        load_settings({}, local_settings=path)


def test_binding_expressions_resolve_from_app_settings() -> None:
    assert resolve_expression("%A% and %B%", {"A": "1", "B": "2"}) == "1 and 2"
    assert resolve_expression("no expression", {}) == "no expression"
    with pytest.raises(ConfigError, match="setting MISSING: found nothing"):
        resolve_expression("%MISSING%", {})


def test_the_example_settings_file_is_valid_and_complete() -> None:
    example = README.parent / "local.settings.example.json"
    settings = load_settings({}, local_settings=example)
    values = json.loads(example.read_text())["Values"]
    assert {s.name for s in SETTINGS} <= values.keys()
    assert settings.local_port == 7071


def test_the_configuration_reference_documents_every_setting() -> None:
    text = (README.parent / "docs" / "configuration.md").read_text()
    assert [s.name for s in SETTINGS if f"`{s.name}`" not in text] == []


def test_default_keys_are_refused_off_loopback() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"HC_LOCAL_HOST": "0.0.0.0", "HC_MASTER_KEY": "my-own-master-key-123"}, local_settings=NOWHERE)
    assert caught.value.settings == ["HC_FUNCTION_KEY"]
    assert "not loopback" in str(caught.value)


REMOTE_STORAGE = (
    "DefaultEndpointsProtocol=https;AccountName=hcprod;AccountKey=" + "A" * 88 + ";EndpointSuffix=core.windows.net"
)
PRODUCTION = {
    "AzureWebJobsStorage": REMOTE_STORAGE,
    "HC_GRAPH_BASE_URL": "microsoft",
    "HC_CLIENT_ID": "0f0f0f0f-1234-4abc-8def-0123456789ab",
    "HC_CLIENT_SECRET": "a-real-secret",
    "HC_PUBLIC_BASE_URL": "https://contoso-hc.azurewebsites.net",
    "HC_BUILTIN_ROOM_SECRET": "a-room-secret-of-ours",
}


@pytest.mark.parametrize(
    ("values", "setting", "expected"),
    [
        ({"HC_KEY_PROVIDER": "vault"}, "HC_KEY_PROVIDER", "one of local, keyvault, awskms"),
        ({"HC_KEY_PROVIDER": "keyvault"}, "HC_KEYVAULT_KEY_ID", "because HC_KEY_PROVIDER is keyvault"),
        (
            {"HC_KEY_PROVIDER": "keyvault", "HC_KEYVAULT_KEY_ID": "http://v.vault.azure.net/keys/k"},
            "HC_KEYVAULT_KEY_ID",
            "https://<vault>.vault.azure.net/keys/<name>",
        ),
        ({"HC_KEY_PROVIDER": "awskms"}, "HC_AWS_KMS_KEY_ID", "because HC_KEY_PROVIDER is awskms"),
        ({"HC_KEY_PROVIDER": "awskms", "HC_AWS_KMS_KEY_ID": "alias/hc"}, "HC_AWS_REGION", "not an ARN"),
        ({"HC_AWS_KMS_KEY_ID": "my key"}, "HC_AWS_KMS_KEY_ID", "an AWS KMS key id"),
        (PRODUCTION, "HC_KEY_PROVIDER", "AzureWebJobsStorage is not on this machine"),
        (
            {"HC_ALLOW_LOCAL_KEY_WITH_REMOTE_STORAGE": "maybe"},
            "HC_ALLOW_LOCAL_KEY_WITH_REMOTE_STORAGE",
            "true or false",
        ),
        ({"HC_DEK_ROTATION_DAYS": "0"}, "HC_DEK_ROTATION_DAYS", "from 1 to 365"),
        ({"HC_DEK_CACHE_SECONDS": "a day"}, "HC_DEK_CACHE_SECONDS", "from 1 to 86400"),
    ],
)
def test_key_settings_are_checked_at_start_up(values: dict[str, str], setting: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(values, local_settings=NOWHERE)
    assert caught.value.settings == [setting]
    assert expected in str(caught.value)


def test_valid_key_provider_settings() -> None:
    vault = load_settings(
        PRODUCTION | {"HC_KEY_PROVIDER": "KeyVault", "HC_KEYVAULT_KEY_ID": "https://hc.vault.azure.net/keys/hc-kek"},
        local_settings=NOWHERE,
    )
    assert (vault.key_provider, vault.dek_rotation_days, vault.dek_cache_seconds) == ("keyvault", 30, 3600)
    kms = load_settings(
        {
            "HC_KEY_PROVIDER": "awskms",
            "HC_AWS_KMS_KEY_ID": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        },
        local_settings=NOWHERE,
    )
    assert kms.aws_kms_key_id.startswith("arn:aws:kms:eu-west-1")
    allowed = load_settings(PRODUCTION | {"HC_ALLOW_LOCAL_KEY_WITH_REMOTE_STORAGE": "true"}, local_settings=NOWHERE)
    assert allowed.key_provider == "local" and allowed.allow_local_key_remote is True


def test_the_stand_in_and_demo_credentials_never_serve_remote_storage() -> None:
    remote = {
        "AzureWebJobsStorage": REMOTE_STORAGE,
        "HC_KEY_PROVIDER": "awskms",
        "HC_AWS_KMS_KEY_ID": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    }
    with pytest.raises(ConfigError) as caught:
        load_settings(remote, local_settings=NOWHERE)
    assert caught.value.settings == [
        "HC_GRAPH_BASE_URL",
        "HC_CLIENT_ID",
        "HC_CLIENT_SECRET",
        "HC_BUILTIN_ROOM_SECRET",
        "HC_PUBLIC_BASE_URL",
    ]
    assert "graphsim-demo-client-secret" not in str(caught.value) and "local-dev-room-secret" not in str(caught.value)
    settings = load_settings(remote | PRODUCTION | {"HC_KEY_PROVIDER": "awskms"}, local_settings=NOWHERE)
    assert (settings.graph_base_url, settings.deployment) == ("", "commercial")


@pytest.mark.parametrize(
    ("values", "setting", "expected"),
    [
        ({"HC_GRAPH_BASE_URL": "http://127.0.0.1:7072"}, "HC_GRAPH_BASE_URL", "the https URL of a Graph stand-in"),
        ({"HC_CLIENT_ID": "my-app"}, "HC_CLIENT_ID", "a GUID"),
        ({"HC_DEPLOYMENT": "dod"}, "HC_DEPLOYMENT", "one of commercial, government"),
        ({"HC_GRAPH_TIMEOUT_SECONDS": "0"}, "HC_GRAPH_TIMEOUT_SECONDS", "from 1 to 120"),
    ],
)
def test_graph_settings_are_checked_at_start_up(values: dict[str, str], setting: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(values, local_settings=NOWHERE)
    assert caught.value.settings == [setting] and expected in str(caught.value)


@pytest.mark.parametrize(
    ("values", "setting", "expected"),
    [
        ({"HC_API_AUDIENCE": " , "}, "HC_API_AUDIENCE", "one or more audiences"),
        ({"HC_API_SCOPE": "Meetings Read"}, "HC_API_SCOPE", "a scope name"),
        ({"HC_JOIN_LEAD_MINUTES": "90"}, "HC_JOIN_LEAD_MINUTES", "from 0 to 60"),
        ({"HC_MEETINGS_PAGE_SIZE": "0"}, "HC_MEETINGS_PAGE_SIZE", "from 1 to 1000"),
        ({"HC_BUILTIN_MEETING_URL": "http://meet.example"}, "HC_BUILTIN_MEETING_URL", "an https URL"),
        ({"HC_BUILTIN_SIP_DOMAIN": "not a domain"}, "HC_BUILTIN_SIP_DOMAIN", "a domain name"),
        ({"HC_BUILTIN_ROOM_SECRET": "short"}, "HC_BUILTIN_ROOM_SECRET", "at least 16 characters"),
    ],
)
def test_api_and_scheduling_settings_are_checked_at_start_up(
    values: dict[str, str], setting: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(values, local_settings=NOWHERE)
    assert caught.value.settings == [setting] and expected in str(caught.value)
    assert "short" not in str(caught.value) or setting != "HC_BUILTIN_ROOM_SECRET"


def test_api_and_scheduling_settings_have_working_defaults() -> None:
    settings = load_settings(
        {"HC_API_AUDIENCE": "api://hc, 0f0f0f0f-1234-4abc-8def-0123456789ab"}, local_settings=NOWHERE
    )
    assert settings.api_audiences == ("api://hc", "0f0f0f0f-1234-4abc-8def-0123456789ab")
    assert (settings.api_scope, settings.join_lead_minutes, settings.meetings_page_size) == ("Meetings.Read", 5, 100)
    assert (settings.builtin_meeting_url, settings.builtin_sip_domain) == ("https://meet.jit.si", "")


def test_an_azure_government_registration_needs_a_secret_or_a_certificate() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"HC_USGOV_CLIENT_ID": "22222222-3333-4444-8555-666666666666"}, local_settings=NOWHERE)
    assert caught.value.settings == ["HC_USGOV_CLIENT_SECRET"]
    assert "because HC_USGOV_CLIENT_ID is set" in str(caught.value)
    settings = load_settings(
        {"HC_USGOV_CLIENT_ID": "22222222-3333-4444-8555-666666666666", "HC_USGOV_CLIENT_SECRET": "s"},
        local_settings=NOWHERE,
    )
    assert settings.usgov_client_id == "22222222-3333-4444-8555-666666666666"
