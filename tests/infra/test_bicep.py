"""infra/ checked offline: every template parses (pycep-parser), checkov finds nothing it does not skip with a
reason, the app settings the Bicep sets make a configuration the product accepts in Azure, and the identity has
exactly the roles the code needs."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from pycep import BicepParser

from shared.config import SETTINGS, load_settings
from shared.identity import ROLES_NEEDED
from tests.conftest import require

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
TEMPLATES = sorted(INFRA.rglob("*.bicep"))
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
APP_SETTING = re.compile(r"\{ name: '([^']+)', value: (.+) \}")
HOST_SETTINGS = {"AzureWebJobsStorage__blobServiceUri", "AzureFunctionsJobHost__logging__logLevel__Function"}
"""Read by the Functions host, not by the product."""
EXAMPLES = {
    "AzureWebJobsStorage__clientId": "33333333-4444-4555-8666-777777777777",
    "AzureWebJobsStorage__tableServiceUri": "https://hcdemo.table.core.windows.net/",
    "AzureWebJobsStorage__queueServiceUri": "https://hcdemo.queue.core.windows.net/",
    "AzureWebJobsStorage__blobServiceUri": "https://hcdemo.blob.core.windows.net/",
    "APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=00000000-0000-4000-8000-000000000000",
    "HC_KEYVAULT_KEY_ID": "https://hc-demo.vault.azure.net/keys/hc-kek",
    "HC_DEPLOYMENT": "commercial",
    "HC_CLIENT_ID": "44444444-5555-4666-8777-888888888888",
    "HC_CLIENT_SECRET": "client-secret-that-key-vault-resolves",
    "HC_CLIENT_CERTIFICATE": "",
    "HC_USGOV_CLIENT_ID": "",
    "HC_USGOV_CLIENT_SECRET": "",
    "HC_USGOV_CLIENT_CERTIFICATE": "",
    "HC_PUBLIC_BASE_URL": "https://hc-demo-abc.azurewebsites.net",
    "HC_BUILTIN_ROOM_SECRET": "room-secret-that-key-vault-resolves",
}
"""What the Bicep expressions (parameters, outputs, Key Vault references) become in a deployment."""


def _app_settings() -> dict[str, str]:
    text = (INFRA / "modules" / "functionapp.bicep").read_text()
    block = text[text.index("var appSettings = [") : text.index("]", text.index("var appSettings = ["))]
    return {name: value for name, value in APP_SETTING.findall(block)}


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(INFRA)))
def test_every_template_parses(template: Path) -> None:
    tree = BicepParser().parse(text=template.read_text())
    assert tree.get("resources") or tree.get("modules")


def _checkov() -> tuple[dict[str, int], set[tuple[str, str, str]]]:
    done = subprocess.run(
        [str(CHECKOV), "-d", str(INFRA), "--framework", "bicep", "--skip-download", "--output", "json", "--quiet"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = json.loads(done.stdout)
    failed = {(c["check_id"], c["file_path"], c["resource"]) for c in report["results"].get("failed_checks", [])}
    return report["summary"], failed


def test_checkov_finds_no_failed_check_and_every_skip_has_a_reason() -> None:
    """Once in about 25 runs here, checkov 3.3.30 reported a failed check that the same command on the same files
    did not report again; a finding counts when a second run confirms it."""
    require(CHECKOV.exists(), "make install (checkov into .venv-checkov, from requirements-infra.txt)")
    summary, failed = _checkov()
    if failed:
        failed &= _checkov()[1]
    assert not failed and summary["parsing_errors"] == 0, failed
    assert summary["passed"] >= 30
    for template in TEMPLATES:
        for line in template.read_text().splitlines():
            if "checkov:skip=" in line:
                assert re.search(r"checkov:skip=CKV2?_AZURE_\d+: \S.{15,}", line), line


def test_the_bicep_sets_every_setting_the_product_needs_in_azure() -> None:
    settings = _app_settings()
    known = {s.name for s in SETTINGS} | HOST_SETTINGS
    assert set(settings) <= known, set(settings) - known
    literal = {name: value.strip("'") for name, value in settings.items() if re.fullmatch(r"'[^'$]*'", value)}
    assert set(settings) - set(literal) == set(EXAMPLES) - set(literal)
    values = literal | {name: EXAMPLES[name] for name in settings if name not in literal}
    loaded = load_settings(values, local_settings=Path("/nonexistent/local.settings.json"))
    assert loaded.storage_identity_based and loaded.key_provider == "keyvault" and loaded.graph_base_url == ""


def test_the_identity_has_exactly_the_roles_the_code_needs() -> None:
    text = (INFRA / "modules" / "roles.bicep").read_text()
    declared = dict(re.findall(r"(\w+): '([0-9a-f-]{36})'", text))
    assigned = {declared[key] for key in re.findall(r"roleDefinitions', roles\.(\w+)\)", text)}
    assert assigned == set(ROLES_NEEDED.values())
    main = (INFRA / "main.bicep").read_text()
    assert "roleAssignments" not in main and "Owner'" not in text and "Contributor'" not in text


def _outputs_used(node: object) -> set[tuple[str, str]]:
    """``module.outputs.name`` references anywhere in a parsed expression."""
    found: set[tuple[str, str]] = set()
    if isinstance(node, dict):
        operator = node.get("operator")
        if isinstance(operator, dict) and operator.get("type") == "property_accessor":
            first, second = operator["operands"]["operand_1"], operator["operands"]["operand_2"]
            inner = second.get("operator") if isinstance(second, dict) else None
            if isinstance(first, str) and isinstance(inner, dict) and inner["operands"]["operand_1"] == "outputs":
                found.add((first, str(inner["operands"]["operand_2"])))
        for value in node.values():
            found |= _outputs_used(value)
    elif isinstance(node, list):
        for value in node:
            found |= _outputs_used(value)
    elif isinstance(node, str):
        found |= set(re.findall(r"(\w+)\.outputs\.(\w+)", node))
    return found


def test_modules_get_the_parameters_they_declare_and_give_the_outputs_used() -> None:
    """What the Bicep compiler would refuse and pycep does not check: a parameter a module does not declare, a
    required one not passed, an output that does not exist."""
    main = BicepParser().parse(text=(INFRA / "main.bicep").read_text())
    declared_outputs: dict[str, set[str]] = {}
    for name, module in main["modules"].items():
        template = BicepParser().parse(text=(INFRA / module["detail"]["path"]).read_text())
        parameters = template.get("parameters", {})
        passed = set(module["config"]["params"])
        assert passed <= set(parameters), (name, passed - set(parameters))
        required = {p for p, spec in parameters.items() if "default" not in spec}
        assert required <= passed, (name, required - passed)
        declared_outputs[name] = set(template.get("outputs", {}))
    used = _outputs_used(main["modules"]) | _outputs_used(main.get("outputs", {}))
    assert used and all(output in declared_outputs[module] for module, output in used), used
