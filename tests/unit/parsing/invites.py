"""Real-looking invitation blocks (HTML and text) written by the team for the corpus and the benchmark."""

TEAMS_URL = (
    "https://teams.microsoft.com/l/meetup-join/19%3ameeting_NjQ4ZDc2YjEtZjQ5Ni00YjY1LWI1NmQtOTk4YjVkZWQ5"
    "OTdh%40thread.v2/0?context=%7b%22Tid%22%3a%2272f988bf-86f1-41af-91ab-2d7cd011db47%22%2c%22Oid%22%3a%22"
    "0f4a5c2e-3b8e-4b1f-9a7e-2f1c3d4e5f60%22%7d"
)

TEAMS_HTML = f"""<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"><style>p{{margin:0}}</style></head>
<body><div>Agenda: quarterly planning. Please read the deck before we meet.</div>
<div style="width:100%">
<div class="me-email-text" lang="en-US" style="color:#242424;font-family:'Segoe UI'">
<div style="margin-bottom:24px;overflow:hidden;white-space:nowrap">________________________________________________________________________________</div>
<div style="margin-bottom:12px"><span style="font-size:24px;font-weight:700">Microsoft Teams</span>
<a id="meet_invite_block.action.help" href="https://aka.ms/JoinTeamsMeeting?omkt=en-US">Need help?</a></div>
<div style="margin-bottom:6px"><a class="me-email-headline" href="{TEAMS_URL}" target="_blank" rel="noreferrer noopener" style="font-size:20px;font-weight:600;color:#5B5FC7">Join the meeting now</a></div>
<div style="margin-bottom:6px"><span class="me-email-text-secondary">Meeting ID: </span><span class="me-email-text">284 913 770 156</span></div>
<div style="margin-bottom:24px"><span class="me-email-text-secondary">Passcode: </span><span class="me-email-text">Xk3sPq</span></div>
<div style="margin-bottom:24px;max-width:532px"><hr style="border:0;background:#D1D1D1;height:1px"></div>
<div><span class="me-email-text-secondary">Dial in by phone</span></div>
<div><a href="tel:+12065550175,,123456789#">+1 206-555-0175,,123456789#</a> United States, Seattle</div>
<div><a href="https://dialin.teams.microsoft.com/8551f4c1-bea3-441a-8738-69aa517a91c5?id=123456789">Find a local number</a></div>
<div>Phone conference ID: 123 456 789#</div>
<div style="margin-top:20px"><span class="me-email-text-secondary">Join with a video conferencing device</span></div>
<div><span class="me-email-text">contoso@m.webex.com</span></div>
<div><span class="me-email-text-secondary">Video Conference ID: </span><span class="me-email-text">117 447 002 5</span></div>
<div><a href="https://www.webex.com/msteams?confid=1174470025&amp;tenantkey=contoso&amp;domain=m.webex.com">Alternate VTC instructions</a></div>
<div style="margin-top:20px">For organizers: <a href="https://teams.microsoft.com/meetingOptions/?organizerId=0f4a5c2e&amp;tenantId=72f988bf&amp;threadId=19_meeting_NjQ4&amp;messageId=0&amp;language=en-US">Meeting options</a> | <a href="https://dialin.teams.microsoft.com/usp/pstnconferencing">Reset dial-in PIN</a></div>
<div style="margin-top:24px;margin-bottom:6px">________________________________________________________________________________</div>
</div></div></body></html>"""

TEAMS_TEXT = f"""Agenda: quarterly planning.

________________________________________________________________________________
Microsoft Teams Need help?<https://aka.ms/JoinTeamsMeeting?omkt=en-US>
Join the meeting now<{TEAMS_URL}>
Meeting ID: 284 913 770 156
Passcode: Xk3sPq
________________________________
Dial in by phone
+1 206-555-0175,,123456789#<tel:+12065550175,,123456789#> United States, Seattle
Find a local number<https://dialin.teams.microsoft.com/8551f4c1-bea3-441a-8738-69aa517a91c5?id=123456789>
Phone conference ID: 123 456 789#
Join with a video conferencing device
contoso@m.webex.com
Video Conference ID: 117 447 002 5
Alternate VTC instructions<https://www.webex.com/msteams?confid=1174470025&tenantkey=contoso&domain=m.webex.com>
For organizers: Meeting options<https://teams.microsoft.com/meetingOptions/?organizerId=0f4a5c2e&tenantId=72f988bf>
________________________________________________________________________________
"""

ZOOM_URL = "https://us06web.zoom.us/j/84512345678?pwd=aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1.1"

ZOOM_HTML = f"""<div dir="ltr"><p>Hi there,</p>
<p>Acme Corp is inviting you to a scheduled Zoom meeting.</p>
<p>Topic: Design review<br>Time: Nov 24, 2026 10:00 AM Pacific Time (US and Canada)</p>
<p>Join Zoom Meeting<br><a href="{ZOOM_URL}">{ZOOM_URL}</a></p>
<p>Meeting ID: 845 1234 5678<br>Passcode: 482913</p>
<p>---<br>One tap mobile<br>+16694449171,,84512345678#,,,,*482913# US<br>+16699006833,,84512345678#,,,,*482913# US (San Jose)</p>
<p>Dial by your location<br>• +1 669 444 9171 US<br>Find your local number: <a href="https://us06web.zoom.us/u/kbXyZ12AbC">https://us06web.zoom.us/u/kbXyZ12AbC</a></p>
<p>Join by SIP<br>• <a href="mailto:84512345678@zoomcrc.com">84512345678@zoomcrc.com</a></p>
<p>Join by H.323<br>• 162.255.37.11 (US West)<br>• 162.255.36.11 (US East)</p>
</div>"""

ZOOM_TEXT = f"""Acme Corp is inviting you to a scheduled Zoom meeting.

Topic: Design review
Join Zoom Meeting
{ZOOM_URL}

Meeting ID: 845 1234 5678
Passcode: 482913

Find your local number: https://us06web.zoom.us/u/kbXyZ12AbC

Join by SIP
• 84512345678@zoomcrc.com
"""

WEBEX_JPHP = "https://acme.webex.com/acme/j.php?MTID=m3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c"
WEBEX_JOINSERVICE = (
    "https://acme.webex.com/wbxmjs/joinservice/sites/acme/meeting/download/"
    "0a1b2c3d4e5f60718293a4b5c6d7e8f9?siteurl=acme&MTID=m3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c"
)

WEBEX_HTML = f"""<table width="100%" style="background:#fff"><tr><td>
<div style="font-size:24px">When it's time, join your Webex meeting here.</div>
<table><tr><td style="padding:10px"><a href="{WEBEX_JOINSERVICE.replace("&", "&amp;")}" style="background:#00823B;color:#fff">Join meeting</a></td></tr></table>
<div>More ways to join:</div>
<div>Join from the meeting link<br><a href="{WEBEX_JOINSERVICE.replace("&", "&amp;")}">{WEBEX_JPHP}</a></div>
<div>Join by meeting number<br>Meeting number (access code): 2551 934 7780<br>Meeting password: Pq7Xs2Km</div>
<div>Tap to join from a mobile device (attendees only)<br><a href="tel:%2B1-415-655-0001,,25519347780##">+1-415-655-0001,,25519347780##</a> US Toll</div>
<div>Join by video system<br>Dial <a href="sip:25519347780@acme.webex.com">25519347780@acme.webex.com</a><br>You can also dial 173.243.2.68 and enter your meeting number.</div>
<div>Join using Microsoft Lync or Microsoft Skype for Business<br>Dial <a href="sip:25519347780.acme@lync.webex.com">25519347780.acme@lync.webex.com</a></div>
<div>Need help? Go to <a href="https://help.webex.com">https://help.webex.com</a></div>
<div><a href="https://acme.webex.com/acme/globalcallin.php?MTID=m3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c">Global call-in numbers</a></div>
</td></tr></table>"""

MEET_HTML = """<div>Project sync</div>
<p>-::~:~::~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~::~:~::-<br>
Join with Google Meet: <a href="https://meet.google.com/abc-defg-hij?authuser=0&amp;hs=122">https://meet.google.com/abc-defg-hij</a><br>
Or dial: &#x202A;(US) +1 347-555-0199&#x202C; PIN: &#x202A;123 456 789&#x202C;#<br>
More phone numbers: <a href="https://tel.meet/abc-defg-hij?pin=1234567890123&amp;hs=7">https://tel.meet/abc-defg-hij?pin=1234567890123</a><br>
Learn more about Meet at: <a href="https://support.google.com/a/users/answer/9282720">https://support.google.com/a/users/answer/9282720</a><br>
Please do not edit this section.<br>
-::~:~::~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~:~::~:~::-</p>"""

SIGNATURE_HTML = """<div style="font-family:Calibri">--<br><b>Bob Example</b> | Principal Engineer<br>
Acme Corp · 1 Main St · Springfield<br>
My personal room: <a href="https://zoom.us/my/bob.example">https://zoom.us/my/bob.example</a><br>
<a href="https://acme.content.exclaimer.net/?url=https%3A%2F%2Flinkedin.com%2Fcompany%2Facme">LinkedIn</a></div>"""


_SAFE = (
    "https://nam12.safelinks.protection.outlook.com/?url=https%3A%2F%2Fcontoso.sharepoint.com%2Fsites%2Fplanning"
    "%2FShared%2520Documents%2FQ{i}-plan.docx%3Fweb%3D1&amp;data=05%7C02%7Cjane.doe%40contoso.com%7C8c1d7a3e52f44c59"
    "%7C72f988bf86f141af91ab2d7cd011db47%7C0%7C0%7C638{i:03d}%7CUnknown%7CTWFpbGZsb3d8eyJFbXB0eU1hcGkiOnRydWV9%7C0%7C"
    "%7C%7C&amp;sdata=AbCdEfGhIjKlMnOpQrStUvWxYz{i:03d}%3D&amp;reserved=0"
)
_PARAGRAPH = (
    "<p class=MsoNormal style='margin:0cm;font-size:11.0pt;font-family:\"Calibri\",sans-serif'>"
    "<span style='font-size:11.0pt;font-family:\"Aptos\",sans-serif;color:#1F497D;mso-ligatures:none'>"
    "{text}</span></p>\n"
)
_WORDS = (
    "roadmap",
    "budget",
    "hiring",
    "customer escalations",
    "release train",
    "security review",
    "OKRs",
    "vendor contracts",
    "capacity",
    "retrospective",
)


def filler(size: int) -> str:
    """Outlook-style invitation prose (MsoNormal paragraphs, an agenda table, intranet and Safe Links-wrapped
    document links, about one link per 500 bytes) to pad an invitation to ``size`` bytes."""
    parts, i = ["<div class=WordSection1>"], 0
    while sum(map(len, parts)) < size:
        topic = _WORDS[i % len(_WORDS)]
        if i % 4 == 0:
            parts.append(
                _PARAGRAPH.format(
                    text=f'Pre-read for {topic}: <a href="{_SAFE.format(i=i)}">Q{i} plan</a>'
                    f' and the <a href="https://contoso.sharepoint.com/sites/planning/'
                    f'{topic.replace(" ", "-")}?id={i}">tracker</a>.'
                )
            )
        elif i % 4 == 1:
            parts.append(
                f"<table class=MsoTableGrid border=1 cellspacing=0 cellpadding=0 style='border-collapse:"
                f"collapse'><tr><td width=200 valign=top style='width:150pt;padding:0cm 5.4pt'>"
                f"{_PARAGRAPH.format(text=f'{10 + i % 50} min')}</td><td width=400 valign=top "
                f"style='width:300pt;padding:0cm 5.4pt'>{_PARAGRAPH.format(text=topic.title())}</td></tr>"
                f"</table>\n"
            )
        else:
            parts.append(
                _PARAGRAPH.format(
                    text=f"Item {i}: we will go through the {topic} and agree owners &amp; "
                    f'dates; questions to <a href="mailto:owner{i}@contoso.com">owner{i}'
                    f"@contoso.com</a> before Thursday&nbsp;noon."
                )
            )
        i += 1
    return "".join(parts) + "</div>"


OUTLOOK_HEAD = """<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:w="urn:schemas-microsoft-com:office:word" xmlns:m="http://schemas.microsoft.com/office/2004/12/omml" xmlns="http://www.w3.org/TR/REC-html40">
<head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"><meta name="Generator" content="Microsoft Word 15 (filtered medium)">
<style><!--
/* Font Definitions */
@font-face {font-family:"Cambria Math"; panose-1:2 4 5 3 5 4 6 3 2 4;}
@font-face {font-family:Calibri; panose-1:2 15 5 2 2 2 4 3 2 4;}
@font-face {font-family:Aptos; panose-1:2 11 0 4 2 2 2 2 2 4;}
@font-face {font-family:"Segoe UI"; panose-1:2 11 5 2 4 2 4 2 2 3;}
@font-face {font-family:"Segoe UI Semibold"; panose-1:2 11 7 2 4 2 4 2 2 3;}
/* Style Definitions */
p.MsoNormal, li.MsoNormal, div.MsoNormal {margin:0cm; font-size:12.0pt; font-family:"Aptos",sans-serif; mso-ligatures:standardcontextual; mso-fareast-language:EN-US;}
a:link, span.MsoHyperlink {mso-style-priority:99; color:#467886; text-decoration:underline;}
a:visited, span.MsoHyperlinkFollowed {mso-style-priority:99; color:#96607D; text-decoration:underline;}
p.MsoListParagraph, li.MsoListParagraph, div.MsoListParagraph {mso-style-priority:34; margin-top:0cm; margin-right:0cm; margin-bottom:0cm; margin-left:36.0pt; font-size:12.0pt; font-family:"Aptos",sans-serif;}
span.EmailStyle17 {mso-style-type:personal-compose; font-family:"Aptos",sans-serif; color:windowtext;}
span.me-email-text {mso-style-name:me-email-text;}
span.me-email-text-secondary {mso-style-name:me-email-text-secondary;}
span.me-email-headline {mso-style-name:me-email-headline;}
.MsoChpDefault {mso-style-type:export-only; font-size:10.0pt; mso-ligatures:none; mso-fareast-language:EN-US;}
@page WordSection1 {size:612.0pt 792.0pt; margin:72.0pt 72.0pt 72.0pt 72.0pt;}
div.WordSection1 {page:WordSection1;}
/* List Definitions */
@list l0 {mso-list-id:1046224394; mso-list-type:hybrid; mso-list-template-ids:-1409412548 134807553 134807555 134807557 134807553 134807555 134807557 134807553 134807555 134807557;}
@list l0:level1 {mso-level-number-format:bullet; mso-level-text:\\F0B7; mso-level-tab-stop:none; mso-level-number-position:left; text-indent:-18.0pt; font-family:Symbol;}
@list l0:level2 {mso-level-number-format:bullet; mso-level-text:o; mso-level-tab-stop:none; mso-level-number-position:left; text-indent:-18.0pt; font-family:"Courier New";}
@list l0:level3 {mso-level-number-format:bullet; mso-level-text:\\F0A7; mso-level-tab-stop:none; mso-level-number-position:left; text-indent:-18.0pt; font-family:Wingdings;}
ol {margin-bottom:0cm;} ul {margin-bottom:0cm;}
--></style><!--[if gte mso 9]><xml>
<o:shapedefaults v:ext="edit" spidmax="1026" />
</xml><![endif]--><!--[if gte mso 9]><xml>
<o:shapelayout v:ext="edit">
<o:idmap v:ext="edit" data="1" />
</o:shapelayout></xml><![endif]-->
</head>
<body lang="EN-US" link="#467886" vlink="#96607D" style="word-wrap:break-word">
"""
