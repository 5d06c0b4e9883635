"""What a mail says: its own words and the files it carries.

The text is the mail's text part, or its HTML as text when that part is missing or empty,
decoded as browsers decode the charset it names (WHATWG labels: gb2312 is read as GB18030,
iso-8859-1 as windows-1252). A mail that forwards another as an attachment (message/rfc822)
is read through to it. Of a reply, the quoted mail (its attribution line and the `>` lines
after it, an Outlook-style From:/Sent: block, `>` lines ending the mail) and the signature
after a `-- ` line are left out; text written below the quote is kept. A forward (Fwd:/Fw:
subject, a "Forwarded message" line) is kept whole. HTML becomes text in one pass of
libxml2's parser (linear time, nesting capped), links kept as `text (url)`, quoted blocks as
`>` lines; a document it cannot read gives empty text, never an error.
"""
from __future__ import annotations

import codecs
import email.message
import re
from collections.abc import Iterator

MAX_ATTACHMENTS = 20
# HTML past this many elements is not read: a mail's words come first, and the walk over the
# tree is what costs (an element's worth of Python each), not libxml2's parse.
MAX_HTML_ELEMENTS = 20_000
MAX_LINES = 20_000  # of a text searched for its reply: the reply comes first
MAX_FORWARD_DEPTH = 3

_FORWARD_SUBJECT = re.compile(r"^\s*(?:fwd?|wg|tr|rv|enc|vs|doorst)\s*:", re.IGNORECASE)
_FORWARD_LINE = re.compile(
    r"^[\s>]*-*\s*(?:begin forwarded message|forwarded message|weitergeleitete nachricht|anfang der weitergeleiteten"
    r" e-mail|message transféré|début du message réexpédié|mensaje reenviado|messaggio inoltrato|doorgestuurd bericht"
    r"|vidarebefordrat meddelande|пересылаемое сообщение|переслано)\b", re.IGNORECASE)
# A reply's attribution line, in the languages mail clients write it in.
_WROTE = re.compile(
    r"^>?\s*(?:On\s.+\swrote|Am\s.+\sschrieb.*|Le\s.+\sa\s+écrit\s*|El\s.+\sescribió|Em\s.+\sescreveu"
    r"|Il\s.+\sha\s+scritto|Op\s.+\s(?:schreef|geschreven).*|Den\s.+\sskrev.*|W\sdniu\s.+\spisze"
    r"|.+\sнаписал(?:\(а\)|а)?|.+\sskrev|.+\skirjoitti|.+\s(?:wrote|schrieb|a écrit|escribió|написал)):\s*$",
    re.IGNORECASE)
_DATE_OR_ADDRESS = re.compile(r"@|\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|\b(?:19|20)\d\d\b")
_OPENER = re.compile(r"^(?:On|Am|Le|El|Em|Il|Op|Den|W dniu)\s", re.IGNORECASE)
_HEADER = re.compile(r"^[\s>]*\*?([^\W\d_][\w -]{0,20}?)\*?\s*:", re.UNICODE)
_FROM_NAMES = {"from", "von", "de", "van", "från", "fra", "от", "od", "da", "lähettäjä", "feladó"}
_HEADER_NAMES = _FROM_NAMES | {
    "sent", "date", "to", "cc", "subject", "reply-to", "gesendet", "datum", "an", "betreff", "envoyé", "à", "objet",
    "enviado", "fecha", "para", "asunto", "inviato", "a", "oggetto", "verzonden", "aan", "onderwerp", "skickat",
    "till", "ämne", "отправлено", "дата", "кому", "тема", "копия", "wysłano", "do", "temat", "kopia"}
_SEPARATOR = re.compile(
    r"^[\s>]*(?:-+\s*(?:original message|ursprüngliche nachricht|message d'origine|mensaje original"
    r"|messaggio originale|oorspronkelijk bericht|исходное сообщение|wiadomość oryginalna)\s*-+|[_-]{10,})\s*$",
    re.IGNORECASE)
_SIGNATURE = "-- "  # RFC 3676's delimiter; a bare "--" is text (a divider, an option, code)


# --- the text


def text(message: email.message.EmailMessage, depth: int = 0) -> str:
    """The mail's own words, then the text of a mail it forwards as an attachment."""
    own = own_words(_body_text(message), forwarded=bool(_FORWARD_SUBJECT.match(str(message.get("Subject", "")))))
    inner = _forwarded_message(message) if depth < MAX_FORWARD_DEPTH else None
    if inner is None:
        return own
    heading = (f"---------- Forwarded message ----------\nFrom: {inner.get('From', '')}\n"
               f"Subject: {inner.get('Subject', '')}")
    return "\n\n".join(p for p in (own, heading, text(inner, depth + 1)) if p)


def _body_text(message: email.message.EmailMessage) -> str:
    """The text part, unless it is missing or blank: then the HTML part, as text."""
    plain = message.get_body(preferencelist=("plain",))
    content = decoded(plain) if plain is not None else ""
    if content.strip():
        return content
    html = message.get_body(preferencelist=("html",))
    return html_text(decoded(html)) if html is not None else ""


def _forwarded_message(message: email.message.EmailMessage) -> email.message.EmailMessage | None:
    for part in message.walk():
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            return inner if isinstance(inner, email.message.EmailMessage) else None
    return None


def decoded(part: email.message.Message) -> str:
    """A part's text, decoded as a browser decodes its charset label (WHATWG Encoding);
    no label or an unknown one: UTF-8 when it is valid, windows-1252 otherwise."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    codec = charset_codec(part.get_content_charset())
    if codec is None:
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError:
            codec = codecs.lookup("cp1252")
    return codec.decode(payload, "replace")[0]


def charset_codec(label: str | None) -> codecs.CodecInfo | None:
    """The decoder for a charset label as WHATWG's Encoding standard reads it (None: an unknown label)."""
    import webencodings  # the WHATWG label table, with the decoders Python lacks (x-user-defined, replacement)

    encoding = webencodings.lookup(label or "")
    if encoding is None:
        return None
    # WHATWG's GBK decoder is its GB18030 decoder; webencodings hands back Python's narrower gbk.
    return codecs.lookup("gb18030") if encoding.name == "gbk" else encoding.codec_info


# --- the reply alone


def own_words(body: str, forwarded: bool = False) -> str:
    """A reply without the mail it quotes and without its signature; a forward, whole.

    One pass over the lines: a From:/Sent: block ends the reply, and so does an attribution
    line not followed by `>` lines; one followed by them is skipped with them, and what comes
    after (bottom-posting) is kept; lines after a `-- ` line are the signature until a quote
    starts; `>` lines that end the mail are a quote too."""
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n", MAX_LINES)[:MAX_LINES]
    if forwarded or _forward_before_quote(lines):
        return body.strip()
    kept: list[str] = []
    in_signature = False
    i = 0
    while i < len(lines):
        if _header_block_at(lines, i):
            break
        span = _attribution_at(lines, i)
        if span and not _quote_follows(lines, i + span):
            break  # a quote without `>` marks runs to the end
        if span:
            i = _after_quote(lines, i + span)
            in_signature = False
            continue
        in_signature = in_signature or lines[i] == _SIGNATURE
        if not in_signature:
            kept.append(lines[i].rstrip())
        i += 1
    # What ends the mail after the reply: blank lines, a separator, the `>` lines of a quote
    # that has no attribution (`>` lines with text after them are the sender's: code, prompts).
    while kept and (not kept[-1].strip() or _SEPARATOR.match(kept[-1]) or kept[-1].lstrip().startswith(">")):
        kept.pop()
    return "\n".join(kept).strip()


def _forward_before_quote(lines: list[str]) -> bool:
    """A "Forwarded message" line comes before anything that marks a reply."""
    for i, line in enumerate(lines):
        if _FORWARD_LINE.match(line):
            return True
        if _header_block_at(lines, i) or _attribution_at(lines, i):
            return False
    return False


def _header_name(line: str) -> str | None:
    match = _HEADER.match(line)
    name = match.group(1).strip().lower() if match else None
    return name if name in _HEADER_NAMES else None


def _header_block_at(lines: list[str], i: int) -> bool:
    """At least two header lines in a row, one of them the sender's (From:, Von:, От: ...)."""
    names = []
    for line in lines[i:i + 6]:
        name = _header_name(line)
        if name is None:
            break
        names.append(name)
    return len(names) >= 2 and not _FROM_NAMES.isdisjoint(names)


def _attribution_at(lines: list[str], i: int) -> int:
    """How many lines (up to 3: clients wrap it) the attribution starting at line i spans; 0 if none.
    A line ending with a colon that names an address or a date counts when quoted lines follow."""
    for span in (1, 2, 3):
        if i + span > len(lines) or not lines[i + span - 1].strip() or (span == 2 and not _wrapped(lines[i])):
            return 0
        said = " ".join(line.strip() for line in lines[i:i + span])
        if len(said) > 300:
            return 0
        if _WROTE.match(said):
            return span
        if said.endswith(":") and _DATE_OR_ADDRESS.search(said) and _quote_follows(lines, i + span):
            return span
    return 0


def _wrapped(line: str) -> bool:
    """The first line of an attribution its client wrapped: cut inside an address, or its
    opening words with a date or an address."""
    return line.count("<") > line.count(">") or bool(_OPENER.match(line.strip()) and _DATE_OR_ADDRESS.search(line))


def _quote_follows(lines: list[str], i: int) -> bool:
    for line in lines[i:i + 3]:
        if line.strip():
            return line.lstrip().startswith(">")
    return False


def _after_quote(lines: list[str], i: int) -> int:
    """The first line after the blank and `>` lines starting at line i."""
    while i < len(lines) and (not lines[i].strip() or lines[i].lstrip().startswith(">")):
        i += 1
    return i


# --- HTML as text

_BREAKS = {"br": 1, "div": 1, "li": 1, "tr": 1, "dt": 1, "dd": 1, "hr": 1, "p": 2, "h1": 2,
           "h2": 2, "h3": 2, "h4": 2, "h5": 2, "h6": 2, "pre": 2, "table": 2, "ul": 2, "ol": 2, "dl": 2,
           "blockquote": 2, "section": 1, "article": 1, "header": 1, "footer": 1, "address": 1, "center": 1}
_SKIPPED = {"script", "style", "head", "title", "template"}
_LINKED = re.compile(r"^(?:https?|ftp|mailto):", re.IGNORECASE)


class _Lines:
    """Text laid out in lines, each with its quote depth; breaks between blocks collapse."""

    def __init__(self) -> None:
        self.lines: list[tuple[int, bool, list[str]]] = []
        self.emitted: list[str] = []
        self.pending = 0
        self.depth = 0

    def brk(self, count: int) -> None:
        self.pending = max(self.pending, count)

    def line_break(self) -> None:
        """A <br>: each one is a line end, so two make an empty line."""
        self.pending += 1

    def add(self, words: str, verbatim: bool) -> None:
        if not verbatim and not words.strip():
            if self.lines and self.lines[-1][2]:
                self.lines[-1][2].append(" ")
            return
        if self.pending or not self.lines:
            for _ in range(self.pending - 1 if self.lines else 0):  # an empty line belongs to the outer block
                self.lines.append((min(self.depth, self.lines[-1][0]), False, []))
            self.lines.append((self.depth, verbatim, []))
            self.pending = 0
        self.emitted.append(words)
        first, *rest = words.split("\n") if verbatim else [words]
        self.lines[-1][2].append(first)
        for line in rest:
            self.lines.append((self.depth, True, [line]))

    def since(self, mark: int) -> str:
        """The text added since len(self.emitted) was mark."""
        return "".join(self.emitted[mark:])

    def render(self) -> str:
        out = []
        for depth, verbatim, parts in self.lines:
            joined = "".join(parts)
            line = joined.rstrip() if verbatim else " ".join(joined.split())
            if line == "--" and joined != joined.rstrip():  # "--&nbsp;": the signature's delimiter
                out.append("> " * depth + _SIGNATURE)
                continue
            out.append(("> " * depth + line).rstrip())
        return "\n".join(out).strip("\n")


def html_text(markup: str) -> str:
    """HTML as text, in one pass of libxml2's parser (linear time; its nesting limit holds) over
    the first MAX_HTML_ELEMENTS elements."""
    import lxml.etree  # only where mail is read

    parser = lxml.etree.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True)
    try:
        root = lxml.etree.fromstring(markup.encode("utf-8", "replace"), parser)
    except (lxml.etree.LxmlError, ValueError):  # an empty or unreadable document: no text
        return ""
    if root is None:
        return ""
    out = _Lines()
    skipping = pre = 0
    links: list[tuple[str, int]] = []
    elements = 0
    for event, element in lxml.etree.iterwalk(root, events=("start", "end")):
        tag = element.tag if isinstance(element.tag, str) else ""
        if event == "start":
            elements += 1
            if elements > MAX_HTML_ELEMENTS:
                break
            skipping += tag in _SKIPPED
            pre += tag == "pre"
            if tag == "br":
                out.line_break()
            elif tag in _BREAKS:
                out.brk(_BREAKS[tag])
            out.depth += tag == "blockquote"
            if tag == "a":
                links.append((str(element.get("href") or "").strip(), len(out.emitted)))
            if element.text and not skipping:
                out.add(element.text, bool(pre))
            continue
        if tag == "a" and links:
            _link(out, *links.pop())
        skipping -= tag in _SKIPPED
        pre -= tag == "pre"
        out.depth -= tag == "blockquote"
        if tag in _BREAKS and tag != "br":
            out.brk(_BREAKS[tag])
        elif tag in ("td", "th"):
            out.add(" ", False)
        if element.tail and not skipping:
            out.add(element.tail, bool(pre))
    return re.sub(r"\n{3,}", "\n\n", out.render())


def _link(out: _Lines, href: str, mark: int) -> None:
    """A link's target after its text, unless the text already says it."""
    if not _LINKED.match(href):
        return
    target = href[7:] if href.lower().startswith("mailto:") else href
    if out.since(mark).strip() not in (href, target):
        out.add(f" ({target})", False)


# --- the attachments


def attachments(message: email.message.EmailMessage) -> list[dict[str, object]]:
    """Every file the mail carries, however deep: name, type and size (at most MAX_ATTACHMENTS)."""
    found = []
    for part in _files(message):
        payload = part.get_payload(decode=True)
        found.append({"name": part.get_filename() or "(unnamed)", "type": part.get_content_type(),
                      "size": len(payload) if isinstance(payload, bytes) else 0})
        if len(found) == MAX_ATTACHMENTS:
            break
    return found


def _files(message: email.message.EmailMessage) -> Iterator[email.message.Message]:
    """The leaf parts that are files: named, marked as attachments, or not text (a mail that is
    one PDF is that file); inline text parts are the body and its alternatives."""
    for part in message.walk():
        if part.is_multipart() or part.get_content_maintype() in ("multipart", "message"):
            continue
        if (part.get_filename() or part.get_content_disposition() == "attachment"
                or part.get_content_maintype() != "text"):
            yield part
