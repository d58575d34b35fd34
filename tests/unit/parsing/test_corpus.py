"""The team's table-driven corpus for join-info detection (docs/join-links.md).

Every provider of the catalogue and every wrapper appears at least once (checked
below), and each rule R1-R4 has cases that fail if the rule is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import pytest

from shared.parsing import extract_join_info
from shared.parsing.catalogue import PROVIDERS, SERVICES, _entry
from shared.parsing.urls import WRAPPERS
from tests.unit.parsing import invites


@dataclass(frozen=True)
class Case:
    name: str
    location: str = ""
    body: str = ""
    body_type: str = "html"
    online: str | None = None
    provider: str | None = None
    join: str | None = None
    sip: str | None = None
    keyword: str | None = None
    modifier: str | None = None


def linked(url: str, text: str = "Join the meeting") -> str:
    return f'<p>Hello,</p><p><a href="{url.replace("&", "&amp;")}">{text}</a></p>'


# (provider, join URL): one per catalogue shape; each is found in an HTML href.
JOIN_URLS = [
    ("zoom", "https://zoom.us/j/1234567890"),
    ("zoom", "https://us02web.zoom.us/j/84512345678?pwd=aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1.1"),
    ("zoom", "https://acme.zoom.us/w/98765432101?tk=AbC_dEf.GhI&pwd=xYz"),
    ("zoom", "https://zoom.us/my/jane.doe"),
    ("zoom", "https://zoom.com/j/1234567890"),
    ("zoom", "https://app.zoom.com.cn/j/1234567890"),
    ("zoom", "https://zoom-x.de/j/65432109876?pwd=Q1dE"),
    ("zoom", "https://acme.zoomgov.com/j/1612345678?pwd=a-b_c.d+e/f"),
    ("zoom", "https://us05web.zoom.us/wc/join/84512345678"),
    ("teams", invites.TEAMS_URL),
    ("teams", "https://teams.microsoft.com/meet/284913770156?p=Xk3sPqAb12"),
    ("teams", "https://teams.live.com/meet/9876543210123?p=AbCdEfGh"),
    ("teams", "https://gov.teams.microsoft.us/l/meetup-join/19%3ameeting_abc%40thread.v2/0?context=%7b%7d"),
    ("teams", "https://teams.cloud.microsoft/meet/284913770156?p=Xk3sPq"),
    ("webex", invites.WEBEX_JPHP),
    ("webex", "https://acme.webex.com/meet/jane.doe"),
    ("webex", "https://acme-eu.webex.com/join/jdoe"),
    ("webex", invites.WEBEX_JOINSERVICE),
    ("webex", "https://acme.webex.com/webappng/sites/acme/meeting/download/0a1b2c3d4e5f60718293a4b5c6d7e8f9"),
    ("webex", "https://acme.webex.com/acme/m.php?AT=JM&MK=25519347780"),
    ("webex", "https://agency.webexgov.us/meet/jdoe"),
    ("google_meet", "https://meet.google.com/abc-defg-hij"),
    ("google_meet", "https://meet.google.com/lookup/teamstandup?authuser=1"),
    ("google_meet", "https://meet.google.com/_meet/xyz-abcd-efg?pli=1"),
    ("google_meet", "https://stream.meet.google.com/stream/8c1d7a3e-52f4-4c59-9e1b-6a2f0d3c4b5a"),
    ("google_meet", "https://g.co/meet/team-standup"),
    ("google_hangouts", "https://hangouts.google.com/call/AbCdEfGh123"),
    ("google_duo", "https://duo.app.goo.gl/AbCd1234"),
    ("gotomeeting", "https://meet.goto.com/123456789"),
    ("gotomeeting", "https://global.gotomeeting.com/join/123456789"),
    ("gotomeeting", "https://gotomeet.me/JaneDoe"),
    ("gotowebinar", "https://attendee.gotowebinar.com/join/4567890123456789"),
    ("bluejeans", "https://bluejeans.com/123456789/4321?src=calendarLink"),
    ("chime", "https://chime.aws/1234567890"),
    ("chime", "https://app.chime.aws/meetings/1234567890"),
    ("jitsi", "https://meet.jit.si/AcmeWeeklySync"),
    ("8x8", "https://8x8.vc/acme/weekly-sync"),
    ("whereby", "https://whereby.com/acme-standup"),
    ("whereby", "https://acme.whereby.com/design-room"),
    ("ringcentral", "https://v.ringcentral.com/join/123456789?pw=0123456789abcdef0123456789abcdef"),
    ("ringcentral", "https://meetings.ringcentral.com/j/1234567890"),
    ("skype_for_business", "https://meet.lync.com/contoso/jdoe/ABC12DEF"),
    ("skype_for_business", "https://meet.contoso.com/jdoe/K9LM3N8P"),
    ("skype", "https://join.skype.com/AbCdEfGhIjKl"),
    ("lifesize", "https://call.lifesizecloud.com/1234567"),
    ("pexip", "https://video.contoso.com/webapp/#/?conference=meet.jane&pin=1234"),
    ("pexip", "https://pexip.me/teams/contoso.com/1174470025"),
    ("cisco_meeting_server", "https://cms.contoso.com/invited.sf?id=123456789&secret=AbC_dEf"),
    ("vidyo", "https://acme.vidyocloud.com/join/AbCdEf123"),
    ("zoho", "https://meeting.zoho.com/join?key=1234567890"),
    ("zoho", "https://meet.zoho.eu/1234567890"),
    ("zoho", "https://cliq.zoho.eu/meetings/AbCdEf"),
    ("slack", "https://app.slack.com/huddle/T01ABCDEF/C02GHIJKL"),
    ("discord", "https://discord.gg/AbCdEf"),
    ("discord", "https://discord.com/channels/123456789012345678/987654321098765432"),
    ("around", "https://meet.around.co/r/acme-sync"),
    ("facetime", "https://facetime.apple.com/join#v=1&p=AbCdEf&k=GhIjKl"),
    ("tencent", "https://meeting.tencent.com/dm/AbCd1234"),
    ("lark", "https://vc.larksuite.com/j/123456789"),
    ("feishu", "https://vc.feishu.cn/j/123456789"),
    ("zhumu", "https://welink.zhumu.com/j/123456789?pwd=abc"),
    ("yandex_telemost", "https://telemost.yandex.ru/j/12345678901234"),
    ("kontur_talk", "https://acme.ktalk.ru/weekly"),
    ("mts_link", "https://my.mts-link.ru/j/acme/123456789"),
    ("mts_link", "https://events.mts-link.ru/acme/123456789"),
    ("sberjazz", "https://jazz.sber.ru/abc123?psw=XyZ"),
    ("starleaf", "https://meet.starleaf.com/4712345"),
    ("dialpad", "https://meetings.dialpad.com/janedoe"),
    ("dialpad", "https://dialpad.com/meetings/janedoe"),
    ("vonage", "https://meetings.vonage.com/123456789"),
    ("vonage", "https://freeconferencing.vonage.com/acme-room"),
    ("joinme", "https://join.me/janedoe"),
    ("teamviewer", "https://go.teamviewer.com/m12345678"),
    ("vsee", "https://vsee.com/u/janedoe"),
    ("workplace", "https://acme.workplace.com/groupcall/ROOM:123456789"),
    ("clickmeeting", "https://acme.clickmeeting.com/weekly-webinar"),
    ("livestorm", "https://app.livestorm.com/p/0a1b2c3d-4e5f/live?s=9f8e7d6c"),
    ("demio", "https://event.demio.com/ref/AbCdEf"),
    ("gather", "https://app.gather.town/app/AbCdEf/acme-office"),
    ("proton_meet", "https://meet.proton.me/join/AbCdEf#pwd-GhIjKl"),
    ("livekit", "https://meet.livekit.io/rooms/acme-sync#e2eekey"),
    ("cal_video", "https://app.cal.com/video/AbCdEf123"),
    ("pumble", "https://meet.pumble.com/abc-defg-hij"),
    ("tuple", "https://tuple.app/c/AbCdEf"),
    ("pop", "https://pop.com/j/123-456-789"),
    ("riverside", "https://riverside.fm/studio/acme-podcast"),
    ("streamyard", "https://streamyard.com/abcd1234ef"),
    ("blackboard_collaborate", "https://us.bbcollab.com/guest/0a1b2c3d4e5f"),
    ("coscreen", "https://join.coscreen.co/acme/AbCdEf"),
    ("doxy", "https://clinic.doxy.me/drsmith"),
]

# Group 1: a link on one of a service's join paths is a join link whatever its id looks like. Each of
# these was refused while the catalogue checked id shapes; shapes now only mark ``usual_shape``.
LOOSE_IDS = [
    ("zoom", "https://zoom.us/j/12345678"),
    ("zoom", "https://us02web.zoom.us/j/5551234?pwd=Ab1"),
    ("zoom", "https://zoom.us/wc/join/7654321"),
    ("webex", "https://acme.webex.com/acme/j.php?MTID=m3f2a1b0c9d"),
    ("webex", "https://acme.webex.com/acme/k2/j.php?MTID=t0a1b2c3d4e5f60718293a4b5c6d7e8f9a"),
    ("webex", "https://meetings.webex.com/collabs/meetings/join?uuid=M30CB3X9YLA9EIDDRQGM9C3HWW-B8HX"),
    ("webex", "https://acme.webex.com/webappng/sites/acme/meeting/download/3f2a1b0c?launchApp=true"),
    ("teams", "https://teams.microsoft.com/meet/AbCdEf123?p=XyZ987"),
    ("teams", "https://teams.live.com/meet/9876543210123"),
    (
        "teams",
        "https://teams.live.com/light-meetings/launch?agent=web&version=25072001100"
        "&coords=eyJtZWV0aW5nQ29kZSI6IjEyMzQ1In0%3D&deeplinkId=0ac0a241",
    ),
    (
        "teams",
        "https://teams.microsoft.com/dl/launcher/launcher.html?url=/_#/l/meetup-join/19:meeting_AbC@thread.v2/0"
        "&type=meetup-join&deeplinkId=1b2c&directDl=true&msLaunch=true",
    ),
    ("teams", "https://teams.microsoft.com/_#/l/meetup-join/19:meeting_AbC@thread.v2/0?context=%7b%7d"),
    ("gotomeeting", "https://global.gotomeeting.com/join/acme-weekly"),
    ("gotomeeting", "https://meet.goto.com/join/janedoe"),
    ("ringcentral", "https://v.ringcentral.com/join/janedoe"),
    ("ringcentral", "https://meetings.ringcentral.com/j/AbC123"),
    ("vonage", "https://meetings.vonage.com/?room_token=982515622&participant_token=eyJhbGciOiJIUzI1NiJ9"),
    ("chime", "https://chime.aws/123456"),
    ("bluejeans", "https://bluejeans.com/janedoe"),
    ("lifesize", "https://call.lifesizecloud.com/jdoe"),
    ("google_meet", "https://meet.google.com/abcdefghij"),
]

# Group 2: hosts of known services that were missing (vanity, staging, regional, former names, self-hosted
# Skype for Business forms, bare hosts) and whole services.
MORE_HOSTS = [
    ("gotomeeting", "https://www.gotomeet.me/CustomRoom"),
    ("gotomeeting", "https://g2m.me/janedoe"),
    ("gotomeeting", "https://app.goto.com/meeting/123456789"),
    ("gototraining", "https://global.gototraining.com/join/training/1234567890123456789"),
    ("8x8", "https://stage.8x8.vc/acme/weekly"),
    ("bluejeans", "https://acme.bluejeans.com/123456789"),
    ("bluejeans", "https://bjn.vc/AbCd12"),
    ("yandex_telemost", "https://telemost.yandex.com/j/12345678901234"),
    ("mts_link", "https://events.webinar.ru/acme/123456789"),
    ("sberjazz", "https://salutejazz.ru/abc123?psw=XyZ"),
    ("whereby", "https://appear.in/acme-standup"),
    ("discord", "https://discordapp.com/invite/AbCdEf"),
    ("skype_for_business", "https://lync.contoso.com/meet/jdoe/K9LM3N8P"),
    ("skype_for_business", "https://join.contoso.com/meet/jane.doe/ABC12DEF?sl=1"),
    ("livekit", "https://meet-staging.livekit.io/rooms/acme-sync"),
    ("reclaim", "https://reclaim.ai/z/AbC123/xyz"),
    ("jam", "https://jam.systems/acme-standup"),
    ("vowel", "https://acme.vowel.com/#/g/AbCdEf"),
    ("vimeo", "https://vimeo.com/event/1234567"),
    ("vimeo", "https://venues.vimeo.com/acme/all-hands"),
    ("youtube", "https://www.youtube.com/live/AbCdEfGhIjK?si=x"),
    ("ovice", "https://acme.ovice.in/"),
    ("luma", "https://lu.ma/join/g-AbCdEf"),
    ("userzoom", "https://go.userzoom.com/participate/c1234s5678"),
    ("venue", "https://app.venue.live/app/acme-summit"),
    ("teemyco", "https://app.teemyco.com/room/AbCdEf"),
    ("chorus", "https://go.chorus.ai/AbCdEf123"),
    ("gong", "https://acme.join.gong.io/jane-doe/AbC123"),
    ("suit_conference", "https://acme.conference.istesuit.com/jane"),
    ("meetecho", "https://meetings.conf.meetecho.com/ietf119/?session=31919"),
    ("daily", "https://acme.daily.co/weekly-sync"),
    ("element_call", "https://call.element.io/room/#/acme-sync?password=AbCd"),
    ("signal", "https://signal.link/call/#key=bcdf-ghkm-npqr-stxz-bcdf-ghkm-npqr-stxz"),
    ("whatsapp", "https://call.whatsapp.com/video/AbCdEf123456"),
    ("telegram", "https://t.me/acme_team?videochat"),
    ("adobe_connect", "https://acme.adobeconnect.com/weekly-review/"),
    ("on24", "https://event.on24.com/wcc/r/4567890/ABCDEF0123456789"),
    ("airmeet", "https://www.airmeet.com/e/0a1b2c3d-4e5f-6789-abcd-ef0123456789"),
    ("crowdcast", "https://www.crowdcast.io/e/acme-launch"),
    ("huddle01", "https://app.huddle01.com/abc-defg-hij"),
    ("vk_calls", "https://vk.com/call/join/AbCdEf_123-xyz"),
    ("bigbluebutton", "https://bbb.example.edu/rooms/abc-d3f-gh1-jkl/join"),
    ("avaya_spaces", "https://spaces.avayacloud.com/spaces/5f0a1b2c3d4e5f6a7b8c9d0e"),
    ("freeconferencecall", "https://join.freeconferencecall.com/janedoe"),
    ("butter", "https://app.butter.us/acme/weekly-sync"),
    ("dingtalk", "https://meeting.dingtalk.com/j/AbCd1234"),
    ("huawei_cloud_meeting", "https://meeting.huaweicloud.com/#/j/981924330"),
]

PROVIDER_CASES = [
    Case(f"{provider}: {url[:60]}", body=linked(url), provider=provider, join=url)
    for provider, url in JOIN_URLS + LOOSE_IDS + MORE_HOSTS
]

# R4: same-domain non-join pages never count.
NON_JOIN_CASES = [
    Case(f"non-join: {url}", body=linked(url, "Help"))
    for url in [
        "https://us06web.zoom.us/u/kbXyZ12AbC",
        "https://zoom.us/download",
        "https://support.zoom.us/hc/en-us",
        "https://acme.zoom.us/webinar/register/WN_AbCdEf",
        "https://acme.zm.page",
        "https://zoom.us/s/1234567890",
        "https://dialin.teams.microsoft.com/8551f4c1?id=123456789",
        "https://aka.ms/JoinTeamsMeeting",
        "https://teams.microsoft.com/meetingOptions/?organizerId=1&threadId=2",
        "https://www.webex.com/msteams?confid=1174470025&tenantkey=contoso",
        "https://help.webex.com/en-us/article",
        "https://acme.webex.com/acme/globalcallin.php?MTID=m3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c",
        "https://meet.google.com/landing",
        "https://meet.google.com/new",
        "https://tel.meet/abc-defg-hij?pin=123",
        "https://support.google.com/a/users/answer/9282720",
        "https://meet.goto.com/install",
        "https://whereby.com/information",
        "https://dialin.bluejeans.com/teams?id=1",
        "https://video.contoso.com/teams/?conf=123&ivr=teams&d=contoso.com",
        "https://welink.zhumu.com/wc/join/123456",
        "https://teams.microsoft.com/l/chat/0/0?users=a@b.com",
        # Group 3: the site pages of services that let people name rooms are never rooms.
        "https://whereby.com/sitemap",
        "https://whereby.com/sitemap.xml",
        "https://whereby.com/pricing",
        "https://acme.whereby.com/login",
        "https://docs.whereby.com/reference",
        "https://meet.jit.si/static/close.html",
        "https://8x8.vc/static/dialInInfo.html",
        "https://join.me/pricing",
        "https://gotomeet.me/pricing",
        "https://streamyard.com/pricing",
        "https://www.uberconference.com/blog",
        "https://freeconferencing.vonage.com/support",
        "https://go.teamviewer.com/download",
        "https://acme.clickmeeting.com/login",
        "https://clinic.doxy.me/sign-in",
        "https://acme.daily.co/robots.txt",
        "https://www.daily.co/pricing",
        "https://acme.adobeconnect.com/admin/meeting",
        "https://chime.aws/download-chime",
        "https://bluejeans.com/s/AbCd",
        "https://meet.google.com/linkredirect?dest=x",
        "https://t.me/acme_team",
        "https://www.youtube.com/watch?v=AbCdEfGhIjK",
        "https://vk.com/acme",
        "https://teams.microsoft.com/dl/launcher/launcher.html?url=%2F_%23%2Fl%2Fchat%2F0%2F0&type=chat",
        "https://acme.webex.com/acme/ldr.php?RCID=0a1b2c3d",
        "https://zoom.us/s/12345678",
        "https://attendee.gotowebinar.com/register/123456789",
    ]
]

SAFE = "https://nam12.safelinks.protection.outlook.com/?url={}&data=05%7C02%7Cjane%40contoso.com%7C1&sdata=AbC%3D&reserved=0"
WRAPPER_CASES = [
    Case(
        "safelinks around Teams keeps %3a escapes",
        body=linked(SAFE.format(quote(invites.TEAMS_URL, safe=""))),
        provider="teams",
        join=invites.TEAMS_URL,
    ),
    Case(
        "safelinks /ap/ form",
        body=linked(
            "https://nam11.safelinks.protection.outlook.com/ap/t-59584e83/?url="
            + quote("https://zoom.us/j/1234567890", safe="")
            + "&data=05%7C01"
        ),
        provider="zoom",
        join="https://zoom.us/j/1234567890",
    ),
    Case(
        "safelinks US Government",
        body=linked(
            "https://gcc02.safelinks.protection.office365.us/?url="
            + quote("https://meet.google.com/abc-defg-hij", safe="")
            + "&data=1"
        ),
        provider="google_meet",
        join="https://meet.google.com/abc-defg-hij",
    ),
    Case(
        "safelinks Teams client page",
        body=linked(
            "https://statics.teams.cdn.office.net/evergreen-assets/safelinks/1/atp-safelinks.html?url="
            + quote("https://acme.webex.com/meet/jdoe", safe="")
            + "&locale=en-us"
        ),
        provider="webex",
        join="https://acme.webex.com/meet/jdoe",
    ),
    Case(
        "safelinks nested around proofpoint v2",
        body=linked(
            SAFE.format(
                quote(
                    "https://urldefense.proofpoint.com/v2/url?u=https-3A__us02web.zoom.us_j_84512345678-3Fpwd-3DaB3d.1&d=DwMF&c=x",
                    safe="",
                )
            )
            + ""
        ),
        provider="zoom",
        join="https://us02web.zoom.us/j/84512345678?pwd=aB3d.1",
    ),
    Case(
        "proofpoint v1",
        body=linked(
            "https://urldefense.proofpoint.com/v1/url?u=https%3A%2F%2Fzoom.us%2Fj%2F1234567890%3Fpwd%3Dabc&k=xyz"
        ),
        provider="zoom",
        join="https://zoom.us/j/1234567890?pwd=abc",
    ),
    Case(
        "proofpoint v2 keeps - and _",
        body=linked("https://urldefense.proofpoint.com/v2/url?u=https-3A__meet.jit.si_acme-2Dweekly-5Fsync&d=DwMF&c=x"),
        provider="jitsi",
        join="https://meet.jit.si/acme-weekly_sync",
    ),
    Case(
        "proofpoint v3 with replaced characters",
        body=linked("https://urldefense.com/v3/__https://zoom.us/j/1234567890?pwd=abc*2Bd__;JQ!!ORG!sigABC$"),
        provider="zoom",
        join="https://zoom.us/j/1234567890?pwd=abc%2Bd",
    ),
    Case(
        "proofpoint v3 collapsed https:/",
        body=linked("https://urldefense.us/v3/__https:/meet.google.com/abc-defg-hij__;!!ORG!sig$"),
        provider="google_meet",
        join="https://meet.google.com/abc-defg-hij",
    ),
    Case(
        "google redirect from a calendar copy",
        body=linked(
            "https://www.google.com/url?q=https://zoom.us/j/1234567890?pwd%3Dabc&sa=D&source=calendar&ust=1&usg=AOv"
        ),
        provider="zoom",
        join="https://zoom.us/j/1234567890?pwd=abc",
    ),
    Case(
        "barracuda",
        body=linked(
            "https://linkprotect.cudasvc.com/url?a=https%3a%2f%2fmeet.google.com%2fabc-defg-hij&c=E,1,sig&typo=1"
        ),
        provider="google_meet",
        join="https://meet.google.com/abc-defg-hij",
    ),
    Case(
        "cisco secure email",
        body=linked("https://secure-web.cisco.com/1AbCdEfGh/https%3A%2F%2Facme.webex.com%2Fmeet%2Fjdoe"),
        provider="webex",
        join="https://acme.webex.com/meet/jdoe",
    ),
    Case(
        "trend micro",
        body=linked(
            "https://imsva91-ctp.trendmicro.com:443/wis/clicktime/v1/query?url="
            "https%3a%2f%2fzoom.us%2fj%2f1234567890&umid=1&auth=ab-cd"
        ),
        provider="zoom",
        join="https://zoom.us/j/1234567890",
    ),
    Case(
        "sophos base64",
        body=linked(
            "https://eu-west-1.protection.sophos.com?d=zoom.us&u=aHR0cHM6Ly96b29tLnVzL2ovMTIzNDU2Nzg5MA==&i=1&t=2"
        ),
        provider="zoom",
        join="https://zoom.us/j/1234567890",
    ),
    Case(
        "trellix",
        body=linked("https://protect2.fireeye.com/v1/url?k=1&u=https%3A%2F%2Fmeet.jit.si%2FAcmeSync"),
        provider="jitsi",
        join="https://meet.jit.si/AcmeSync",
    ),
    Case(
        "symantec clicktime",
        body=linked("https://clicktime.symantec.com/15tAbC?h=xyz&u=https%3A%2F%2Fzoom.us%2Fj%2F1234567890"),
        provider="zoom",
        join="https://zoom.us/j/1234567890",
    ),
    Case(
        "esva",
        body=linked("https://urlsand.esvalabs.com/?u=https%3A%2F%2Fzoom.us%2Fj%2F1234567890&e=1"),
        provider="zoom",
        join="https://zoom.us/j/1234567890",
    ),
    Case(
        "azure e-mail redirect",
        body=linked(
            "https://emails.azure.microsoft.com/redirect/?destination=https%3A%2F%2Fzoom.us%2Fj%2F1234567890&p=1"
        ),
        provider="zoom",
        join="https://zoom.us/j/1234567890",
    ),
    Case(
        "aws ses tracking",
        body=linked("https://abc.r.us-east-1.awstrack.me/L0/https:%2F%2Fzoom.us%2Fj%2F1234567890/1/0100"),
        provider="zoom",
        join="https://zoom.us/j/1234567890",
    ),
    Case(
        "mimecast is unresolved: no join url", body=linked("https://protect-us.mimecast.com/s/AbCdEfGh?domain=zoom.us")
    ),
    Case(
        "mimecast new grid is unresolved",
        body=linked("https://url.us.m.mimecastprotect.com/s/AbCdEf?domain=meet.google.com"),
    ),
    Case(
        "mimecast unresolved, another real link wins",
        body=linked("https://protect-eu.mimecast.com/s/XyZ") + linked("https://meet.google.com/abc-defg-hij"),
        provider="google_meet",
        join="https://meet.google.com/abc-defg-hij",
    ),
    Case(
        "safelinks in plain text stops at &data",
        body="Join: " + SAFE.format(quote("https://zoom.us/j/1234567890", safe="")),
        body_type="text",
        provider="zoom",
        join="https://zoom.us/j/1234567890",
    ),
]

RULE_CASES = [
    Case(
        "online meeting url wins over body",
        online=invites.TEAMS_URL,
        body=invites.ZOOM_HTML,
        provider="teams",
        join=invites.TEAMS_URL,
        sip="84512345678@zoomcrc.com",
    ),
    Case(
        "online meeting url wins over location",
        online="https://teams.microsoft.com/meet/123456789012?p=Ab",
        location="https://zoom.us/j/1234567890",
        provider="teams",
        join="https://teams.microsoft.com/meet/123456789012?p=Ab",
    ),
    Case(
        "R2: location beats a corroborated body link",
        location="Room 1; https://meet.google.com/abc-defg-hij",
        body=invites.ZOOM_HTML,
        provider="google_meet",
        join="https://meet.google.com/abc-defg-hij",
        sip="84512345678@zoomcrc.com",
    ),
    Case(
        "R2: location without scheme prefix text",
        location="https://acme.webex.com/meet/jdoe (Webex)",
        body=linked("https://zoom.us/j/1234567890"),
        provider="webex",
        join="https://acme.webex.com/meet/jdoe",
    ),
    Case(
        "R3: corroborated link beats an earlier bare link",
        body=linked("https://zoom.us/my/old.room")
        + "<p>Notes</p>"
        + linked("https://zoom.us/j/1234567890")
        + "<p>Meeting ID: 123 456 7890</p>",
        provider="zoom",
        join="https://zoom.us/j/1234567890",
    ),
    Case(
        "R3: details after the next different link do not count",
        body=linked("https://zoom.us/my/old.room") + linked("https://meet.google.com/abc-defg-hij") + "<p>PIN: 123</p>",
        provider="google_meet",
        join="https://meet.google.com/abc-defg-hij",
    ),
    Case(
        "R3: details beyond 600 characters do not count",
        body=linked("https://meet.jit.si/FirstRoom")
        + linked("https://zoom.us/j/1234567890")
        + "<p>"
        + "x " * 400
        + "</p><p>Passcode: 1</p>",
        provider="jitsi",
        join="https://meet.jit.si/FirstRoom",
    ),
    Case(
        "R3 ties: document order",
        body=linked("https://meet.jit.si/FirstRoom") + linked("https://meet.jit.si/SecondRoom"),
        provider="jitsi",
        join="https://meet.jit.si/FirstRoom",
    ),
    Case(
        "R3: 'meeting' then a '#' that numbers nothing is no detail (hypothesis found it)",
        body=linked("https://meet.jit.si/FirstRoom") + linked("https://meet.jit.si/SecondRoom") + "\n# Agenda",
        provider="jitsi",
        join="https://meet.jit.si/FirstRoom",
    ),
    Case(
        "R3: 'Meeting #: 222' is a detail",
        body=linked("https://zoom.us/j/1111111111")
        + "<p>"
        + "x " * 320
        + "</p>"
        + linked("https://zoom.us/j/2222222222")
        + "<p>Meeting #: 222 222 2222</p>",
        provider="zoom",
        join="https://zoom.us/j/2222222222",
    ),
    Case(
        "R3: access code label",
        body="<p>https://meet.jit.si/Bare</p><p>https://global.gotomeeting.com/join/123456789"
        "</p><p>Access Code: 123-456-789</p>",
        provider="gotomeeting",
        join="https://global.gotomeeting.com/join/123456789",
    ),
    Case(
        "R4: help link before the join link is ignored",
        body=linked("https://support.zoom.us/hc") + linked("https://zoom.us/j/1234567890"),
        provider="zoom",
        join="https://zoom.us/j/1234567890",
    ),
    Case(
        "R4: Teams options and dial-in links ignored",
        body=invites.TEAMS_HTML,
        provider="teams",
        join=invites.TEAMS_URL,
        sip="contoso@m.webex.com",
    ),
    Case(
        "longer URL extending the winner keeps the passcode",
        location="https://zoom.us/j/1234567890",
        body=linked("https://zoom.us/j/1234567890?pwd=abc"),
        provider="zoom",
        join="https://zoom.us/j/1234567890?pwd=abc",
    ),
    Case(
        "href beats its anchor text",
        body='<a href="' + invites.WEBEX_JOINSERVICE.replace("&", "&amp;") + '">' + invites.WEBEX_JPHP + "</a>",
        provider="webex",
        join=invites.WEBEX_JOINSERVICE,
    ),
    Case(
        "app scheme used when no web link to the same service exists",
        body="zoommtg://zoom.us/join?action=join&confno=1234567890&pwd=x",
        body_type="text",
        provider="zoom",
        join="zoommtg://zoom.us/join?action=join&confno=1234567890&pwd=x",
    ),
    Case(
        "web link beats an earlier app scheme",
        body="zoommtg://zoom.us/join?action=join&confno=1234567890 then https://zoom.us/j/1234567890",
        body_type="text",
        provider="zoom",
        join="https://zoom.us/j/1234567890",
    ),
    Case(
        "app scheme is not displaced by another service's web link",
        body="zoommtg://zoom.us/join?action=join&confno=1234567890 -- Bob https://meet.jit.si/BobsRoom",
        body_type="text",
        provider="zoom",
        join="zoommtg://zoom.us/join?action=join&confno=1234567890",
    ),
    Case(
        "msteams app scheme",
        body="msteams://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0",
        body_type="text",
        provider="teams",
        join="msteams://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0",
    ),
    Case(
        "trailing punctuation and brackets removed",
        body="Join (https://zoom.us/j/1234567890?pwd=abc).",
        body_type="text",
        provider="zoom",
        join="https://zoom.us/j/1234567890?pwd=abc",
    ),
    Case(
        "captured > and quote never kept",
        body='Join: "https://acme.webex.com/meet/jdoe">Join',
        body_type="text",
        provider="webex",
        join="https://acme.webex.com/meet/jdoe",
    ),
    Case(
        "&amp; decoded in a text body",
        body="https://v.ringcentral.com/join/123456789?pw=ab&amp;x=1",
        body_type="text",
        provider="ringcentral",
        join="https://v.ringcentral.com/join/123456789?pw=ab&x=1",
    ),
    Case(
        "&para in a query is not an entity",
        body="https://zoom.us/j/1234567890?a=1&para=2",
        body_type="text",
        provider="zoom",
        join="https://zoom.us/j/1234567890?a=1&para=2",
    ),
    Case(
        "<wbr> inside a URL",
        body="<p>https://zoom.us/j/12345<wbr>67890?pwd=a<WBR/>bc</p>",
        provider="zoom",
        join="https://zoom.us/j/1234567890?pwd=abc",
    ),
    Case(
        "URL in angle brackets broken over lines",
        body="Join<https://teams.microsoft.com/l/meetup-join/19%3ameeting_Ab\nCd%40thread.v2/0>",
        body_type="text",
        provider="teams",
        join="https://teams.microsoft.com/l/meetup-join/19%3ameeting_AbCd%40thread.v2/0",
    ),
    Case(
        "non-breaking space ends a URL",
        body="<p>https://meet.jit.si/Room&nbsp;tomorrow</p>",
        provider="jitsi",
        join="https://meet.jit.si/Room",
    ),
    Case(
        "entities in href decoded",
        body='<a href="https://v.ringcentral.com/join/123456789?pw=ab&amp;x=1">Join</a>',
        provider="ringcentral",
        join="https://v.ringcentral.com/join/123456789?pw=ab&x=1",
    ),
    Case(
        "a /meet/ path on an ordinary site is no Skype for Business meeting",
        body=linked("https://www.example.com/meet/the-team/Careers1"),
    ),
    Case(
        "a /rooms/ page without /join is no BigBlueButton room",
        body=linked("https://www.example.com/rooms/abc-def-ghi-jkl"),
    ),
    Case("a service's bare site is no room", body=linked("https://whereby.com/") + linked("https://join.me")),
    Case(
        "a tidy personal room in a signature does not displace an older meeting id (shapes never rank)",
        body=linked("https://zoom.us/j/12345678") + "<p>--<br>Bob</p>" + linked("https://zoom.us/my/bob.example"),
        provider="zoom",
        join="https://zoom.us/j/12345678",
    ),
    Case("scheme-less link is not synthesised", body="meet.google.com/abc-defg-hij", body_type="text"),
    Case("unknown links give nothing", body=linked("https://www.example.com/j/1234567890")),
    Case("mixed-case script tag text ignored", body="<sCrIpt>var u='https://meet.google.com/abc-defg-hij'</SCRipt>"),
    Case(
        "script and style text ignored",
        body="<style>a{background:url(https://zoom.us/j/1234567890)}</style>"
        "<script>var u='https://meet.google.com/abc-defg-hij'</script><p>No meeting</p>",
    ),
]

SIP_CASES = [
    Case(
        "explicit sip: in text",
        body="Video: sip:room42@video.contoso.com",
        body_type="text",
        provider="sip",
        sip="room42@video.contoso.com",
    ),
    Case(
        "sips: prefix removed",
        body="sips:boardroom@contoso.com",
        body_type="text",
        provider="sip",
        sip="boardroom@contoso.com",
    ),
    Case(
        "all-digit user without prefix",
        body="Dial 123456@contoso.com from a room system",
        body_type="text",
        provider="sip",
        sip="123456@contoso.com",
    ),
    Case("ordinary e-mail is not a video address", body="Questions? jane.doe@contoso.com", body_type="text"),
    Case("mailto e-mail ignored", body='<a href="mailto:jane@contoso.com">jane@contoso.com</a>'),
    Case(
        "webex site address",
        body="Join by video system: 25519347780@acme.webex.com",
        body_type="text",
        provider="webex",
        sip="25519347780@acme.webex.com",
    ),
    Case(
        "video system beats Skype for Business interop",
        body="25519347780.acme@lync.webex.com or jdoe@acme.webex.com",
        body_type="text",
        provider="webex",
        sip="jdoe@acme.webex.com",
    ),
    Case(
        "zoom crc",
        body="SIP: 84512345678@zoomcrc.com",
        body_type="text",
        provider="zoom",
        sip="84512345678@zoomcrc.com",
    ),
    Case(
        "chime",
        body="SIP: 1234567890@meet.chime.in",
        body_type="text",
        provider="chime",
        sip="1234567890@meet.chime.in",
    ),
    Case(
        "teams CVI via BlueJeans keeps teams",
        body="Join with a video conferencing device\n123456789@teams.bjn.vc",
        body_type="text",
        provider="teams",
        sip="123456789@teams.bjn.vc",
    ),
    Case("teams CVI via Poly", body="contoso@t.plcm.vc", body_type="text", provider="teams", sip="contoso@t.plcm.vc"),
    Case(
        "lifesize",
        body="Room systems: 1234567@sip.lifesizecloud.com",
        body_type="text",
        provider="lifesize",
        sip="1234567@sip.lifesizecloud.com",
    ),
    Case(
        "address in a VTC section",
        body="Join with a video conferencing device\ncontoso@video.contoso.com\nVideo Conference ID: 1174470025",
        body_type="text",
        provider="teams",
        sip="contoso@video.contoso.com",
    ),
    Case(
        "address in a VTC section with an upper-case heading",
        body="JOIN WITH A VIDEO CONFERENCING DEVICE\nboardroom@vtc.contoso.com",
        body_type="text",
        provider="teams",
        sip="boardroom@vtc.contoso.com",
    ),
    Case(
        "address inside a URL query is not a video address", body=linked("https://www.example.com/?u=123@contoso.com")
    ),
    Case(
        "location address beats body address",
        location="sip:boardroom@contoso.com",
        body="SIP: 84512345678@zoomcrc.com",
        body_type="text",
        provider="sip",
        sip="boardroom@contoso.com",
    ),
    Case(
        "sip href",
        body='<a href="sip:room7@video.contoso.com">Room 7</a>',
        provider="sip",
        sip="room7@video.contoso.com",
    ),
]

KEYWORD_CASES = [
    Case("@webex alone", location="@webex", keyword="@webex"),
    Case("@meet alone", location="@meet", keyword="@meet"),
    Case("case-insensitive", location="@WebEx", keyword="@webex"),
    Case("with room", location="Conf Room 4B; @webex", keyword="@webex"),
    Case("modifier space", location="@meet:space", keyword="@meet", modifier="space"),
    Case("modifier myroom", location="@webex:myroom", keyword="@webex", modifier="myroom"),
    Case("modifier onetime, upper case", location="@WEBEX:ONETIME, Room 1", keyword="@webex", modifier="onetime"),
    Case("unknown modifier is no keyword", location="@webex:later"),
    Case("e-mail address is no keyword", location="team@webex.com"),
    Case("dotted is no keyword", location="@webex.com"),
    Case("hyphenated is no keyword", location="pre-@webex"),
    Case("longer word is no keyword", location="@webexteams"),
    Case("in parentheses", location="(@meet)", keyword="@meet"),
    Case("keyword in body is ignored", body="<p>@webex</p>"),
    Case(
        "keyword reported with join info",
        location="@webex",
        body=invites.ZOOM_HTML,
        keyword="@webex",
        provider="zoom",
        join=invites.ZOOM_URL,
        sip="84512345678@zoomcrc.com",
    ),
    Case("first keyword wins", location="@meet then @webex", keyword="@meet"),
    Case("colon then space", location="@webex: Room 2", keyword="@webex"),
]

INVITE_CASES = [
    Case(
        "Teams HTML invitation",
        body=invites.TEAMS_HTML,
        provider="teams",
        join=invites.TEAMS_URL,
        sip="contoso@m.webex.com",
    ),
    Case(
        "Teams text invitation",
        body=invites.TEAMS_TEXT,
        body_type="text",
        provider="teams",
        join=invites.TEAMS_URL,
        sip="contoso@m.webex.com",
    ),
    Case(
        "Zoom HTML invitation",
        body=invites.ZOOM_HTML,
        provider="zoom",
        join=invites.ZOOM_URL,
        sip="84512345678@zoomcrc.com",
    ),
    Case(
        "Zoom text invitation",
        body=invites.ZOOM_TEXT,
        body_type="text",
        provider="zoom",
        join=invites.ZOOM_URL,
        sip="84512345678@zoomcrc.com",
    ),
    Case(
        "Webex HTML invitation",
        body=invites.WEBEX_HTML,
        provider="webex",
        join=invites.WEBEX_JOINSERVICE,
        sip="25519347780@acme.webex.com",
    ),
    Case(
        "Google Meet invitation",
        body=invites.MEET_HTML,
        provider="google_meet",
        join="https://meet.google.com/abc-defg-hij?authuser=0&hs=122",
    ),
    Case(
        "Zoom invitation then a signature personal room",
        body=invites.ZOOM_HTML + invites.SIGNATURE_HTML,
        provider="zoom",
        join=invites.ZOOM_URL,
        sip="84512345678@zoomcrc.com",
    ),
    Case(
        "Teams invitation padded with a newsletter",
        body=invites.filler(15000) + invites.TEAMS_HTML,
        provider="teams",
        join=invites.TEAMS_URL,
        sip="contoso@m.webex.com",
    ),
    Case(
        "only a signature personal room",
        body="<p>Lunch?</p>" + invites.SIGNATURE_HTML,
        provider="zoom",
        join="https://zoom.us/my/bob.example",
    ),
]

BAD_INPUT_CASES = [
    Case("nothing at all"),
    Case(
        "broken HTML",
        body="<p><a href='https://zoom.us/j/1234567890'>Join<div><table><tr><td>Meeting ID: 1",
        provider="zoom",
        join="https://zoom.us/j/1234567890",
    ),
    Case("unclosed attribute quote", body='<a href="https://zoom.us/j/1234567890>Join</a> text'),
    Case(
        "lone surrogate-like damage",
        body="caf\udcc3 https://meet.jit.si/Room \ufffd",
        body_type="text",
        provider="jitsi",
        join="https://meet.jit.si/Room",
    ),
    Case(
        "control characters around a link",
        body="\x00\x01https://meet.jit.si/Room\x07",
        body_type="text",
        provider="jitsi",
        join="https://meet.jit.si/Room",
    ),
    Case(
        "unknown body type read as HTML",
        body="<p>https://meet.jit.si/Room</p>",
        body_type="xml",
        provider="jitsi",
        join="https://meet.jit.si/Room",
    ),
    Case(
        "non-web online meeting url ignored",
        online="mailto://x@contoso.com",
        body=linked("https://meet.jit.si/Room"),
        provider="jitsi",
        join="https://meet.jit.si/Room",
    ),
    Case(
        "unresolvable wrapped online meeting url ignored",
        online="https://protect-us.mimecast.com/s/AbC",
        body=linked("https://meet.jit.si/Room"),
        provider="jitsi",
        join="https://meet.jit.si/Room",
    ),
    Case(
        "unclassified online meeting url is still authoritative",
        online="https://video.contoso.com/join/123",
        body=linked("https://meet.jit.si/Room"),
        join="https://video.contoso.com/join/123",
    ),
    Case(
        "garbage online meeting url ignored",
        online="not a url",
        body=linked("https://meet.jit.si/Room"),
        provider="jitsi",
        join="https://meet.jit.si/Room",
    ),
]

ALL_CASES = (
    PROVIDER_CASES
    + NON_JOIN_CASES
    + WRAPPER_CASES
    + RULE_CASES
    + SIP_CASES
    + KEYWORD_CASES
    + INVITE_CASES
    + BAD_INPUT_CASES
)


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.name for c in ALL_CASES])
def test_corpus(case: Case) -> None:
    result = extract_join_info(case.location, case.body, case.body_type, case.online)
    assert (result.provider, result.join_url, result.sip_uri, result.keyword, result.keyword_modifier) == (
        case.provider,
        case.join,
        case.sip,
        case.keyword,
        case.modifier,
    )


def test_corpus_is_large_enough() -> None:
    assert len(ALL_CASES) >= 150


def test_every_catalogue_provider_has_a_case() -> None:
    covered = {c.provider for c in ALL_CASES} | {
        extract_join_info(c.location, c.body, c.body_type).candidates[0].provider
        for c in NON_JOIN_CASES
        if extract_join_info(c.location, c.body, c.body_type).candidates
    }
    assert sorted({p.id for p in PROVIDERS} - covered) == []


def test_every_wrapper_has_a_case() -> None:
    seen = {
        w
        for c in ALL_CASES
        for cand in extract_join_info(c.location, c.body, c.body_type, c.online).candidates
        for w in cand.wrappers
    }
    assert sorted({w[0] for w in WRAPPERS} - seen) == []


def test_non_join_links_are_reported_as_candidates_for_admins() -> None:
    result = extract_join_info("", invites.TEAMS_HTML)
    kinds = {(c.kind, c.value.split("?")[0]) for c in result.candidates}
    assert ("non_join", "https://teams.microsoft.com/meetingOptions/") in kinds
    assert any(c.kind == "join_url" and c.corroborated for c in result.candidates)


@pytest.mark.parametrize(
    ("url", "usual"),
    [
        ("https://zoom.us/j/1234567890", True),
        ("https://zoom.us/j/12345678", False),
        ("https://acme.webex.com/acme/j.php?MTID=m0a1b2c3d4e5f60718293a4b5c6d7e8f9", True),
        ("https://acme.webex.com/acme/j.php?MTID=m3f2a1b0c9d", False),
        ("https://teams.microsoft.com/meet/284913770156?p=Xk3sPq", True),
        ("https://teams.microsoft.com/meet/AbCdEf123?p=XyZ987", False),
        ("https://meet.google.com/abc-defg-hij", True),
        ("https://meet.google.com/abcdefghij", False),
        ("https://global.gotomeeting.com/join/123456789", True),
        ("https://global.gotomeeting.com/join/acme-weekly", False),
    ],
)
def test_usual_id_shapes_are_reported_never_required(url: str, usual: bool) -> None:
    result = extract_join_info("", linked(url))
    assert result.join_url == url
    assert [c.usual_shape for c in result.candidates if c.via == "href"] == [usual]


def test_every_service_has_a_display_name_and_an_entry() -> None:
    assert {p.id for p in PROVIDERS} == set(SERVICES)
    assert all(name.strip() for name in SERVICES.values())
    assert len(SERVICES) > 80


def test_an_entry_without_a_display_name_is_refused() -> None:
    with pytest.raises(ValueError, match="no display name"):
        _entry("not_a_service", r"example\.com")
