"""Following Graph's continuation links: ``@odata.nextLink`` pages and delta rounds.

A page may be empty and still carry a nextLink; only its absence ends a listing. A delta
round ends with ``@odata.deltaLink``, the URL to store for the next round. Removed items come
as ``{"id": ..., "@removed": {"reason": ...}}``; for calendarView delta they also stand for
events that moved out of the window. A 410 or ``syncStateNotFound`` raises
:class:`~shared.errors.ResyncRequiredError` from the transport: start over without the link.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

Fetch = Callable[[str], Any]
"""GET one absolute URL and return its JSON body."""


def iterate_pages(first_url: str, fetch: Fetch) -> Iterator[dict[str, Any]]:
    """Every item of every page, following ``@odata.nextLink`` until a page has none."""
    url: str | None = first_url
    while url:
        page = fetch(url)
        yield from page.get("value", [])
        url = page.get("@odata.nextLink")


@dataclass(frozen=True)
class DeltaItem:
    """One entry of a delta round: an event as it is now, or the id of one that is gone."""

    id: str
    event: dict[str, Any] | None
    removed_reason: str | None = None

    @property
    def removed(self) -> bool:
        return self.event is None


class DeltaRound:
    """Iterate the items of one delta round; afterwards ``delta_link`` holds the link to store."""

    def __init__(self, first_url: str, fetch: Fetch) -> None:
        self._url: str | None = first_url
        self._fetch = fetch
        self.delta_link: str | None = None
        self.pages = 0

    def __iter__(self) -> Iterator[DeltaItem]:
        while self._url:
            page = self._fetch(self._url)
            self.pages += 1
            for item in page.get("value", []):
                yield _delta_item(item)
            self._url = page.get("@odata.nextLink")
            if not self._url:
                self.delta_link = page.get("@odata.deltaLink")


def _delta_item(item: dict[str, Any]) -> DeltaItem:
    removed = item.get("@removed")
    if removed is not None:
        return DeltaItem(str(item["id"]), None, str((removed or {}).get("reason") or "deleted"))
    return DeltaItem(str(item["id"]), item)
