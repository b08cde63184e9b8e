"""What one e-mail says in its sender's own words: the body decoded (UTF-16 too), HTML as clean text, and
the quoted original, its "On DATE, X wrote:" attribution and the signature dropped."""

from __future__ import annotations

import codecs
import email.message
import re
from html.parser import HTMLParser

# Longest first: the UTF-32-LE mark begins with the UTF-16-LE one.
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF8, "utf-8"),
         (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_WIDE = {"utf-16", "utf16", "ucs-2", "ucs2", "unicode", "utf-32", "utf32"}

# "On Mon, 1 Jan 2024 at 10:00, Ann Lee <ann@x.org> wrote:" and its usual translations (German and Dutch put
# the name after the verb), or a bare "Ann Lee <ann@x.org> wrote:"; clients wrap long ones over 2-3 lines.
_ATTRIBUTION = re.compile(
    r"^\s*(?:(?:On|Am|Le|El|Il|Op)\s.{5,300}?\s)?\S.{0,200}?\s(?:(?:wrote|writes|a\s+écrit|escribió|ha\s+scritto)"
    r"|(?:schrieb|schreef)\s.{1,200}?)\s*:\s*$", re.IGNORECASE)
_ORIGINAL = re.compile(r"^\s*-{2,}\s*Original Message\s*-{2,}\s*$", re.IGNORECASE)
_OUTLOOK_RULE = re.compile(r"^\s*_{10,}\s*$")


def part_text(part: email.message.EmailMessage) -> str:
    """A text part's payload as text: by its byte-order mark when it has one, UTF-16/32 without one by where
    the NUL bytes are, 8-bit text declared ASCII (or not at all) as UTF-8 or else Windows-1252, else by its
    declared charset (UTF-8 when that is unknown or wrong)."""
    payload = part.get_payload(decode=True)
    raw = payload if isinstance(payload, bytes) else b""
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            return raw[len(bom):].decode(codec, errors="replace")
    charset = (part.get_content_charset() or "").lower()
    if charset in _WIDE:
        return raw.decode(_byte_order(raw, wide="32" in charset), errors="replace")
    if charset in ("", "us-ascii", "ascii") and not raw.isascii():
        # 8-bit text that declares no charset (or ASCII): UTF-8 when it is valid UTF-8, else Windows-1252.
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("cp1252", errors="replace")
    try:
        return str(part.get_content())
    except (LookupError, UnicodeError):
        return raw.decode("utf-8", errors="replace")


def _byte_order(raw: bytes, *, wide: bool) -> str:
    """UTF-16/32 without a BOM: mostly-Latin text has its NUL bytes after each character (little-endian)
    or before it (big-endian)."""
    size = 4 if wide else 2
    head = raw[:4096]
    zeros_first = sum(1 for i in range(0, len(head) - size + 1, size) if head[i] == 0)
    zeros_last = sum(1 for i in range(size - 1, len(head), size) if head[i] == 0)
    return f"utf-{size * 8}-{'be' if zeros_first > zeros_last else 'le'}"


class _TextOfHtml(HTMLParser):
    """Collects the visible text of an HTML mail: no scripts, styles or head, no quoted reply (blockquote)."""

    _SKIP = {"script", "style", "head", "title", "template", "noscript", "blockquote", "svg"}
    _BLOCK = {"p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6", "pre",
              "hr", "section", "article", "header", "footer", "dd", "dt", "address"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._skipping: list[str] = []
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "pre":
            self._pre += 1
        if tag in self._SKIP:
            self._skipping.append(tag)
        elif not self._skipping and tag in self._BLOCK:
            self.out.append("\n- " if tag == "li" else "\n")
        elif not self._skipping and tag in ("td", "th"):
            self.out.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self._skipping and tag in self._BLOCK:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._skipping:
            while self._skipping and self._skipping.pop() != tag:
                pass  # an unclosed tag inside the skipped one ends with it
        elif not self._skipping and tag in self._BLOCK and tag != "li":
            self.out.append("\n")
        if tag == "pre":
            self._pre = max(0, self._pre - 1)

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            # A line break in HTML source is a space; only <pre> keeps its lines.
            self.out.append(data if self._pre else re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """An HTML mail body as plain text: entities decoded, tags, scripts, styles and the quoted reply
    dropped, runs of spaces made one and blank lines at most one in a row."""
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    text = "".join(parser.out).replace("\xa0", " ")
    lines = [re.sub(r"[ \t\f\v\u200b]+", " ", ln).strip() for ln in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _attribution_span(lines: list[str], i: int) -> int:
    """How many lines (1-3) from ``i`` make an attribution that introduces a quote, else 0."""
    for span in (1, 2, 3):
        part = lines[i:i + span]
        if len(part) < span or any(not ln.strip() or _quoted(ln) for ln in part):
            return 0
        joined = " ".join(ln.strip() for ln in part)
        if len(joined) <= 500 and joined.endswith(":") and _ATTRIBUTION.match(joined):
            rest = [ln for ln in lines[i + span:] if ln.strip()]
            # It introduces the quote that follows, or one already removed (an HTML blockquote).
            return span if not rest or _quoted(rest[0]) else 0
    return 0


def _outlook_header(lines: list[str], i: int) -> bool:
    """Outlook's reply header: 'From: X' then 'Sent: Y' (under an optional rule), the original below."""
    head = [ln.strip() for ln in lines[i:i + 6] if ln.strip()]
    return (len(head) >= 3 and head[0].startswith("From:") and head[1].startswith(("Sent:", "Date:"))
            and any(h.startswith(("To:", "Subject:")) for h in head[2:]))


def own_words(text: str) -> str:
    """Drop quoted lines, the attribution that introduces them, a quoted original below an Outlook
    "-----Original Message-----" or "From:/Sent:" header, and the signature: keep what this sender wrote."""
    lines = text.replace("\r\n", "\n").split("\n-- \n")[0].split("\n")
    kept: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        # The original below a reply is quoted; a message that is all original (a forward) is kept.
        if any(k.strip() for k in kept) and (_ORIGINAL.match(line) or _outlook_header(lines, i) or (
                _OUTLOOK_RULE.match(line) and _outlook_header(lines, i + 1))):
            break
        if _quoted(line):
            i += 1
            continue
        span = _attribution_span(lines, i)
        if span:
            i += span
            continue
        kept.append(line)
        i += 1
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
