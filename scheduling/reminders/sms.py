"""Text messages: GSM-7 arithmetic, and the providers that carry a text to a phone.

A text is reply-free and short: at most two segments of the GSM 03.38 alphabet (306
characters; an extension character such as `[` or `€` counts two). `gsm7` turns anything
else into its closest plain letter, so a clinic named "Łódź Infusion" never switches a text to
UCS-2, which would fit 134 characters in two segments.

Providers: `TwilioProvider` (Twilio's REST API: POST form-encoded To, From and Body to
`{base}/2010-04-01/Accounts/{sid}/Messages.json` with basic auth) and `FileProvider`, which
writes each text as a file under `var/sms/` for a person to read (the embedded default).
`sms_provider()` builds the one SMS_URL names. No provider library is needed: the standard
library's HTTP client is enough for one POST.
"""

from __future__ import annotations

import base64
import json
import re
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

# GSM 03.38: the basic set (one septet each) and the extension set (an escape and one septet).
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = "^{}\\[~]|€\f"
# One segment alone holds 160; a message of several holds 153 in each (the rest is the header).
SEGMENT = 160
MULTIPART_SEGMENT = 153
MAX_SEGMENTS = 2
MAX_LENGTH = MULTIPART_SEGMENT * MAX_SEGMENTS  # 306

_REPLACEMENTS = {
    "‘": "'",
    "’": "'",
    "“": '"',
    "”": '"',
    "–": "-",
    "—": "-",
    "…": "...",
    "\u00a0": " ",
    # Letters with no decomposition to a plain one.
    "Ł": "L",
    "ł": "l",
    "Đ": "D",
    "đ": "d",
    "ı": "i",
    "Œ": "OE",
    "œ": "oe",
    "Þ": "Th",
    "þ": "th",
    "ð": "d",
}


class SmsError(OSError):
    """The provider did not take the text: the row is retried like a refused email (an OSError, as a socket's)."""


def gsm7(text: str) -> str:
    """`text` in the GSM-7 alphabet: typographic marks made plain, accents dropped where GSM-7 lacks them."""
    out = []
    for char in text:
        char = _REPLACEMENTS.get(char, char)
        if all(part in GSM7_BASIC or part in GSM7_EXTENDED for part in char):
            out.append(char)
            continue
        plain = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
        out.append(plain if plain else "?")
    return "".join(out)


def gsm7_length(text: str) -> int:
    """Septets the text takes: an extension character counts two. Raises ValueError outside GSM-7."""
    length = 0
    for char in text:
        if char in GSM7_BASIC:
            length += 1
        elif char in GSM7_EXTENDED:
            length += 2
        else:
            raise ValueError(f"{char!r} is not in the GSM-7 alphabet")
    return length


def segments(text: str) -> int:
    """How many SMS segments the (GSM-7) text is sent as."""
    length = gsm7_length(text)
    return 1 if length <= SEGMENT else -(-length // MULTIPART_SEGMENT)


def tidy(text: str) -> str:
    """A rendered template as one text: blank lines and runs of spaces gone, lines kept."""
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line)


# --- Providers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TwilioProvider:
    """Twilio's Messages API, or anything that speaks its shape (a test's local server)."""

    base_url: str
    account_sid: str
    auth_token: str
    sender: str
    timeout: float = 10

    def send(self, *, to: str, body: str) -> str:
        url = f"{self.base_url.rstrip('/')}/2010-04-01/Accounts/{urllib.parse.quote(self.account_sid)}/Messages.json"
        data = urllib.parse.urlencode({"To": to, "From": self.sender, "Body": body}).encode()
        credentials = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked when SMS_URL is read
            url,
            data=data,
            method="POST",
            headers={"Authorization": f"Basic {credentials}", "Content-Type": "application/x-www-form-urlencoded"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                answer = response.read()
        except urllib.error.HTTPError as error:
            # The provider's own sentence, never the text (it carries the patient's first name).
            detail = error.read()[:300].decode("utf-8", "replace")
            raise SmsError(f"The SMS provider answered {error.code}: {detail}") from None
        try:
            return str(json.loads(answer).get("sid", ""))
        except (ValueError, AttributeError):
            return ""


@dataclass(frozen=True)
class FileProvider:
    """Each text written as a file under `directory`, named by time and number, for a person to read."""

    directory: Path

    def send(self, *, to: str, body: str) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S-%f")
        path = self.directory / f"{stamp}-{re.sub(r'[^0-9+]', '', to)}.txt"
        path.write_text(f"To: {to}\nSegments: {segments(body)}\n\n{body}\n", encoding="utf-8")
        return path.name


def provider_from_url(url: str, *, timeout: float = 10, file_directory: Path | None = None):
    """The provider SMS_URL names.

    `twilio://SID:TOKEN@api.twilio.com?from=+15550001111` (HTTPS), `twilio+http://…` for a
    stand-in on a closed network or in tests, `file:///path` or `file://` for files (by
    default under var/sms/).
    """
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme == "file":
        return FileProvider(Path(parsed.path) if parsed.path else (file_directory or Path("var/sms")))
    if parsed.scheme in ("twilio", "twilio+http", "twilio+https"):
        sender = urllib.parse.parse_qs(parsed.query).get("from", [""])[0]
        if not (parsed.username and parsed.password and parsed.hostname and sender):
            raise ValueError("SMS_URL needs the account SID, the auth token, a host and ?from=<number>.")
        scheme = "http" if parsed.scheme == "twilio+http" else "https"
        host = parsed.hostname + (f":{parsed.port}" if parsed.port else "")
        return TwilioProvider(
            base_url=f"{scheme}://{host}",
            account_sid=urllib.parse.unquote(parsed.username),
            auth_token=urllib.parse.unquote(parsed.password),
            # A + in a query string reads as a space unless it was written %2B.
            sender=sender.replace(" ", "+"),
            timeout=timeout,
        )
    raise ValueError(f"SMS_URL has an unknown scheme {parsed.scheme!r}: use twilio://, twilio+http:// or file://.")


def sms_provider():
    """The provider of this installation's SMS_URL (settings), read on every send so a test can point it elsewhere."""
    return provider_from_url(
        settings.SMS_SECRET_URL, timeout=settings.SMS_TIMEOUT, file_directory=Path(settings.VAR_DIR) / "sms"
    )
