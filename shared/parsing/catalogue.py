"""The provider catalogue: one entry per meeting service, as data.

Each entry names the provider id, the hosts it serves (a regex that must match
the whole lower-cased host name), the join shapes (a regex matched at the start
of ``path?query#fragment``), and the same-domain shapes that are never a join
(help, download, dial-in, options, registration pages; rule R4). A URL on a
catalogue host that matches no join shape is reported as ``non_join`` too.
Entries are tried in order; the first whose host matches decides, so specific
hosts come before generic ones. A ``generic`` entry (self-hosted Pexip, Cisco
Meeting Server, Skype for Business on-premises: any host) claims a URL only when
one of its shapes matches.

Video-address domains map a SIP domain to a provider (rule for ``sip_uri``).
Adding a service means adding an entry here, not code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

NO_MATCH = r"(?!)"


@dataclass(frozen=True)
class Provider:
    """One service's hosts and URL shapes."""

    id: str
    hosts: re.Pattern[str]
    join: re.Pattern[str]
    non_join: re.Pattern[str]
    hints: tuple[str, ...] = ()

    @property
    def generic(self) -> bool:
        """Any host: claims a URL only when a hint occurs in its path and a shape matches."""
        return bool(self.hints)


def _entry(provider: str, hosts: str, join: str = NO_MATCH, non_join: str = NO_MATCH, *,
           hints: tuple[str, ...] = ()) -> Provider:
    return Provider(provider, re.compile(hosts), re.compile(join, re.IGNORECASE), re.compile(non_join, re.IGNORECASE),
                    hints)


END = r"(?=[/?#&]|$)"
SUB = r"(?:[a-z0-9-]+\.)*"

PROVIDERS: tuple[Provider, ...] = (
    _entry("zoom", rf"{SUB}(?:zoom\.us|zoom\.com|zoom\.com\.cn|zoom-x\.de|zoomgov\.com)",
           rf"/(?:j|w)/\d{{9,11}}{END}|/my/[\w.-]+|/wc/(?:\d{{9,11}}/join|join/\d{{9,11}}){END}"
           rf"|/join\?(?:[^#]*&)?confno=\d+",
           r"/u/|/download|/webinar/register|/s/\d|/support|/meeting/schedule"),
    _entry("zoom", rf"{SUB}zm\.page|support\.zoom\.us|applications\.zoom\.us"),
    _entry("teams", r"(?:gov\.|dod\.)?teams\.microsoft\.(?:com|us)|teams\.live\.com|teams\.cloud\.microsoft",
           r"/l/meetup-join/|/meet/\d+\?(?:[^#]*&)?p=|/dl/launcher/launcher\.html\?[^#]*type=(?:meetup-join|meet)",
           r"/meetingoptions|/l/(?:chat|channel|team|app|entity|call)/"),
    _entry("teams", r"dialin\.teams\.microsoft\.(?:com|us)|aka\.ms|dialin\.plcm\.vc|dialin\.bluejeans\.com"),
    _entry("webex", r"(?:www|help|admin|admin-usgov|web|signin|idbroker)\.webex\.com"),
    _entry("webex", r"[a-z0-9-]+\.webex\.com|[a-z0-9-]+\.webexgov\.us",
           r"/[\w-]+/j\.php\?(?:[^#]*&)?mtid=m[0-9a-f]{32}|/(?:meet|join)/[\w.-]+"
           r"|/wbxmjs/joinservice/sites/[\w-]+/meeting/download/[0-9a-f]{32}"
           r"|/webappng/sites/[\w-]+/meeting/download/[0-9a-f]{32}|/[\w-]+/m\.php\?(?:[^#]*&)?at=jm",
           r"/[\w-]+/globalcallin\.php|/msteams"),
    _entry("google_meet", r"meet\.google\.com",
           rf"/(?:_meet/)?[a-z]{{3}}-[a-z]{{4}}-[a-z]{{3}}{END}|/lookup/[\w-]+", r"/landing|/new"),
    _entry("google_meet", r"stream\.meet\.google\.com", r"/stream/[0-9a-f-]{36}"),
    _entry("google_meet", r"g\.co", r"/meet/[\w-]+"),
    _entry("google_meet", r"hangouts\.google\.com", r"/(?:call|hangouts/_)/[\w/-]+"),
    _entry("google_meet", r"duo\.app\.goo\.gl", r"/[\w-]+"),
    _entry("google_meet", r"tel\.meet|support\.google\.com"),
    _entry("gotomeeting", r"meet\.goto\.com|app\.goto\.com", rf"/(?:meeting/)?(?:\d{{9}}|[a-z][\w-]+){END}",
           r"/install|/download"),
    _entry("gotomeeting", r"(?:global\.|www\.)?gotomeeting\.com", rf"/join/\d{{9}}{END}", r"/install|/download"),
    _entry("gotomeeting", r"gotomeet\.me", r"/[\w.-]+"),
    _entry("gotomeeting", rf"{SUB}gotowebinar\.com", r"/join/\d+"),
    _entry("bluejeans", r"(?:www\.)?bluejeans\.com", rf"/\d{{6,}}(?:/\d+)?{END}", r"/download|/support"),
    _entry("chime", r"chime\.aws", rf"/\d{{10}}{END}"),
    _entry("chime", r"app\.chime\.aws", r"/meetings/[\w-]+"),
    _entry("jitsi", r"meet\.jit\.si", r"/[\w.-]+"),
    _entry("8x8", r"8x8\.vc", r"/[\w.-]+/[\w.-]+"),
    _entry("whereby", r"(?:[a-z0-9-]+\.)?whereby\.com", r"/[\w.-]+",
           r"/(?:information|user|blog|pricing|org|login|signup|support)(?:[/?#]|$)"),
    _entry("ringcentral", r"v\.ringcentral\.com|video\.ringcentral\.com", r"/join/\d+"),
    _entry("ringcentral", r"meetings\.ringcentral\.com|meetings\.officeathand\.att\.com", rf"/j/\d+{END}"),
    _entry("skype_for_business", r"meet\.lync\.com", r"/[\w.-]+/[\w.-]+/\w+"),
    _entry("skype", r"join\.skype\.com", r"/\w+"),
    _entry("lifesize", r"call\.lifesizecloud\.com", rf"/\d+{END}"),
    _entry("pexip", r"pexip\.me", r"/teams/[\w.-]+/\d+"),
    _entry("vidyo", r"[a-z0-9-]+\.vidyocloud\.com", r"/join/[\w-]+"),
    _entry("zoho", r"meeting\.zoho\.(?:com|eu|in|com\.au|jp|com\.cn)",
           r"/join\?(?:[^#]*&)?key=\d+|/meeting/[\w/-]+"),
    _entry("zoho", r"meet\.zoho\.(?:com|eu|in|com\.au|jp)", rf"/\d+{END}"),
    _entry("zoho", r"cliq\.zoho\.(?:com|eu|in|com\.au|jp)", r"/meetings/[\w-]+"),
    _entry("slack", r"app\.slack\.com", r"/huddle/T\w+/C\w+"),
    _entry("discord", r"discord\.gg", r"/[\w-]+"),
    _entry("discord", r"(?:www\.)?discord\.com", r"/invite/[\w-]+|/channels/\d+/\d+"),
    _entry("around", r"(?:meet\.)?around\.co", r"/r/[\w-]+"),
    _entry("facetime", r"facetime\.apple\.com", r"/join#"),
    _entry("tencent", r"meeting\.tencent\.com|(?:www\.)?voovmeeting\.com", r"/dm/\w+|/p/\d+"),
    _entry("lark", r"vc\.larksuite\.com", rf"/j/\d+{END}"),
    _entry("feishu", r"vc\.feishu\.cn", rf"/j/\d+{END}"),
    _entry("zhumu", r"welink\.zhumu\.com", rf"/j/\d+{END}|/wc/join/\d+\?(?:[^#]*&)?wpk="),
    _entry("yandex_telemost", r"telemost\.(?:360\.)?yandex\.ru", rf"/j/\d+{END}"),
    _entry("kontur_talk", r"[a-z0-9-]+\.ktalk\.ru", r"/[\w-]+"),
    _entry("mts_link", r"my\.mts-link\.ru", r"/j/[\w-]+/[\w-]+"),
    _entry("mts_link", r"events\.mts-link\.ru", r"/[\w-]+/[\w-]+"),
    _entry("sberjazz", r"jazz\.sber\.ru", r"/(?:#/calls/)?[\w-]+"),
    _entry("starleaf", r"meet\.starleaf\.com", rf"/\d+{END}"),
    _entry("dialpad", r"meetings\.dialpad\.com|(?:www\.)?uberconference\.com", r"/[\w.-]+"),
    _entry("dialpad", r"(?:www\.)?dialpad\.com", r"/meetings/[\w.-]+"),
    _entry("vonage", r"meetings\.vonage\.com", rf"/\d{{9}}{END}"),
    _entry("vonage", r"freeconferencing\.vonage\.com", r"/[\w.-]+"),
    _entry("joinme", r"join\.me", r"/[\w.-]+"),
    _entry("teamviewer", r"go\.teamviewer\.com|go\.blizz\.com", r"/[\w-]+"),
    _entry("vsee", r"(?:[a-z0-9-]+\.)?vsee\.com", r"/(?:u|c|r|join)/[\w.-]+"),
    _entry("workplace", r"[a-z0-9-]+\.workplace\.com", r"/groupcall/[\w-]+"),
    _entry("clickmeeting", r"[a-z0-9-]+\.clickmeeting\.com|(?:[a-z0-9-]+\.)?clickwebinar\.com", r"/[\w-]+"),
    _entry("livestorm", r"app\.livestorm\.com", r"/p/[\w-]+/live"),
    _entry("demio", r"event\.demio\.com", r"/[\w/-]+"),
    _entry("gather", r"app\.gather\.town", r"/app/[\w-]+/[\w-]+"),
    _entry("proton_meet", r"meet\.proton\.me", r"/join/[\w-]+"),
    _entry("livekit", r"meet\.livekit\.io", r"/rooms/[\w-]+"),
    _entry("cal_video", r"app\.cal\.com", r"/video/[\w-]+"),
    _entry("pumble", r"meet\.pumble\.com", rf"/[a-z]{{3}}-[a-z]{{4}}-[a-z]{{3}}{END}"),
    _entry("tuple", r"tuple\.app", r"/c/[\w-]+"),
    _entry("pop", r"pop\.com", r"/j/\d+(?:-\d+)*"),
    _entry("riverside", r"(?:www\.)?riverside\.(?:fm|com)", r"/studio/[\w-]+"),
    _entry("streamyard", r"streamyard\.com", rf"/(?:guest/[\w-]+|\w{{8,13}}{END})"),
    _entry("blackboard_collaborate", r"[a-z0-9-]+\.bbcollab\.com", r"/(?:guest|invite)/[\w-]+"),
    _entry("coscreen", r"join\.coscreen\.co", r"/[\w-]+/[\w-]+"),
    _entry("doxy", r"[a-z0-9-]+\.doxy\.me", r"/[\w-]+"),
    _entry("skype_for_business", r"(?:meet|join)\.[a-z0-9-]+(?:\.[a-z0-9-]+)+",
           r"/(?:meet/)?[\w.-]+/[A-Za-z0-9]{6,10}(?:[?#]|$)", hints=("/",)),
    _entry("pexip", r"[a-z0-9.-]+",
           r"/webapp/(?:#/)?(?:home/)?\?(?:[^#]*&)?conference=|/webapp/conference/[\w.@-]+",
           r"/teams/\?(?:[^#]*&)?conf=", hints=("/webapp/", "/teams/?")),
    _entry("jitsi", r"[a-z0-9.-]+", rf"/hc-[0-9a-f]{{20}}{END}", hints=("/hc-",)),
    _entry("cisco_meeting_server", r"[a-z0-9.-]+", r"/invited\.sf\?(?:[^#]*&)?id=\d+|/index\.html\?id=\d+&secret=",
           hints=("/invited.sf", "/index.html?id=")),
)

APP_SCHEMES = ("zoommtg", "msteams")
"""Schemes of native-app join links; such a link gives way to a web link of the same service."""

VIDEO_DOMAINS: tuple[tuple[re.Pattern[str], str, int], ...] = tuple(
    (re.compile(pattern), provider, rank) for pattern, provider, rank in (
        (r"m\.webex\.com", "teams", 0),
        (r"lync\.webex\.com", "webex", 1),
        (r"[a-z0-9-]+\.webex\.com|[a-z0-9-]+\.webexgov\.us", "webex", 0),
        (r"zoomcrc\.com", "zoom", 0),
        (r"meet\.chime\.in", "chime", 0),
        (r"teams\.bjn\.vc|t\.plcm\.vc", "teams", 0),
        (r"bjn\.vc", "bluejeans", 0),
        (r"sip\.lifesizecloud\.com", "lifesize", 0),
    ))
"""(domain, provider, rank): rank 1 marks Skype-for-Business interop, which a video-system address beats."""


@lru_cache(maxsize=4096)
def _entries_for_host(host: str) -> tuple[Provider, ...]:
    return tuple(p for p in PROVIDERS if p.hosts.fullmatch(host))


def _claims(provider: Provider, rest: str) -> bool:
    return not provider.generic or any(hint in rest for hint in provider.hints)


def host_hints(host: str) -> tuple[bool, tuple[str, ...]]:
    """(a specific entry serves this host, path hints of the any-host entries that could claim it).

    The cheap pre-check before ``classify`` (``urls.host_role`` keeps it per host): most links in
    a body are ordinary ones.
    """
    entries = _entries_for_host(host)
    return any(not p.generic for p in entries), tuple(h for p in entries if p.generic for h in p.hints)


def classify(host: str, rest: str) -> tuple[str, str] | None:
    """("join" | "non_join", provider id) for a URL's lower-case host and ``path?query#fragment``.

    None when no catalogue entry claims the URL (an ordinary web link).
    """
    for provider in _entries_for_host(host):
        if not _claims(provider, rest):
            continue
        if provider.non_join.match(rest):
            return "non_join", provider.id
        if provider.join.match(rest):
            return "join", provider.id
        if not provider.generic:
            return "non_join", provider.id
    return None


@lru_cache(maxsize=4096)
def video_domain(domain: str) -> tuple[str, int] | None:
    """(provider, rank) of a known video-address domain, or None."""
    for pattern, provider, rank in VIDEO_DOMAINS:
        if pattern.fullmatch(domain):
            return provider, rank
    return None
