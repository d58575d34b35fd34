"""National clouds: where a tenant signs in and which Graph it talks to.

A deployment is ``commercial`` (serves Worldwide tenants) or ``government`` (serves GCC, which
uses the Worldwide endpoints, and GCC High). DoD and China tenants are refused: their Graph
hosts and app registrations are separate, and this product is not offered there. A tenant's
instance is read from its OpenID configuration document (``cloud_instance_name``,
``tenant_region_sub_scope``, ``msgraph_host``; observed, not formally documented fields).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from shared.errors import CloudNotSupportedError


AZURE_COMMERCIAL = "AzureCloud"
AZURE_GOVERNMENT = "AzureUSGovernment"
AZURE_CHINA = "AzureChinaCloud"


@dataclass(frozen=True)
class Cloud:
    """One national cloud: its sign-in host, Graph host, the app-only scope, and the Azure environment
    (``azure``) whose Entra ID holds the app registrations that can sign in to it.

    An app registered in Azure commercial is unknown to Azure Government's sign-in and the reverse
    (AADSTS700016), so a deployment that serves GCC (Worldwide sign-in) and GCC High needs one
    registration in each.
    """

    instance: str
    login_url: str
    graph_url: str
    resource: str = ""
    azure: str = AZURE_COMMERCIAL

    @property
    def scope(self) -> str:
        """``/.default`` on this cloud's Graph: tokens are not interchangeable between clouds."""
        return f"{self.resource or self.graph_url}/.default"

    def authority(self, tenant_id: str) -> str:
        return f"{self.login_url}/{tenant_id}"


WORLDWIDE = Cloud("Worldwide", "https://login.microsoftonline.com", "https://graph.microsoft.com")
GCC = replace(WORLDWIDE, instance="GCC")
GCC_HIGH = Cloud("GCCHigh", "https://login.microsoftonline.us", "https://graph.microsoft.us", azure=AZURE_GOVERNMENT)
DOD = Cloud("DoD", "https://login.microsoftonline.us", "https://dod-graph.microsoft.us", azure=AZURE_GOVERNMENT)
CHINA = Cloud(
    "China", "https://login.partner.microsoftonline.cn", "https://microsoftgraph.chinacloudapi.cn", azure=AZURE_CHINA
)
CLOUDS = {cloud.instance: cloud for cloud in (WORLDWIDE, GCC, GCC_HIGH, DOD, CHINA)}

DEPLOYMENTS: Mapping[str, frozenset[str]] = {
    "commercial": frozenset({"Worldwide"}),
    "government": frozenset({"GCC", "GCCHigh"}),
}
_WHY = {
    "DoD": "US Government DoD tenants use dod-graph.microsoft.us and their own app registrations; "
    "this product is not offered there",
    "China": "tenants operated by 21Vianet use separate sign-in and Graph endpoints and app registrations; "
    "this product is not offered there",
}


def instance_of(openid_configuration: Mapping[str, Any]) -> str:
    """The Office 365 instance an OpenID configuration document describes."""
    name = str(openid_configuration.get("cloud_instance_name") or "").lower()
    sub_scope = str(openid_configuration.get("tenant_region_sub_scope") or "").upper()
    graph_host = str(openid_configuration.get("msgraph_host") or "").lower()
    if name.endswith("microsoftonline.cn") or name.endswith("chinacloudapi.cn") or "chinacloudapi" in graph_host:
        return "China"
    if name == "microsoftonline.us" or graph_host.endswith("microsoft.us"):
        return "DoD" if sub_scope == "DOD" or graph_host.startswith("dod-") else "GCCHigh"
    if name == "microsoftonline.de":
        return "Germany"
    return "GCC" if sub_scope == "GCC" else "Worldwide"


def cloud_for(openid_configuration: Mapping[str, Any], *, deployment: str) -> Cloud:
    """The tenant's cloud if this deployment serves it; CloudNotSupportedError saying why if not."""
    instance = instance_of(openid_configuration)
    if instance in DEPLOYMENTS[deployment]:
        return CLOUDS[instance]
    served = " and ".join(sorted(DEPLOYMENTS[deployment]))
    why = _WHY.get(instance) or (
        "Microsoft Cloud Deutschland closed on 29 October 2021"
        if instance == "Germany"
        else f"a {deployment} deployment serves {served} tenants only; use the "
        f"{'government' if deployment == 'commercial' else 'commercial'} deployment"
    )
    raise CloudNotSupportedError(
        f"tenant is in the {instance} instance, which this deployment does not serve: {why}", instance=instance
    )


def with_base_url(cloud: Cloud, base_url: str | None) -> Cloud:
    """The cloud with both hosts replaced by ``base_url`` (the local Graph stand-in), else as is."""
    if not base_url:
        return cloud
    base = base_url.rstrip("/")
    return replace(cloud, login_url=base, graph_url=base, resource=cloud.resource or cloud.graph_url)
