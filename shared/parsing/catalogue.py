"""The provider catalogue: one entry per meeting service, as data.

Each entry names the provider id, the hosts it serves (a regex that must match
the whole lower-cased host name), the service's join paths (a regex matched at
the start of ``path?query#fragment``), its known non-meeting pages, and the id
shapes the service usually produces. The rules, in this order:

- a known non-meeting page (help, download, dial-in, options, registration, and
  for services that give people named rooms the site's own pages: pricing,
  login, blog, sitemap, ...) is never a join (rule R4);
- a link on one of the service's join paths is a join link *whatever its id
  looks like*: services hand out older, shorter, personal and named ids, so an
  id shape never vetoes; a link whose id has the usual shape is marked as such
  (``Candidate.usual_shape``) for whoever reads why a link was chosen;
- any other URL on a catalogue host is reported as ``non_join``.

Entries are tried in order; the first whose host matches decides, so specific
hosts come before generic ones. A ``generic`` entry (self-hosted Pexip, Cisco
Meeting Server, Skype for Business on-premises, BigBlueButton: any host) claims
a URL only when one of its path hints occurs and its join shape matches; there
the shape is the only evidence that a host is a meeting server, so it stays
strict.

``SERVICES`` gives each provider id its display name. Video-address domains map
a SIP domain to a provider (rule for ``sip_uri``). Adding a service means adding
a name and an entry here, not code; ``python -m shared.parsing --services``
writes the list docs/join-info.md shows.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, NamedTuple

NO_MATCH = r"(?!)"

SERVICES: dict[str, str] = {
    "zoom": "Zoom",
    "teams": "Microsoft Teams",
    "webex": "Webex",
    "google_meet": "Google Meet",
    "google_hangouts": "Google Hangouts",
    "google_duo": "Google Duo",
    "gotomeeting": "GoTo Meeting",
    "gotowebinar": "GoTo Webinar",
    "gototraining": "GoTo Training",
    "bluejeans": "BlueJeans",
    "chime": "Amazon Chime",
    "jitsi": "Jitsi Meet",
    "8x8": "8x8 Meet",
    "whereby": "Whereby",
    "ringcentral": "RingCentral Video",
    "skype_for_business": "Skype for Business",
    "skype": "Skype",
    "lifesize": "Lifesize",
    "pexip": "Pexip",
    "cisco_meeting_server": "Cisco Meeting Server",
    "vidyo": "Vidyo",
    "zoho": "Zoho Meeting",
    "slack": "Slack huddle",
    "discord": "Discord",
    "around": "Around",
    "facetime": "FaceTime",
    "tencent": "Tencent Meeting (VooV)",
    "lark": "Lark",
    "feishu": "Feishu",
    "zhumu": "Zhumu",
    "yandex_telemost": "Yandex Telemost",
    "kontur_talk": "Kontur.Talk",
    "mts_link": "MTS Link",
    "sberjazz": "SaluteJazz",
    "starleaf": "StarLeaf",
    "dialpad": "Dialpad Meetings (UberConference)",
    "vonage": "Vonage Meetings",
    "joinme": "join.me",
    "teamviewer": "TeamViewer Meeting (Blizz)",
    "vsee": "VSee",
    "workplace": "Workplace from Meta",
    "clickmeeting": "ClickMeeting",
    "livestorm": "Livestorm",
    "demio": "Demio",
    "gather": "Gather",
    "proton_meet": "Proton Meet",
    "livekit": "LiveKit Meet",
    "cal_video": "Cal Video",
    "pumble": "Pumble",
    "tuple": "Tuple",
    "pop": "Pop",
    "riverside": "Riverside",
    "streamyard": "StreamYard",
    "blackboard_collaborate": "Blackboard Collaborate",
    "coscreen": "CoScreen",
    "doxy": "Doxy.me",
    "reclaim": "Reclaim.ai",
    "jam": "Jam",
    "vowel": "Vowel",
    "vimeo": "Vimeo Events",
    "youtube": "YouTube Live",
    "ovice": "oVice",
    "luma": "Luma",
    "userzoom": "UserZoom",
    "venue": "Venue",
    "teemyco": "Teemyco",
    "chorus": "Chorus",
    "gong": "Gong",
    "suit_conference": "Suit Conference",
    "meetecho": "Meetecho",
    "daily": "Daily",
    "element_call": "Element Call",
    "signal": "Signal call link",
    "whatsapp": "WhatsApp call link",
    "telegram": "Telegram video chat",
    "adobe_connect": "Adobe Connect",
    "on24": "ON24",
    "airmeet": "Airmeet",
    "crowdcast": "Crowdcast",
    "huddle01": "Huddle01",
    "vk_calls": "VK Calls",
    "bigbluebutton": "BigBlueButton",
    "avaya_spaces": "Avaya Spaces",
    "freeconferencecall": "FreeConferenceCall",
    "butter": "Butter",
    "dingtalk": "DingTalk Meetings",
    "huawei_cloud_meeting": "Huawei Cloud Meeting",
}
"""Provider id to display name; every catalogue entry names one of these ids."""


@dataclass(frozen=True)
class Provider:
    """One service's hosts and URL shapes."""

    id: str
    hosts: re.Pattern[str]
    join: re.Pattern[str]
    non_join: re.Pattern[str]
    usual: re.Pattern[str]
    hints: tuple[str, ...] = ()

    @property
    def generic(self) -> bool:
        """Any host: claims a URL only when a hint occurs in its path and a shape matches."""
        return bool(self.hints)


def _entry(
    provider: str,
    hosts: str,
    join: str = NO_MATCH,
    non_join: str = NO_MATCH,
    *,
    usual: str | None = None,
    hints: tuple[str, ...] = (),
) -> Provider:
    if provider not in SERVICES:
        raise ValueError(f"catalogue entry for {provider!r} has no display name in SERVICES")
    return Provider(
        provider,
        re.compile(hosts),
        re.compile(join, re.IGNORECASE),
        re.compile(non_join, re.IGNORECASE),
        re.compile(usual or join, re.IGNORECASE),
        hints,
    )


END = r"(?=[/?#&]|$)"
SUB = r"(?:[a-z0-9-]+\.)*"
ID = r"[^/?#&\s]+"
"""An id or room name as a join path carries it: anything up to the next path, query or fragment delimiter."""
Q = r"\?(?:[^#]*&)?"
"""The start of a query, up to the parameter that follows."""

SITE_PAGES = (
    "about",
    "accessibility",
    "account",
    "accounts",
    "admin",
    "api",
    "app",
    "apps",
    "auth",
    "blog",
    "business",
    "careers",
    "community",
    "company",
    "compare",
    "contact",
    "contact-us",
    "cookies",
    "customers",
    "dashboard",
    "developers",
    "docs",
    "download",
    "downloads",
    "education",
    "enterprise",
    "events",
    "faq",
    "features",
    "favicon.ico",
    "get-started",
    "gdpr",
    "help",
    "home",
    "integrations",
    "jobs",
    "legal",
    "login",
    "logout",
    "news",
    "partners",
    "press",
    "pricing",
    "privacy",
    "privacy-policy",
    "product",
    "products",
    "register",
    "resources",
    "robots.txt",
    "security",
    "settings",
    "signin",
    "sign-in",
    "signup",
    "sign-up",
    "sitemap",
    "sitemap.xml",
    "solutions",
    "status",
    "support",
    "terms",
    "terms-of-service",
    "tos",
    "webinars",
)
"""Pages every service's own site keeps for itself: never a room, whatever the service lets people name."""
JITSI_PAGES = (
    "static",
    "libs",
    "sounds",
    "images",
    "css",
    "fonts",
    "lang",
    "external_api.js",
    "config.js",
    "interface_config.js",
    "_api",
    "_unlock",
    "http-bind",
    "xmpp-websocket",
    "colibri-ws",
    "welcome",
)
"""The files and endpoints of a Jitsi Meet deployment, beside its rooms."""


def pages(*names: str, site: bool = True) -> str:
    """A non-join pattern: the first path segment is one of ``names`` (and of ``SITE_PAGES``), exactly."""
    every = sorted({*names, *(SITE_PAGES if site else ())}, key=len, reverse=True)
    return "/(?:" + "|".join(re.escape(name) for name in every) + r")(?=[/?#]|$)"


PROVIDERS: tuple[Provider, ...] = (
    _entry("zoom", rf"{SUB}zm\.page|support\.zoom\.us|applications\.zoom\.us|community\.zoom\.com"),
    _entry(
        "zoom",
        rf"{SUB}(?:zoom\.us|zoom\.com|zoom\.com\.cn|zoom-x\.de|zoomgov\.com)",
        rf"/(?:j|w|my)/{ID}|/wc/(?:{ID}/join|join/{ID})|/join{Q}confno={ID}",
        r"/u/|/s/|/download|/webinar/register|/meeting/register|/support|/meeting/schedule|/signin|/pricing",
        usual=rf"/(?:j|w)/\d{{9,11}}{END}|/my/[\w.-]+{END}|/wc/(?:\d{{9,11}}/join|join/\d{{9,11}}){END}"
        rf"|/join{Q}confno=\d{{9,11}}{END}",
    ),
    _entry(
        "teams",
        r"(?:gov\.|dod\.)?teams\.microsoft\.(?:com|us)|teams\.live\.com|teams\.cloud\.microsoft",
        rf"/(?:_#/)?l/meetup-join/|/meet/{ID}|/light-meetings/launch(?:[?#]|$)"
        r"|/dl/launcher/launcher\.html\?.*?(?:type=meet(?:up-join)?(?:[&#]|$)|meetup-join)",
        r"/meetingoptions|/l/(?:chat|channel|team|app|entity|call|message|file|task|meeting/new)/",
        usual=r"/l/meetup-join/19(?:%3a|:)meeting_|/meet/\d{10,14}\?(?:[^#]*&)?p=",
    ),
    _entry("teams", r"dialin\.teams\.microsoft\.(?:com|us)|aka\.ms|dialin\.plcm\.vc|dialin\.bluejeans\.com"),
    _entry("webex", r"(?:www|help|admin|admin-usgov|web|signin|idbroker|developer|blog|status)\.webex\.com"),
    _entry(
        "webex",
        r"[a-z0-9-]+\.webex\.com|[a-z0-9-]+\.webexgov\.us",
        rf"/[\w.-]+/(?:k2/)?j\.php{Q}mtid={ID}|/(?:meet|join)/{ID}|/collabs/meetings/join{Q}uuid={ID}"
        rf"|/(?:wbxmjs/joinservice|webappng)/sites/{ID}/meeting/download/{ID}|/[\w.-]+/m\.php{Q}at=jm",
        r"/[\w.-]+/(?:globalcallin|ldr|lsr|nbrshared)\.php|/msteams|/webappng/sites/[^/?#]+/(?:dashboard|recordings|"
        r"preferences|meetings)",
        usual=r"/[\w.-]+/(?:k2/)?j\.php\?(?:[^#]*&)?mtid=[mt][0-9a-f]{32}(?![0-9a-f])|/(?:meet|join)/[\w.-]+"
        r"|/(?:wbxmjs/joinservice|webappng)/sites/[\w-]+/meeting/download/[0-9a-f]{32}(?![0-9a-f])"
        r"|/[\w.-]+/m\.php\?(?:[^#]*&)?at=jm|/collabs/meetings/join\?(?:[^#]*&)?uuid=[A-Z0-9]{20,}",
    ),
    _entry(
        "google_meet",
        r"meet\.google\.com",
        rf"/(?:_meet/)?[a-z][a-z-]{{2,}}{END}|/lookup/{ID}",
        pages("landing", "new", "linkredirect", "_", site=False),
        usual=rf"/(?:_meet/)?[a-z]{{3}}-[a-z]{{4}}-[a-z]{{3}}{END}|/lookup/[\w-]+",
    ),
    _entry("google_meet", r"stream\.meet\.google\.com", rf"/stream/{ID}", usual=r"/stream/[0-9a-f-]{36}"),
    _entry("google_meet", r"g\.co", rf"/meet/{ID}"),
    _entry("google_hangouts", r"hangouts\.google\.com", r"/(?:call|hangouts/_)/[\w/-]+"),
    _entry("google_duo", r"duo\.app\.goo\.gl", rf"/{ID}"),
    _entry("google_meet", r"tel\.meet|support\.google\.com"),
    _entry(
        "gotomeeting",
        r"meet\.goto\.com|app\.goto\.com",
        rf"/(?:meeting/|join/)?{ID}",
        pages("install", "downloads", "meeting-center", "training", "webinar"),
        usual=rf"/(?:meeting/|join/)?\d{{9}}{END}",
    ),
    _entry(
        "gotomeeting", rf"{SUB}gotomeeting\.com", rf"/join/{ID}", r"/install|/download", usual=rf"/join/\d{{9}}{END}"
    ),
    _entry("gotomeeting", r"(?:www\.)?gotomeet\.me|(?:next\.)?g2m\.me", rf"/{ID}", pages()),
    _entry("gotowebinar", rf"{SUB}gotowebinar\.com", rf"/join/{ID}", r"/register/", usual=r"/join/\d+/\d+"),
    _entry(
        "gototraining",
        rf"{SUB}gototraining\.com",
        rf"/join/(?:training/)?{ID}",
        r"/register/",
        usual=r"/join/training/\d+",
    ),
    _entry(
        "bluejeans",
        r"(?:[a-z0-9-]+\.)?bluejeans\.com",
        rf"/{ID}(?:/{ID})?",
        pages("s", "sfdc", "teams", "events"),
        usual=rf"/\d{{6,}}(?:/\d+)?{END}",
    ),
    _entry("bluejeans", r"bjn\.vc", rf"/{ID}"),
    _entry("chime", r"chime\.aws", rf"/{ID}", pages("download-chime", "dialinnumbers"), usual=rf"/\d{{10}}{END}"),
    _entry("chime", r"app\.chime\.aws", rf"/meetings/{ID}"),
    _entry("jitsi", r"meet\.jit\.si", rf"/{ID}", pages(*JITSI_PAGES, site=False)),
    _entry("8x8", r"(?:[a-z0-9-]+\.)?8x8\.vc", rf"/{ID}/{ID}", pages(*JITSI_PAGES, site=False)),
    _entry("whereby", r"(?:docs|help|blog|status|api|developer|support)\.whereby\.com"),
    _entry(
        "whereby",
        r"(?:[a-z0-9-]+\.)?whereby\.com|appear\.in",
        rf"/{ID}",
        pages(
            "information",
            "user",
            "org",
            "embedded",
            "healthcare",
            "telehealth",
            "hubs",
            "guides",
            "templates",
            "use-cases",
            "try",
            "room",
            "rooms",
        ),
    ),
    _entry("ringcentral", r"(?:v|video)\.ringcentral\.com", rf"/join/{ID}", usual=r"/join/\d+"),
    _entry(
        "ringcentral",
        r"meetings\.ringcentral\.com|meetings\.officeathand\.att\.com",
        rf"/j/{ID}",
        usual=rf"/j/\d+{END}",
    ),
    _entry("skype_for_business", r"meet\.lync\.com", r"/[\w.-]+/[\w.-]+/\w+"),
    _entry("skype", r"join\.skype\.com", r"/\w+"),
    _entry("lifesize", r"call\.lifesizecloud\.com", rf"/{ID}", usual=rf"/\d+{END}"),
    _entry("pexip", r"pexip\.me", r"/teams/[\w.-]+/\d+"),
    _entry("vidyo", r"[a-z0-9-]+\.vidyocloud\.com", rf"/join/{ID}"),
    _entry(
        "zoho",
        r"meeting\.zoho\.(?:com|eu|in|com\.au|jp|com\.cn)",
        rf"/join{Q}key={ID}|/meeting/[\w/-]+",
        r"/meeting/register",
        usual=r"/join\?(?:[^#]*&)?key=\d+",
    ),
    _entry("zoho", r"meet\.zoho\.(?:com|eu|in|com\.au|jp)", rf"/{ID}", pages(), usual=rf"/\d+{END}"),
    _entry("zoho", r"cliq\.zoho\.(?:com|eu|in|com\.au|jp)", r"/meetings/[\w-]+"),
    _entry("slack", r"app\.slack\.com", r"/huddle/T\w+/C\w+"),
    _entry("discord", r"discord\.gg", rf"/{ID}"),
    _entry("discord", r"(?:www\.|canary\.|ptb\.)?discord(?:app)?\.com", r"/invite/[\w-]+|/channels/\d+/\d+"),
    _entry("around", r"(?:meet\.)?around\.co", r"/r/[\w-]+"),
    _entry("facetime", r"facetime\.apple\.com", r"/join#"),
    _entry("tencent", r"meeting\.tencent\.com|(?:www\.)?voovmeeting\.com", r"/dm/\w+|/p/\d+"),
    _entry("lark", r"vc\.larksuite\.com", rf"/j/{ID}", usual=rf"/j/\d+{END}"),
    _entry("feishu", r"vc\.feishu\.cn", rf"/j/{ID}", usual=rf"/j/\d+{END}"),
    _entry("zhumu", r"welink\.zhumu\.com", rf"/j/{ID}|/wc/join/\d+{Q}wpk=", usual=rf"/j/\d+{END}"),
    _entry("yandex_telemost", r"telemost\.(?:360\.)?yandex\.(?:ru|com)", rf"/j/{ID}", usual=rf"/j/\d+{END}"),
    _entry("kontur_talk", r"[a-z0-9-]+\.ktalk\.ru", rf"/{ID}", pages("system", "static", "profile", "archive")),
    _entry("mts_link", r"my\.(?:mts-link|webinar)\.ru", r"/j/[\w-]+/[\w-]+"),
    _entry("mts_link", r"events\.(?:mts-link|webinar)\.ru", r"/[\w-]+/[\w-]+"),
    _entry("sberjazz", r"jazz\.sber\.ru|salutejazz\.ru", rf"/(?:#/calls/)?{ID}", pages()),
    _entry("starleaf", r"meet\.starleaf\.com", rf"/{ID}", pages(), usual=rf"/\d+{END}"),
    _entry("dialpad", r"meetings\.dialpad\.com|(?:www\.)?uberconference\.com", rf"/{ID}", pages("room", "rooms")),
    _entry("dialpad", r"(?:www\.)?dialpad\.com", r"/meetings/[\w.-]+"),
    _entry("vonage", r"meetings\.vonage\.com", rf"/{ID}|/?{Q}room_token={ID}", pages(), usual=rf"/\d{{9}}{END}"),
    _entry("vonage", r"freeconferencing\.vonage\.com", rf"/{ID}", pages()),
    _entry("joinme", r"join\.me", rf"/{ID}", pages("app", "meeting", "upgrade", "mac", "windows")),
    _entry("teamviewer", r"go\.teamviewer\.com|go\.blizz\.com", rf"/{ID}", pages()),
    _entry("vsee", r"(?:[a-z0-9-]+\.)?vsee\.com", r"/(?:u|c|r|join)/[\w.-]+"),
    _entry("workplace", r"[a-z0-9-]+\.workplace\.com", r"/groupcall/[\w-]+"),
    _entry("clickmeeting", r"[a-z0-9-]+\.clickmeeting\.com|(?:[a-z0-9-]+\.)?clickwebinar\.com", rf"/{ID}", pages()),
    _entry("livestorm", r"app\.livestorm\.com", r"/p/[\w-]+/live"),
    _entry("demio", r"event\.demio\.com", r"/[\w/-]+"),
    _entry("gather", r"app\.gather\.town", r"/app/[\w-]+/[\w-]+"),
    _entry("proton_meet", r"meet\.proton\.me", rf"/join/{ID}"),
    _entry("livekit", r"meet[a-z0-9.-]*\.livekit\.io", rf"/rooms/{ID}"),
    _entry("cal_video", r"app\.cal\.com", rf"/video/{ID}"),
    _entry("pumble", r"meet\.pumble\.com", rf"/[a-z]{{3}}-[a-z]{{4}}-[a-z]{{3}}{END}"),
    _entry("tuple", r"tuple\.app", rf"/c/{ID}"),
    _entry("pop", r"pop\.com", rf"/j/{ID}", usual=r"/j/\d+(?:-\d+)*"),
    _entry("riverside", r"(?:www\.)?riverside\.(?:fm|com)", rf"/studio/{ID}"),
    _entry(
        "streamyard",
        r"streamyard\.com",
        rf"/(?:guest/)?{ID}",
        pages("teams", "broadcasts", "library", "hosting", "on-air", "webinars"),
        usual=rf"/(?:guest/[\w-]+|\w{{8,13}}{END})",
    ),
    _entry("blackboard_collaborate", r"[a-z0-9-]+\.bbcollab\.com", rf"/(?:guest|invite)/{ID}"),
    _entry("coscreen", r"join\.coscreen\.co", r"/[\w-]+/[\w-]+"),
    _entry("doxy", r"[a-z0-9-]+\.doxy\.me", rf"/{ID}", pages("sign-in", "account", "provider", "patient")),
    _entry("reclaim", r"(?:app\.)?reclaim\.ai", rf"/z/{ID}"),
    _entry("jam", r"jam\.systems", rf"/{ID}", pages("new", "me")),
    _entry("vowel", r"(?:[a-z0-9-]+\.)?vowel\.com", rf"/#/g/{ID}"),
    _entry("vimeo", r"(?:www\.)?vimeo\.com", r"/(?:showcase|event)/\d+"),
    _entry("vimeo", r"venues\.vimeo\.com", r"/[\w-]+(?:/[\w-]+)*"),
    _entry("youtube", r"(?:www\.|m\.)?youtube\.com", rf"/live/{ID}"),
    _entry("ovice", r"(?:[a-z0-9-]+\.)?ovice\.com|(?:www|app|docs|help)\.ovice\.in"),
    _entry("ovice", r"[a-z0-9-]+\.ovice\.in", rf"/?(?:[?#]|$)|/{ID}", pages()),
    _entry("luma", r"lu\.ma", rf"/join/{ID}"),
    _entry("userzoom", r"go\.userzoom\.com", rf"/participate/{ID}"),
    _entry("venue", r"app\.venue\.live", rf"/app/{ID}"),
    _entry("teemyco", r"app\.teemyco\.com", rf"/room/{ID}"),
    _entry("chorus", r"go\.chorus\.ai", rf"/{ID}", pages()),
    _entry("gong", r"(?:[a-z0-9-]+\.)?join\.gong\.io", rf"/{ID}", pages()),
    _entry("suit_conference", r"(?:[a-z0-9-]+\.)?conference\.istesuit\.com", rf"/{ID}", pages()),
    _entry("meetecho", r"meetings\.conf\.meetecho\.com", rf"/{ID}", pages()),
    _entry("daily", r"(?:www|docs|dashboard|help|status|api)\.daily\.co"),
    _entry("daily", r"[a-z0-9-]+\.daily\.co", rf"/{ID}", pages()),
    _entry("element_call", r"call\.element\.io", rf"/room/|/{ID}", pages("register", "login")),
    _entry("signal", r"signal\.link", r"/call/#key="),
    _entry("whatsapp", r"call\.whatsapp\.com", rf"/(?:video|voice)/{ID}"),
    _entry("telegram", r"t\.me|telegram\.me", rf"/\w+{Q}(?:videochat|voicechat|livestream)(?:[=&#]|$)"),
    _entry(
        "adobe_connect",
        r"[a-z0-9-]+\.adobeconnect\.com",
        rf"/{ID}",
        pages("system", "common", "content", "_a", "servlet", "lcs", site=True) + r"|/_a\d+/",
    ),
    _entry("on24", r"(?:event|gateway)\.on24\.com", r"/wcc/r/\d+/\w+|/eventregistration/"),
    _entry("airmeet", r"(?:www\.)?airmeet\.com", rf"/e/{ID}"),
    _entry("crowdcast", r"(?:www\.)?crowdcast\.io", rf"/(?:e|c)/{ID}"),
    _entry("huddle01", r"app\.huddle01\.com", rf"/{ID}", pages()),
    _entry("vk_calls", r"(?:m\.)?vk\.(?:com|ru)", rf"/call/join/{ID}"),
    _entry("avaya_spaces", r"spaces\.avayacloud\.com", rf"/spaces/{ID}"),
    _entry("freeconferencecall", r"join\.freeconferencecall\.com", rf"/{ID}", pages()),
    _entry("butter", r"app\.butter\.us", rf"/{ID}(?:/{ID})?", pages()),
    _entry("dingtalk", r"meeting\.dingtalk\.com", rf"/j/{ID}"),
    _entry("huawei_cloud_meeting", r"meeting\.huaweicloud\.com", rf"/#/j/{ID}"),
    _entry(
        "skype_for_business",
        r"(?:meet|join)\.[a-z0-9-]+(?:\.[a-z0-9-]+)+",
        r"/(?:meet/)?[\w.-]+/[A-Za-z0-9]{6,10}(?:[?#]|$)",
        hints=("/",),
    ),
    _entry("skype_for_business", r"[a-z0-9.-]+", r"/meet/[\w.-]+/(?-i:[A-Z0-9]{6,10})(?:[?#]|$)", hints=("/meet/",)),
    _entry(
        "pexip",
        r"[a-z0-9.-]+",
        r"/webapp/(?:#/)?(?:home/)?\?(?:[^#]*&)?conference=|/webapp/conference/[\w.@-]+",
        r"/teams/\?(?:[^#]*&)?conf=",
        hints=("/webapp/", "/teams/?"),
    ),
    _entry("jitsi", r"[a-z0-9.-]+", rf"/hc-[0-9a-f]{{20}}{END}", hints=("/hc-",)),
    _entry(
        "cisco_meeting_server",
        r"[a-z0-9.-]+",
        r"/invited\.sf\?(?:[^#]*&)?id=\d+|/index\.html\?id=\d+&secret=",
        hints=("/invited.sf", "/index.html?id="),
    ),
    _entry(
        "bigbluebutton", r"[a-z0-9.-]+", r"/rooms/[a-z0-9]{3}(?:-[a-z0-9]{3}){3}/join(?=[/?#]|$)", hints=("/rooms/",)
    ),
)

APP_SCHEMES = ("zoommtg", "msteams")
"""Schemes of native-app join links; such a link gives way to a web link of the same service."""

VIDEO_DOMAINS: tuple[tuple[re.Pattern[str], str, int], ...] = tuple(
    (re.compile(pattern), provider, rank)
    for pattern, provider, rank in (
        (r"m\.webex\.com", "teams", 0),
        (r"lync\.webex\.com", "webex", 1),
        (r"[a-z0-9-]+\.webex\.com|[a-z0-9-]+\.webexgov\.us", "webex", 0),
        (r"zoomcrc\.com", "zoom", 0),
        (r"meet\.chime\.in", "chime", 0),
        (r"teams\.bjn\.vc|t\.plcm\.vc", "teams", 0),
        (r"bjn\.vc", "bluejeans", 0),
        (r"sip\.lifesizecloud\.com", "lifesize", 0),
    )
)
"""(domain, provider, rank): rank 1 marks Skype-for-Business interop, which a video-system address beats."""


_SPECIFIC_HOSTS = re.compile("|".join(f"(?P<e{i}>{p.hosts.pattern})" for i, p in enumerate(PROVIDERS) if not p.generic))
"""Every specific entry's hosts as one alternation, in catalogue order: one pass finds the first that serves a host."""
_GENERIC = tuple((i, p) for i, p in enumerate(PROVIDERS) if p.generic)


@lru_cache(maxsize=4096)
def _entries_for_host(host: str) -> tuple[Provider, ...]:
    """The entries that may decide a URL on ``host``, in catalogue order, up to the first specific one.

    A specific entry always decides (join or non_join), so none after it is ever consulted; one
    pass of ``_SPECIFIC_HOSTS`` replaces a hundred host patterns tried one by one, which kept a
    body of many distinct hosts cheap as the catalogue grew.
    """
    match = _SPECIFIC_HOSTS.fullmatch(host)
    first = int(match.lastgroup[1:]) if match and match.lastgroup else len(PROVIDERS)
    generic = tuple(p for i, p in _GENERIC if i < first and p.hosts.fullmatch(host))
    return generic + (PROVIDERS[first],) if match else generic


def host_hints(host: str) -> tuple[bool, tuple[str, ...]]:
    """(a specific entry serves this host, path hints of the any-host entries that could claim it).

    The cheap pre-check before ``classify`` (``urls.host_role`` keeps it per host): most links in
    a body are ordinary ones.
    """
    entries = _entries_for_host(host)
    return any(not p.generic for p in entries), tuple(h for p in entries if p.generic for h in p.hints)


class Verdict(NamedTuple):
    """What the catalogue makes of one URL."""

    kind: Literal["join", "non_join"]
    provider: str
    usual_shape: bool = False
    """A join link whose id has the shape the service usually gives (never required)."""


def classify(host: str, rest: str) -> Verdict | None:
    """The verdict on a URL's lower-case host and ``path?query#fragment``, in the order the module states.

    None when no catalogue entry claims the URL (an ordinary web link).
    """
    for provider in _entries_for_host(host):
        if provider.hints and not any(hint in rest for hint in provider.hints):
            continue
        if provider.non_join.match(rest):
            return Verdict("non_join", provider.id)
        if provider.join.match(rest):
            return Verdict("join", provider.id, provider.usual.match(rest) is not None)
        if not provider.generic:
            return Verdict("non_join", provider.id)
    return None


SERVICES_START = "<!-- services: written by `python -m shared.parsing --services`; do not edit by hand -->"
SERVICES_END = "<!-- /services -->"


def services_markdown() -> str:
    """docs/join-info.md's list of supported services, between its markers: display name and provider id, by name."""
    names = sorted(SERVICES.items(), key=lambda item: item[1].casefold())
    listed = ", ".join(f"{name} (`{provider}`)" for provider, name in names)
    text = textwrap.fill(f"{len(names)} services: {listed}.", width=100, break_long_words=False, break_on_hyphens=False)
    return f"{SERVICES_START}\n{text}\n{SERVICES_END}"


@lru_cache(maxsize=4096)
def video_domain(domain: str) -> tuple[str, int] | None:
    """(provider, rank) of a known video-address domain, or None."""
    for pattern, provider, rank in VIDEO_DOMAINS:
        if pattern.fullmatch(domain):
            return provider, rank
    return None
