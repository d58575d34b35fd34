"""The one shape of outbound HTTP session: Graph, sign-in, Webex, health probes and Azure Storage.

requests re-reads the proxy environment (``HTTPS_PROXY``, ``NO_PROXY``, ...) and looks for a
``.netrc`` on every request. With the ~80 variables of an environment like a Functions worker's,
that is 0.5-1 ms of CPU per call, a fifth to a third of an Azure Storage call's client-side cost
(measured against Azurite). These sessions
read the environment's proxies once per host and process instead (``trust_env`` off), which keeps
what an admin sets in ``HTTPS_PROXY`` / ``NO_PROXY`` working. A session's ``verify`` wins over
``REQUESTS_CA_BUNDLE`` (psf/requests#3829): a local stand-in's certificate must not be silently
replaced by the system bundle.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

POOL_CONNECTIONS = 16
POOL_MAXSIZE = 32
"""Connections kept per host: above the dev host's 8 HTTP threads plus 24 queue workers, so that
concurrent calls to one host reuse connections instead of discarding them."""


def pooled_session(verify: str | bool = True, *, max_retries: Any = 0) -> Any:
    """A pooled ``requests.Session``: proxies from the environment read once per host, ``verify`` kept.

    ``max_retries`` goes to urllib3; callers retry on their own policy (``shared.retry``), or the Azure
    SDK's pipeline does, so the default is none.
    """
    import requests
    from requests.adapters import HTTPAdapter

    class _Session(requests.Session):
        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            if kwargs.get("verify") is None:
                kwargs["verify"] = self.verify
            if not kwargs.get("proxies"):
                kwargs["proxies"] = dict(environment_proxies(_origin(url)))
            return super().request(method, url, *args, **kwargs)

    session = _Session()
    session.trust_env = False
    session.verify = verify
    adapter = HTTPAdapter(pool_connections=POOL_CONNECTIONS, pool_maxsize=POOL_MAXSIZE, max_retries=max_retries)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@lru_cache(maxsize=256)
def environment_proxies(origin: str) -> dict[str, str]:
    """The proxies requests would take from the environment for ``origin`` (``NO_PROXY`` applied), once."""
    from requests.utils import get_environ_proxies

    return dict(get_environ_proxies(origin))
