"""The MIME message that carries a rendered reminder, built next to sending (delivery.py); content.py has its words.

No user text reaches an envelope or a header unchecked: addresses are structured, never parsed from text, and no
header value may hold a line break.
"""
from email.header import Header
from email.headerregistry import Address
from email.message import Message
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import SMTP, Compat32
from email.utils import formataddr, formatdate, make_msgid
from functools import lru_cache

from backend.reminders.content import MAIL_DOMAIN, RenderedEmail


class WirePolicy(Compat32):
    """compat32 on the wire (CRLF, 78 columns). A short printable ASCII header is written as it is, which is
    what email.header.Header writes for it (tested), without building one per header."""

    def header_store_parse(self, name: str, value):
        """Like the default policy, never a header value with a line break: it would start a header of its own."""
        if "\r" in str(value) or "\n" in str(value):
            raise ValueError(f"The {name} header may not contain a line break.")
        return super().header_store_parse(name, value)

    def _fold(self, name: str, value, sanitize: bool) -> str:
        if (isinstance(value, str) and value.isascii() and value.isprintable()
                and len(name) + 2 + len(value) <= self.max_line_length):
            return f"{name}: {value}{self.linesep}"
        return super()._fold(name, value, sanitize)


# Built with the compat32 MIME classes: the same bytes on the wire as EmailMessage with policy.SMTP, at a
# third of the cost (header objects are not parsed and re-folded), which counts at 10,000 emails a run.
WIRE = WirePolicy(linesep="\r\n", max_line_length=78)


def build_message(rendered: RenderedEmail, chart_png: bytes, sender: Address, to: Address, unsubscribe_url: str,
                  unsubscribe_mailto: str | None = None, message_id: str | None = None) -> Message:
    """multipart/alternative: the text, and the HTML related to its inline chart; one-click unsubscribe (RFC 8058)."""
    message = MIMEMultipart("alternative", policy=WIRE)
    message["From"], message["To"] = _address(sender), _address(to)
    message["Subject"] = _header_text(rendered.subject)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id or make_msgid(domain=MAIL_DOMAIN)
    message["List-Unsubscribe"] = UriList(uri for uri in (unsubscribe_url, unsubscribe_mailto) if uri)
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
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


def _header_text(text: str) -> str | Header:
    """A header of free text: as it is when ASCII, else RFC 2047 encoded."""
    return text if text.isascii() else Header(text, "utf-8")


def _address(address: Address) -> str:
    """'Name <a@b>' from a structured address (which refuses CR and LF), the name RFC 2047 encoded when not ASCII."""
    return formataddr((address.display_name, address.addr_spec), charset="utf-8")


def mailbox(name: str, email: str) -> Address:
    """A user's address as the email package builds it: the display name one line, quoted as needed, never parsed
    from text, so no name can add a recipient or a header."""
    return Address(display_name=" ".join(name.split()), addr_spec=email)


def sender_mailbox(configured: str) -> Address:
    """MAIL_SENDER ('Name <a@b>' or 'a@b', the operator's setting) as a structured address."""
    return SMTP.header_factory("From", configured).addresses[0]
