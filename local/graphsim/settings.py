"""``mailboxSettings``: GET and PATCH of automatic replies (out of office), time zone and language.

What Exchange does and the documentation leaves vague, reproduced here:

- Statuses come back as they were written: the documentation's own examples send ``"Scheduled"``
  and show both ``"scheduled"`` and ``"Scheduled"`` in responses, so readers must compare without
  regard to case.
- A scheduled window keeps the zone it was written in (a Windows name such as ``W. Europe Standard
  Time`` as Outlook writes it, or IANA), with seven fractional digits; readers convert it.
- After a scheduled window has ended the status stays ``scheduled`` with the old dates; nothing
  switches it back to ``disabled``.
- PATCH answers 400 ``ErrorInvalidTimeSettings`` when the start is not before the end, 400
  ``InvalidTimeZone`` ("Time Zone settings provided are invalid.") for a zone Exchange does not know,
  400 ``RequestBodyRead`` for an unknown status or a malformed date.
- A user without an Exchange Online mailbox (no licence, on-premises, soft-deleted) answers every
  mailbox request with ``MailboxNotEnabledForRESTAPI``; observed as 404 (some tenants have seen 401
  or 403 for the same code, which readers should treat alike).
- Mailbox settings offer no change notifications: a reader can only poll.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from local.graphsim.store import GraphFault, User
from shared.timezones import resolve

STATUSES = ("disabled", "alwaysenabled", "scheduled")
AUDIENCES = ("none", "contactsonly", "all")
LANGUAGES = {
    "en-US": "English (United States)",
    "en-GB": "English (United Kingdom)",
    "de-DE": "German (Germany)",
    "fr-FR": "French (France)",
    "es-ES": "Spanish (Spain)",
    "ja-JP": "Japanese (Japan)",
    "pt-BR": "Portuguese (Brazil)",
    "nl-NL": "Dutch (Netherlands)",
}
NO_EXCHANGE = ("MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")


def no_exchange() -> GraphFault:
    return GraphFault(404, *NO_EXCHANGE)


def settings_body(user: User) -> dict[str, Any]:
    locale = user.language
    return {
        "timeZone": user.time_zone,
        "automaticRepliesSetting": dict(user.automatic_replies),
        "language": {"locale": locale, "displayName": LANGUAGES.get(locale, locale)},
        "dateFormat": "M/d/yyyy",
        "timeFormat": "h:mm tt",
        "delegateMeetingMessageDeliveryOptions": "sendToDelegateOnly",
        "userPurpose": "room" if user.kind == "room" else "user",
        "workingHours": {
            "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
            "startTime": "08:00:00.0000000",
            "endTime": "17:00:00.0000000",
            "timeZone": {"name": user.time_zone},
        },
    }


def apply_patch(user: User, body: Any) -> None:
    """Check the whole PATCH first, then change the user: a refused PATCH changes nothing."""
    if not isinstance(body, dict):
        raise GraphFault(400, "RequestBodyRead", "The request body must be a mailboxSettings object.")
    replies = dict(user.automatic_replies)
    time_zone, language = user.time_zone, user.language
    if "automaticRepliesSetting" in body:
        replies.update(_replies(body["automaticRepliesSetting"]))
        _check_window(replies)
    if "timeZone" in body:
        time_zone = _zone_name(body["timeZone"])
    if "language" in body:
        locale = (body["language"] or {}).get("locale") if isinstance(body["language"], dict) else None
        if not isinstance(locale, str) or not locale:
            raise GraphFault(400, "RequestBodyRead", "language must be a localeInfo with a locale.")
        language = locale
    user.automatic_replies, user.time_zone, user.language = replies, time_zone, language


def _replies(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise GraphFault(400, "RequestBodyRead", "automaticRepliesSetting must be an object.")
    changed: dict[str, Any] = {}
    for name, item in value.items():
        if name == "status":
            if not isinstance(item, str) or item.lower() not in STATUSES:
                raise GraphFault(400, "RequestBodyRead", f"Requested value '{item}' was not found.")
        elif name == "externalAudience":
            if not isinstance(item, str) or item.lower() not in AUDIENCES:
                raise GraphFault(400, "RequestBodyRead", f"Requested value '{item}' was not found.")
        elif name in ("internalReplyMessage", "externalReplyMessage"):
            if not isinstance(item, str):
                raise GraphFault(400, "RequestBodyRead", f"{name} must be a string.")
        elif name in ("scheduledStartDateTime", "scheduledEndDateTime"):
            item = _date_time(item)
        else:
            raise GraphFault(
                400,
                "RequestBodyRead",
                f"The property '{name}' does not exist on type 'microsoft.graph.automaticRepliesSetting'.",
            )
        changed[name] = item
    return changed


def _date_time(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        raise GraphFault(400, "RequestBodyRead", "Cannot convert the literal to a dateTimeTimeZone.")
    try:
        moment = datetime.fromisoformat(value["dateTime"][:26].rstrip("Z"))
    except ValueError:
        raise GraphFault(400, "RequestBodyRead", "Cannot convert the literal to a dateTimeTimeZone.") from None
    return {
        "dateTime": moment.replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0",
        "timeZone": _zone_name(value.get("timeZone") or "UTC"),
    }


def _zone_name(name: Any) -> str:
    if not isinstance(name, str) or resolve(name).zone is None:
        raise GraphFault(400, "InvalidTimeZone", "Time Zone settings provided are invalid.")
    return name


def _check_window(replies: dict[str, Any]) -> None:
    start, end = (_moment(replies[k]) for k in ("scheduledStartDateTime", "scheduledEndDateTime"))
    if start >= end:
        raise GraphFault(400, "ErrorInvalidTimeSettings", "The start time must be before the end time.")


def _moment(value: dict[str, str]) -> datetime:
    found = resolve(value.get("timeZone"))
    assert found.zone is not None
    return datetime.fromisoformat(value["dateTime"][:26]).replace(tzinfo=found.zone)
