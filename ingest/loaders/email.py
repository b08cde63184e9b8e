"""E-mail as ``.eml``, ``.mbox`` (and a ``.txt`` that holds either), grouped into threads by Message-ID /
In-Reply-To / References, falling back to the subject line for replies that carry no threading headers.

A digest (``multipart/digest``) is read as the messages it carries, each with its own headers; a message held
by two files is one message whose thread knows both paths. The body text: ``ingest.loaders.mailtext``."""

from __future__ import annotations

import email
import email.errors
import email.header
import email.message
import email.policy
import email.utils
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ingest.context import Failure, LoadContext, LoadResult
from ingest.loaders.mailtext import html_to_text, own_words, part_text
from ingest.loaders.threads import thread_document
from rag.access import email_group
from rag.errors import ParseError
from rag.types import Message, stable_hash

_RE = re.compile(r"^\s*((re|fw|fwd|aw|sv)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
# An mbox separator: 'From ann@x.org Mon Jan  1 10:00:00 2024' (the sender's bytes in any charset).
_SEPARATOR = re.compile(rb"^From \S+\s.*\d{1,2}:\d{2}")
_FIELD = re.compile(rb"^[!-9;-~]+:")
_ESCAPED_FROM = re.compile(rb"^>(>*From )")
_MAX_DIGEST_DEPTH = 5


@dataclass
class _Mail:
    file: str
    anchored: bool  # one of several messages of its file: its thread's source is 'file#Message-ID'
    msgid: str
    parents: list[str]
    subject: str
    sender: str
    date: str | None
    text: str
    recipients: list[str] = field(default_factory=list)
    sender_address: str = ""

    @property
    def where(self) -> str:
        """The source id this message has in its own file."""
        return f"{self.file}#{self.msgid}" if self.anchored else self.file


def norm_subject(subject: str) -> str:
    """Subject without Re:/Fwd: prefixes or list tags, lower-cased."""
    s = re.sub(r"^\s*\[[^\]]+\]\s*", "", subject or "")
    return _RE.sub("", s).strip().casefold()


def split_mbox(data: bytes) -> list[bytes]:
    """The messages of an mbox, without their 'From ' lines. The first 'From ' line opens a message; a later
    one does when a header follows it and it has a separator's shape (sender and time) or follows a blank
    line - so a body line "From 9 to 5" stays text. mboxrd's '>From ' escapes are undone."""
    lines = data.split(b"\n")
    starts: list[int] = []
    for i, ln in enumerate(lines):
        if not ln.startswith(b"From "):
            continue
        header_next = i + 1 < len(lines) and bool(_FIELD.match(lines[i + 1]))
        if not starts or (header_next and (bool(_SEPARATOR.match(ln)) or not lines[i - 1].strip())):
            starts.append(i)
    return [b"\n".join(_ESCAPED_FROM.sub(rb"\1", ln) for ln in lines[s + 1:end]) + (b"\n" if end < len(lines) else b"")
            for s, end in zip(starts, [*starts[1:], len(lines)], strict=True)]


def _body(msg: email.message.EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    text = part_text(part)  # type: ignore[arg-type]
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    return own_words(text)


def _decoded(words: str) -> str:
    try:
        return str(email.header.make_header(email.header.decode_header(words)))
    except (LookupError, UnicodeError, ValueError, email.errors.HeaderParseError):
        return words


def _sender(msg: email.message.EmailMessage) -> tuple[str, str]:
    """(name, address) of From. The name may be a comment - 'ann@x.org (Ann Lee)', or a list archive's
    'ann at x.org (Ann Lee)' - which the modern header parser drops, so the raw header is read for it."""
    name, addr = email.utils.parseaddr(str(msg.get("From", "")))
    raw = next((str(v) for k, v in msg.raw_items() if k.lower() == "from"), "")
    if not name and "(" in raw:
        raw = re.sub(r"^\s*([^\s@()]+) at ([^\s@()]+\.[^\s@()]+)(?=\s*\()", r"\1@\2", raw)
        cname, caddr = email.utils.parseaddr(raw)
        if cname and caddr:
            name, addr = _decoded(cname), caddr
    return name, addr


def _parse(ctx: LoadContext, msg: email.message.EmailMessage, file: str, anchored: bool) -> _Mail:
    msgid = str(msg.get("Message-ID", "")).strip().strip("<>")
    parents = re.findall(r"<([^>]+)>", str(msg.get("References", "")) + " " + str(msg.get("In-Reply-To", "")))
    name, addr = _sender(msg)
    sender = ctx.people.canonical(f"{name} <{addr}>" if addr else name) if (name or addr) else "unknown"
    try:
        when = email.utils.parsedate_to_datetime(str(msg.get("Date"))).isoformat(timespec="seconds")
    except (TypeError, ValueError, IndexError):
        when = None
    recipients = [a for _, a in email.utils.getaddresses([str(msg.get("To", "")), str(msg.get("Cc", ""))]) if a]
    subject = str(msg.get("Subject", "")).strip()
    text = _body(msg)
    if not msgid:
        msgid = "generated-" + stable_hash(file, subject, sender, when or "", text[:200])
    return _Mail(file, anchored, msgid, parents, subject, sender, when, text, recipients, addr)


def _digested(msg: email.message.EmailMessage) -> list[email.message.EmailMessage]:
    """The messages a digest carries (``multipart/digest`` anywhere in ``msg``, its parts ``message/rfc822``
    by default); empty when ``msg`` is no digest. A carried message is not searched: it is read on its own."""
    if msg.get_content_type() == "multipart/digest":
        out: list[email.message.EmailMessage] = []
        for sub in msg.iter_parts():
            payload = sub.get_payload() if sub.get_content_type() == "message/rfc822" else None
            if isinstance(payload, list) and payload and isinstance(payload[0], email.message.EmailMessage):
                out.append(payload[0])
        return out
    if msg.get_content_maintype() == "multipart":
        return [m for part in msg.iter_parts() for m in _digested(part)]  # type: ignore[arg-type]
    return []


def _mails(ctx: LoadContext, msg: email.message.EmailMessage, file: str, anchored: bool,
           depth: int = 0) -> list[_Mail]:
    """One message, or the messages of a digest (each its own, anchored in the file)."""
    carried = _digested(msg) if depth < _MAX_DIGEST_DEPTH else []
    if carried:
        return [m for inner in carried for m in _mails(ctx, inner, file, True, depth + 1)]
    return [_parse(ctx, msg, file, anchored)]


def _read_file(ctx: LoadContext, path: Path, failures: list[Failure]) -> list[_Mail]:
    rel = ctx.rel(path)
    data = path.read_bytes()
    is_mbox = path.suffix.lower() == ".mbox"
    if is_mbox and not data:
        raise ParseError(f"{rel}: empty mailbox")
    if not data.strip():
        raise ParseError(f"{rel}: empty file")
    raws = split_mbox(data) if is_mbox or data.lstrip().startswith(b"From ") else []
    if is_mbox or len(raws) > 1:
        mails: list[_Mail] = []
        before = len(failures)
        for i, raw in enumerate(raws):
            try:
                mails += _mails(ctx, email.message_from_bytes(raw, policy=email.policy.default), rel, True)
            except Exception as exc:  # noqa: BLE001 - hostile headers raise many types; one mail fails alone
                failures.append(Failure(f"{rel}#{i}", f"{rel}: message {i}: {type(exc).__name__}: "
                                        f"{str(exc)[:200]} - skipped"))
        if not mails and len(failures) == before:
            raise ParseError(f"{rel}: no messages (is it an mbox with 'From ' separator lines?)")
        return mails
    msg = email.message_from_bytes(raws[0] if raws else data, policy=email.policy.default)
    if not (msg.get("From") or msg.get("Subject") or msg.get("Message-ID")):
        raise ParseError(f"{rel}: no e-mail headers (From/Subject/Message-ID) found")
    return _mails(ctx, msg, rel, False)  # type: ignore[arg-type]


def load_email(ctx: LoadContext, files: list[Path]) -> LoadResult:
    """Threads across every mail file of the corpus (``.eml``, ``.mbox``, mail saved as ``.txt``)."""
    result = LoadResult()
    mails: list[_Mail] = []
    for f in sorted(files):
        try:
            mails.extend(_read_file(ctx, f, result.failures))
        except (ParseError, OSError) as exc:
            result.failures.append(Failure(ctx.display(f), str(exc)))
        except Exception as exc:  # noqa: BLE001 - one unreadable mail file must not cost the others
            result.failures.append(Failure(ctx.display(f), f"{ctx.display(f)}: {type(exc).__name__}: {str(exc)[:200]}"))
    by_id: dict[str, _Mail] = {}
    copies: dict[str, set[str]] = defaultdict(set)  # Message-ID -> the other files' copies of it
    for m in mails:
        kept = by_id.setdefault(m.msgid, m)
        if kept.file != m.file:
            copies[m.msgid].add(m.where)
    root_of: dict[str, str] = {}

    def find_root(mid: str) -> str:
        # A loop, not recursion: a reply chain thousands of messages long must not hit the recursion limit.
        path: list[str] = []
        on_path: set[str] = set()
        cur = mid
        while cur not in root_of:
            path.append(cur)
            on_path.add(cur)
            m = by_id.get(cur)
            # References lists the oldest ancestor first; In-Reply-To (last) is the direct parent.
            known = [p for p in (m.parents if m else []) if p in by_id and p not in on_path]
            if not known:
                root_of[cur] = cur
                break
            cur = known[0]
        for seen in path:
            root_of[seen] = root_of[cur]
        return root_of[cur]

    threads: dict[str, list[_Mail]] = {}
    subject_root: dict[str, str] = {}
    for m in sorted(by_id.values(), key=lambda m: m.date or ""):
        root = find_root(m.msgid)
        if root == m.msgid and _RE.match(m.subject or ""):
            # A reply whose threading headers are missing, or name only messages we do not have.
            root = subject_root.get(norm_subject(m.subject), root)
        if root == m.msgid:
            subject_root.setdefault(norm_subject(m.subject), root)
        threads.setdefault(root, []).append(m)
    for root_id, items in threads.items():
        items.sort(key=lambda m: m.date or "")
        first = by_id[root_id] if root_id in by_id else items[0]
        source = first.where
        # In-Reply-To is the direct parent (the last header id we hold); References lists older ancestors.
        msgs = [Message(author=m.sender, text=m.text, ts=m.date, id=m.msgid,
                        reply_to=next((p for p in reversed(m.parents) if p in by_id and p != m.msgid), None))
                for m in items]
        channel = Path(first.file).stem
        # Everyone who sent or received a message of the thread may read it (lists are one address).
        audience = sorted({email_group(a) for m in items for a in (m.sender_address, *m.recipients) if a})
        try:
            doc = thread_document(ctx, source=source, title=_RE.sub("", first.subject), channel=channel,
                                  messages=msgs, fmt="email", source_access=audience)
        except ParseError as exc:
            result.failures.append(Failure(source, str(exc)))
            continue
        # A message another file holds too is stored once; that file is a path of its thread.
        also = {p for m in items for p in copies.get(m.msgid, ())} - {source}
        result.documents.append(doc.model_copy(update={"paths": (source, *sorted(also))}) if also else doc)
    return result
