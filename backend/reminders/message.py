"""The MIME message that carries a rendered reminder, built next to sending (delivery.py); content.py has its words.

Its headers and addresses come from backend/mail/headers.py, which lets no line break or parsed text through.
"""
from email.headerregistry import Address
from email.message import Message
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid
from functools import lru_cache

from backend.mail.headers import MAIL_DOMAIN, WIRE, address, header_text
from backend.reminders.content import RenderedEmail


def build_message(rendered: RenderedEmail, chart_png: bytes, sender: Address, to: Address, unsubscribe_url: str,
                  unsubscribe_mailto: str | None = None, message_id: str | None = None) -> Message:
    """multipart/alternative: the text, and the HTML related to its inline chart; one-click unsubscribe (RFC 8058)."""
    message = MIMEMultipart("alternative", policy=WIRE)
    message["From"], message["To"] = address(sender), address(to)
    message["Subject"] = header_text(rendered.subject)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id or make_msgid(domain=MAIL_DOMAIN)
    message["List-Unsubscribe"] = UriList(uri for uri in (unsubscribe_url, unsubscribe_mailto) if uri)
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message["Content-Language"] = rendered.language
    message.attach(MIMEText(rendered.text, "plain", "utf-8", policy=WIRE))
    related = MIMEMultipart("related", policy=WIRE)
    related.attach(MIMEText(rendered.html, "html", "utf-8", policy=WIRE))
    related.attach(chart_part(chart_png, rendered.chart_cid))
    message.attach(related)
    return message


@lru_cache(maxsize=256)
def chart_part(chart_png: bytes, cid: str) -> MIMEImage:
    """The inline chart, encoded once per chart: a child's recipients share it (generators only read parts)."""
    image = MIMEImage(chart_png, "png", policy=WIRE)
    image["Content-ID"] = f"<{cid}>"
    image.add_header("Content-Disposition", "inline", filename="trend-chart.png")
    return image


class UriList:
    """List-Unsubscribe (RFC 2369): folded between its <...> entries only, never inside one, never encoded.

    compat32 writes any header that is not a str through its `encode`, as it does an email.header.Header.
    """

    def __init__(self, uris):
        self.entries = [f"<{uri}>" for uri in uris]

    def __str__(self) -> str:
        return ", ".join(self.entries)

    def encode(self, linesep: str = "\n", maxlinelen: int | None = None) -> str:
        fits = len("List-Unsubscribe: " + str(self)) <= (maxlinelen or 78)
        return str(self) if fits else ("," + linesep + " ").join(self.entries)


