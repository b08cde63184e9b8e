"""E-mail as ``.eml`` and ``.mbox``, grouped into threads by Message-ID / In-Reply-To / References,
falling back to the subject line for replies that carry no threading headers."""

from __future__ import annotations

import email
import email.policy
import email.utils
import mailbox
import re
from dataclasses import dataclass, field
from pathlib import Path

from ingest.context import Failure, LoadContext, LoadResult
from ingest.loaders.threads import thread_document
from rag.access import email_group
from rag.errors import ParseError
from rag.types import Message, stable_hash

_RE = re.compile(r"^\s*((re|fw|fwd|aw|sv)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_ATTRIBUTION = re.compile(r"^On .{5,200}wrote:\s*$", re.MULTILINE)
_TAG = re.compile(r"<[^>]+>")


@dataclass
class _Mail:
    file: str
    in_mbox: bool
    msgid: str
    parents: list[str]
    subject: str
    sender: str
    date: str | None
    text: str
    recipients: list[str] = field(default_factory=list)
    sender_address: str = ""


def norm_subject(subject: str) -> str:
    """Subject without Re:/Fwd: prefixes or list tags, lower-cased."""
    s = re.sub(r"^\s*\[[^\]]+\]\s*", "", subject or "")
    return _RE.sub("", s).strip().casefold()


def _body(msg: email.message.EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        text = part.get_content()
    except (LookupError, UnicodeError):
        payload = part.get_payload(decode=True) or b""
        text = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else str(payload)
    if part.get_content_subtype() == "html":
        text = _TAG.sub(" ", text)
    return _own_words(text)


def _own_words(text: str) -> str:
    """Drop quoted lines, the 'On ... wrote:' line and the signature: keep what this sender wrote."""
    text = text.replace("\r\n", "\n")
    text = text.split("\n-- \n")[0]
    m = _ATTRIBUTION.search(text)
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith(">")]
    text = "\n".join(lines)
    if m:
        text = _ATTRIBUTION.sub("", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _parse(ctx: LoadContext, raw: email.message.Message, file: str, in_mbox: bool) -> _Mail:
    msg = email.message_from_bytes(raw.as_bytes(), policy=email.policy.default)
    msgid = str(msg.get("Message-ID", "")).strip().strip("<>")
    parents = re.findall(r"<([^>]+)>", str(msg.get("References", "")) + " " + str(msg.get("In-Reply-To", "")))
    name, addr = email.utils.parseaddr(str(msg.get("From", "")))
    sender = ctx.people.canonical(f"{name} <{addr}>" if addr else name) if (name or addr) else "unknown"
    try:
        when = email.utils.parsedate_to_datetime(str(msg.get("Date"))).isoformat(timespec="seconds")
    except (TypeError, ValueError, IndexError):
        when = None
    recipients = [a for _, a in email.utils.getaddresses([str(msg.get("To", "")), str(msg.get("Cc", ""))]) if a]
    subject = str(msg.get("Subject", "")).strip()
    text = _body(msg)  # type: ignore[arg-type]
    if not msgid:
        msgid = "generated-" + stable_hash(file, subject, sender, when or "", text[:200])
    return _Mail(file, in_mbox, msgid, parents, subject, sender, when, text, recipients, addr)


def _read_file(ctx: LoadContext, path: Path, failures: list[Failure]) -> list[_Mail]:
    rel = ctx.rel(path)
    if path.suffix.lower() == ".mbox":
        if path.stat().st_size == 0:
            raise ParseError(f"{rel}: empty mailbox")
        box = mailbox.mbox(str(path), create=False)
        mails = []
        before = len(failures)
        try:
            for i, item in enumerate(box):
                try:
                    mails.append(_parse(ctx, item, rel, True))
                except Exception as exc:  # noqa: BLE001 - hostile headers raise many types; one mail fails alone
                    failures.append(Failure(f"{rel}#{i}", f"{rel}: message {i}: {type(exc).__name__}: "
                                            f"{str(exc)[:200]} - skipped"))
        finally:
            box.close()
        if not mails and len(failures) == before:
            raise ParseError(f"{rel}: no messages (is it an mbox with 'From ' separator lines?)")
        return mails
    data = path.read_bytes()
    if not data.strip():
        raise ParseError(f"{rel}: empty file")
    raw = email.message_from_bytes(data, policy=email.policy.default)
    if not (raw.get("From") or raw.get("Subject") or raw.get("Message-ID")):
        raise ParseError(f"{rel}: no e-mail headers (From/Subject/Message-ID) found")
    return [_parse(ctx, raw, rel, False)]


def load_email(ctx: LoadContext, files: list[Path]) -> LoadResult:
    """Threads across every ``.eml`` and ``.mbox`` of the corpus."""
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
    for m in mails:
        by_id.setdefault(m.msgid, m)
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
        source = f"{first.file}#{first.msgid}" if first.in_mbox else first.file
        # In-Reply-To is the direct parent (the last header id we hold); References lists older ancestors.
        msgs = [Message(author=m.sender, text=m.text, ts=m.date, id=m.msgid,
                        reply_to=next((p for p in reversed(m.parents) if p in by_id and p != m.msgid), None))
                for m in items]
        channel = Path(first.file).stem
        # Everyone who sent or received a message of the thread may read it (lists are one address).
        audience = sorted({email_group(a) for m in items for a in (m.sender_address, *m.recipients) if a})
        try:
            result.documents.append(thread_document(ctx, source=source, title=_RE.sub("", first.subject),
                                                    channel=channel, messages=msgs, fmt="email",
                                                    source_access=audience))
        except ParseError as exc:
            result.failures.append(Failure(source, str(exc)))
    return result
