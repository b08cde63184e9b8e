"""Text helpers shared by ingestion, retrieval and answering."""

from __future__ import annotations

import re
from functools import lru_cache

from rag.types import Chunk

_WORD = re.compile(r"[a-z0-9][a-z0-9_'-]*")
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having
    he her here hers herself him himself his how i if in into is it its itself just me more most my myself no
    nor not now of off on once only or other our ours ourselves out over own same she should so some such than
    that the their theirs them themselves then there these they this those through to too under until up very
    was we were what when where which while who whom why will with would you your yours yourself yourselves
    ask asked get got go going know knows let lets make made need needs one someone something thing things
    tell us use used using want way ways does did do i'm it's we're what's there's whos who's whom anyone
    should shall may might must also like really please thanks thank hi hey ok okay""".split()
)


_HEADING = re.compile(r"#{1,6}(?:\s|$)")


def is_heading(line: str) -> bool:
    """A Markdown ATX heading line ("## Steps"); "#payments is ..." or "#123" is text, not a heading."""
    return bool(_HEADING.match(line.strip()))


def words(text: str) -> list[str]:
    """Lower-cased word tokens."""
    return _WORD.findall(text.lower())


def key_terms(text: str) -> list[str]:
    """Content words of a question (stopwords and 1-letter words removed), order kept, unique."""
    out: list[str] = []
    for w in words(text):
        w = w.strip("'-")
        # a stopword's possessive is a stopword too: "Someone's keys have leaked" is not about "someone"
        if len(w) > 1 and w not in STOPWORDS and w.removesuffix("'s") not in STOPWORDS and w not in out:
            out.append(w)
    return out


@lru_cache(maxsize=1 << 18)
def stem(word: str) -> str:
    """A light suffix stripper so 'deploys'/'deploying' meet 'deploy' in term matching; a possessive
    ("package's", "users'") is its word (it stayed "package'", a term no passage holds: the rarest focus)."""
    word = word[:-2] if word.endswith("'s") else word.rstrip("'")
    for suf in ("ations", "ation", "ings", "ing", "ies", "ied", "es", "ed", "ly", "s"):
        if len(word) > len(suf) + 3 and word.endswith(suf):
            return word[: -len(suf)] + ("y" if suf in ("ies", "ied") else "")
    return word


def embed_text(chunk: Chunk) -> str:
    """What is embedded and indexed for a chunk: its title and section give the passage context."""
    head = chunk.title if not chunk.section else f"{chunk.title} - {chunk.section}"
    return f"{head}\n{chunk.text}"


# A mail attribution as it stands in a message ("On Mon, 10 Aug 2020 at 08:24, X <x at y.org> wrote:"): it
# starts a line and may wrap over up to two more (a long name and address). Cut before sentences are split:
# a "?" for a lost accent ("Jos? Ab?lio Matos wrote:") split it into two units, and each half was quotable.
_ATTRIBUTION = re.compile(r"^[ \t>]*(?:On|Am|Le|El)\s[^\n]{3,240}?(?:\n[^\n]{0,160}?){0,2}"
                          r"\b(?:wrote|schrieb|a écrit|escribió)\s*:[ \t]*$", re.MULTILINE)
# The signature delimiter of mail (RFC 3676: "-- " on a line of its own): what follows is no content.
SIGNATURE = re.compile(r"\n-- ?\n")


def strip_attributions(text: str) -> str:
    """``text`` without its mail attribution lines."""
    return _ATTRIBUTION.sub("", text)


# Quoted mail: "> " lines, and "| " lines (a quoting style of some mail clients: the devset's most active
# list member quotes so) that are no table row (a row ends with "|" too).
_QUOTED = re.compile(r"^[ \t]*>.*$|^\|(?: .*[^|\s]\s*| ?)$", re.MULTILINE)
# A legal footer ("This e-mail and any attachments may contain confidential material ... intended
# recipient"): it is cut from the separator line or paragraph it starts at.
_DISCLAIMER = re.compile(r"(?:^[-_*=]{5,}[ \t]*\n(?:.*\n){0,3}?)?^.*\b(?:may\s+contain\s+(?:confidential|privileged)|"
                         r"intended\s+(?:solely\s+)?for\s+the\s+(?:use\s+of\s+the\s+)?(?:addressee|intended\s+recipient)|"
                         r"if\s+you\s+are\s+not\s+the\s+intended\s+recipient|registered\s+(?:office|address)\s*:)",
                         re.IGNORECASE | re.MULTILINE)


def strip_quoted(text: str) -> str:
    """A mail message without the lines it quotes from earlier messages (``> ...``, ``| ...``) and without
    a legal footer; a one-line (chat) message, or one that is all quote, is returned as it is."""
    if "\n" not in text.strip():
        return text
    body = text
    if m := _DISCLAIMER.search(body):
        body = body[: m.start()]
    body = _QUOTED.sub("", body)
    return body if body.strip() else text


def strip_furniture(text: str) -> str:
    """A message's own words: no attribution lines, quoted lines, list-software notes, legal footer or
    signature (a reply quoted whole, a question shown as context)."""
    body = SIGNATURE.split(text, maxsplit=1)[0]
    return strip_quoted(strip_attributions(body)).replace("[[alternative HTML version deleted]]", " ").strip()
