"""The built-in platform: Jitsi-style rooms on a configurable base URL, with no external call.

A room is a URL path, so "creating" one is minting an unguessable name: ``hc-`` and 20 hex
digits of a SHA-256 over the idempotency key (scheduled meetings and spaces) or over the
organizer (a personal room, the same for every ``:myroom`` meeting of that organizer). The name
is derived, not random, so a retry after a crash mints the same room. Moving a meeting changes
nothing (a room has no time); deleting one has nothing to remove. An optional SIP domain gives
each room a video address ``hc-...@domain`` (a Jitsi deployment with a SIP gateway).
"""

from __future__ import annotations

import hashlib

from shared.platforms.base import MeetingRequest, PlatformMeeting

ROOM_PREFIX = "hc-"


class BuiltinPlatform:
    """Rooms under ``base_url`` (for instance ``https://meet.jit.si`` or a self-hosted Jitsi)."""

    name = "builtin"

    def __init__(self, base_url: str, *, sip_domain: str | None = None, secret: str = "") -> None:
        self.base_url, self.sip_domain, self.secret = base_url.rstrip("/"), sip_domain or None, secret
        self.warnings: list[str] = []

    def create_meeting(self, request: MeetingRequest) -> PlatformMeeting:
        basis = (
            f"room|{request.organizer.lower()}"
            if request.kind == "personal_room"
            else f"meeting|{request.idempotency_key}"
        )
        room = ROOM_PREFIX + hashlib.sha256(f"{self.secret}|{basis}".encode()).hexdigest()[:20]
        sip = f"{room}@{self.sip_domain}" if self.sip_domain else None
        return PlatformMeeting(self.name, room, f"{self.base_url}/{room}", request.kind, sip)

    def update_meeting(self, meeting: PlatformMeeting, request: MeetingRequest) -> PlatformMeeting:
        return meeting

    def delete_meeting(self, meeting: PlatformMeeting, *, organizer: str) -> None:
        return None
