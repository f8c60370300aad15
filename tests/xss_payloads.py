"""Payloads from the OWASP XSS Filter Evasion Cheat Sheet (plus Markdown link forms and
known sanitizer mutations), and a checker for a rendered page: nothing in it may run."""
from datetime import UTC, datetime
from html.parser import HTMLParser

OWASP_PAYLOADS = [
    "<SCRIPT SRC=https://xss.example/xss.js></SCRIPT>",
    ("javascript:/*--></title></style></textarea></script></xmp>"
     "<svg/onload='+/\"/+/onmouseover=1/+/[*/[]/+alert(1)//'>"),
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<IMG SRC=javascript:alert('XSS')>",
    "<IMG SRC=JaVaScRiPt:alert('XSS')>",
    "<IMG SRC=`javascript:alert(\"RSnake says, 'XSS'\")`>",
    "<a onmouseover=\"alert(document.cookie)\">xxs link</a>",
    "<IMG \"\"\"><SCRIPT>alert(\"XSS\")</SCRIPT>\"\\>",
    "<IMG SRC=javascript:alert(String.fromCharCode(88,83,83))>",
    "<IMG SRC=# onmouseover=\"alert('xxs')\">",
    "<IMG SRC=/ onerror=\"alert(String.fromCharCode(88,83,83))\"></img>",
    ("<img src=x onerror=\"&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114"
     "&#0000105&#0000112&#0000116&#0000058&#0000097&#0000108&#0000101&#0000114&#0000116"
     "&#0000040&#0000039&#0000088&#0000083&#0000083&#0000039&#0000041\">"),
    ("<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;&#97;&#108;"
     "&#101;&#114;&#116;&#40;&#39;&#88;&#83;&#83;&#39;&#41;>"),
    ("<IMG SRC=&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A&#x61&#x6C&#x65&#x72"
     "&#x74&#x28&#x27&#x58&#x53&#x53&#x27&#x29>"),
    "<IMG SRC=\"jav\tascript:alert('XSS');\">",
    "<IMG SRC=\"jav&#x09;ascript:alert('XSS');\">",
    "<IMG SRC=\"jav&#x0A;ascript:alert('XSS');\">",
    "<IMG SRC=\" &#14;  javascript:alert('XSS');\">",
    "<SCRIPT/XSS SRC=\"https://xss.example/xss.js\"></SCRIPT>",
    "<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`=alert(\"XSS\")>",
    "<<SCRIPT>alert(\"XSS\");//\\<</SCRIPT>",
    "<SCRIPT SRC=https://xss.example/xss.js?< B >",
    "</TITLE><SCRIPT>alert(\"XSS\");</SCRIPT>",
    "<INPUT TYPE=\"IMAGE\" SRC=\"javascript:alert('XSS');\">",
    "<BODY BACKGROUND=\"javascript:alert('XSS')\">",
    "<IMG DYNSRC=\"javascript:alert('XSS')\">",
    "<STYLE>li {list-style-image: url(\"javascript:alert('XSS')\");}</STYLE><UL><LI>XSS</br>",
    "<svg/onload=alert('XSS')>",
    "<LINK REL=\"stylesheet\" HREF=\"javascript:alert('XSS');\">",
    "<META HTTP-EQUIV=\"refresh\" CONTENT=\"0;url=javascript:alert('XSS');\">",
    "<IFRAME SRC=\"javascript:alert('XSS');\"></IFRAME>",
    "<FRAMESET><FRAME SRC=\"javascript:alert('XSS');\"></FRAMESET>",
    "<TABLE BACKGROUND=\"javascript:alert('XSS')\"><TR><TD BACKGROUND=\"javascript:alert('XSS')\">",
    "<DIV STYLE=\"background-image: url(javascript:alert('XSS'))\">",
    "<DIV STYLE=\"width: expression(alert('XSS'));\">",
    "<BASE HREF=\"javascript:alert('XSS');//\">",
    "<OBJECT TYPE=\"text/x-scriptlet\" DATA=\"https://xss.example/scriptlet.html\"></OBJECT>",
    "<EMBED SRC=\"data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+\" type=\"image/svg+xml\">",
    "<a href=\"javascript&colon;alert(1)\">colon</a>",
    "<a href=\"&#1;javascript:alert(1)\">control</a>",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">data</a>",
    "<form action=\"javascript:alert(1)\"><button>go</button></form>",
    "<isindex type=image src=1 onerror=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<xmp><p title=\"</xmp><svg/onload=alert(1)>\">",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "[markdown link](javascript:alert(1))",
    "[mixed case](JaVaScRiPt:alert(1))",
    "[vbscript](vbscript:msgbox(1))",
    "[data](data:text/html,<script>alert(1)</script>)",
    "![image](javascript:alert(1))",
    "[entity](&#106;avascript:alert(1))",
    "<javascript:alert(1)>",
    "[reference][r]\n\n[r]: javascript:alert(1)",
]

ALL_PAYLOADS = "\n\n".join(OWASP_PAYLOADS)


def store_payloads(user, final_postmortem, root_patterns) -> dict[str, str]:
    """Every payload in every Markdown field: one amendment each on `final_postmortem`, a
    mishap entry's text fields and items, the body of runbook ops-04 (runbooks imported).
    Returns {what: page path} of the pages that render them."""
    from costlog.services import EntryInput, record_entry
    from incidents import services
    from runbooks.models import Runbook
    from runbooks.services import edit_runbook

    for payload in OWASP_PAYLOADS:
        services.add_amendment(final_postmortem, user, payload)
    entry = record_entry(EntryInput(
        occurred_utc=datetime(2026, 3, 2, 14, 30, tzinfo=UTC), logged_zone="UTC",
        title="Payload entry", what_happened=ALL_PAYLOADS, root_cause=ALL_PAYLOADS,
        root_cause_items=OWASP_PAYLOADS, prevention_items=OWASP_PAYLOADS,
        patterns=[next(iter(root_patterns.values()))], cost_low_usd=1, cost_high_usd=1,
    ), user=user)
    runbook = Runbook.objects.get(key="ops-04")
    edit_runbook(runbook, {"body": "# Payloads\n\n" + ALL_PAYLOADS}, user)
    return {"amendment notes": f"/postmortems/{final_postmortem.pk}/",
            "mishap entry fields": f"/costs/entries/{entry.pk}/",
            "runbook body": "/runbooks/ops-04/"}


FORBIDDEN_TAGS = {"script", "style", "iframe", "frame", "frameset", "object", "embed", "base",
                  "meta", "svg", "math", "isindex", "xmp", "noscript", "applet"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "background", "dynsrc", "lowsrc",
                  "data", "xlink:href", "poster"}
SAFE_SCHEMES = ("http://", "https://", "mailto:", "/", "#", "?")


class PageScan(HTMLParser):
    """Everything in a page that could run script: handlers, styles, dangerous tags and
    URLs, scripts that are not the page's own (same-origin /static/ files)."""

    def __init__(self, own_head_tags=("link",)):
        super().__init__()
        self.found: list[str] = []
        self.in_head = False

    def handle_starttag(self, tag, attrs):
        if tag == "head":
            self.in_head = True
        if tag == "body":
            self.in_head = False
        attributes = dict(attrs)
        if tag == "script" and not (attributes.get("src") or "").startswith("/static/"):
            self.found.append(f"<script {attributes}>")
        elif tag in FORBIDDEN_TAGS - {"script", "meta"}:
            self.found.append(f"<{tag}>")
        if tag == "meta" and "http-equiv" in attributes:
            self.found.append(f"<meta http-equiv={attributes['http-equiv']}>")
        if tag == "link" and not self.in_head:
            self.found.append(f"<link {attributes}> in the body")
        if tag == "input" and (attributes.get("type") or "").lower() == "image":
            self.found.append("<input type=image>")
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.found.append(f"<{tag} {name}={value!r}>")
            if name in URL_ATTRIBUTES and value is not None:
                cleaned = "".join(value.split()).lower()
                scheme = cleaned.split("/")[0]
                if cleaned and not cleaned.startswith(SAFE_SCHEMES) and ":" in scheme:
                    self.found.append(f"<{tag} {name}={value!r}>")


def dangerous_parts(html: str) -> list[str]:
    """What in `html` could run script ([] for a safe page)."""
    scan = PageScan()
    scan.feed(html)
    return scan.found
