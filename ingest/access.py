"""The groups that may read each document, decided once at ingest.

Precedence, first that applies wins (each step replaces, never widens, the ones below it):

1. the document's own ``access:`` (Markdown front matter, a thread JSON ``"access"`` field);
2. the first rule in ``access.yaml`` (corpus root) whose glob matches the document's file;
3. the source's own audience: a Slack private channel -> ``slack:<channel>``, an e-mail thread ->
   ``email:<address>`` of every sender and recipient;
4. ``Settings.default_access`` (``public`` unless configured).

``access.yaml`` maps path globs (relative to the corpus root, ``/`` separated) to groups, in file order::

    wiki/security/**: [security]
    email/eng-all.mbox: public
    "retros/*-incident.md": [sre, security]

``*`` and ``?`` stay inside one folder, ``**`` crosses folders, and a pattern naming a folder (ending in
``/``) covers everything under it. A broken ``access.yaml`` stops the ingest: guessing would publish
documents meant to be private.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from rag.access import Memberships, slack_group
from rag.errors import BadInput
from rag.people import PeopleDirectory

ACCESS_FILES = ("access.yaml", "access.yml")


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """A path glob as an anchored regex: ``*``/``?`` within a folder, ``**`` across folders."""
    pat = pattern.strip().lstrip("/")
    if pat.endswith("/"):
        pat += "**"
    out = []
    i = 0
    while i < len(pat):
        if pat.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pat.startswith("**", i):
            out.append(".*")
            i += 2
        elif pat[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pat[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pat[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


# What a document whose access declaration cannot be trusted is stored with: no group, so no caller reads it.
NO_READER: tuple[str, ...] = ()


@dataclass(frozen=True)
class Declared:
    """A document's own ``access`` declaration, read: its groups, or why it was refused (then no groups)."""

    groups: tuple[str, ...] = ()
    error: str | None = None


def parse_declared(value: object) -> Declared:
    """The one reading of a document's own ``access`` (front matter, thread JSON); every source uses it.

    ``None`` (absent) declares nothing. A string is one group or comma-separated groups; a list (or
    tuple) holds group names as strings. Anything else - a mapping, a number, a boolean, a nested list,
    an empty list, a blank name - is an error, so the caller stores the document with ``NO_READER``
    instead of silently falling back to the default (which is usually ``public``).
    """
    if value is None:
        return Declared()
    if isinstance(value, str):
        items: list[object] = [g for g in value.split(",") if g.strip()]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        return Declared(error=f"access must be a group name or a list of group names, not {_shape(value)}")
    if not items:
        return Declared(error="access names no group; name the groups that may read it (or 'public')")
    bad = [v for v in items if not isinstance(v, str) or not v.strip()]
    if bad:
        what = "a blank name" if isinstance(bad[0], str) else _shape(bad[0])
        return Declared(error=f"access lists {what}; each entry must be a group name")
    return Declared(groups=tuple(dict.fromkeys(str(v).strip() for v in items)))


def _shape(value: object) -> str:
    """How a refused access value looks, without quoting it in full (it may be long)."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a nested list"
    return "null" if value is None else f"a {type(value).__name__}"


def as_groups(value: object) -> tuple[str, ...]:
    """Groups from a list or a comma-separated string (a bare string is one group, not its letters)."""
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list | tuple) else []
    return tuple(dict.fromkeys(str(g).strip() for g in items if str(g).strip()))


@dataclass(frozen=True)
class AccessRules:
    """``access.yaml`` rules plus the default, applied with the precedence in the module docstring."""

    rules: tuple[tuple[str, re.Pattern[str], tuple[str, ...]], ...] = ()
    default: tuple[str, ...] = ("public",)

    @classmethod
    def load(cls, root: Path, *, default: str) -> AccessRules:
        """Read the corpus root's ``access.yaml`` (if any); BadInput naming the file when it is malformed."""
        path = next((root / n for n in ACCESS_FILES if (root / n).exists()), None)
        defaults = as_groups(default) or ("public",)
        if path is None:
            return cls(default=defaults)
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise BadInput(f"{path}: cannot read access rules ({str(exc).splitlines()[0]}) - fix the file; "
                           "nothing was ingested", field="access.yaml") from exc
        if raw is None:
            return cls(default=defaults)
        if not isinstance(raw, dict):
            raise BadInput(f"{path}: must map path globs to groups, e.g. 'wiki/security/**: [security]'",
                           field="access.yaml")
        rules = []
        for glob, groups in raw.items():
            parsed = as_groups(groups)
            if not str(glob).strip() or not parsed:
                raise BadInput(f"{path}: rule {glob!r} needs a glob and at least one group", field=f"access.{glob}")
            rules.append((str(glob), glob_to_regex(str(glob)), parsed))
        return cls(rules=tuple(rules), default=defaults)

    def match(self, source: str) -> tuple[str, ...] | None:
        """Groups of the first rule matching the file of ``source`` ('#anchor' ignored), else None."""
        path = source.split("#", 1)[0]
        for _, regex, groups in self.rules:
            if regex.match(path):
                return groups
        return None

    def resolve(self, source: str, *, declared: Sequence[str] = (), from_source: Sequence[str] = ()
                ) -> tuple[str, ...]:
        """The access groups of a document at ``source`` (see the precedence above)."""
        if declared:
            return tuple(dict.fromkeys(declared))
        ruled = self.match(source)
        if ruled is not None:
            return ruled
        if from_source:
            return tuple(dict.fromkeys(from_source))
        return self.default


def slack_memberships(folder: Path, people: PeopleDirectory) -> Memberships:
    """Members of every private channel and group DM of a Slack export, as names and e-mails.

    Read separately from the messages so memberships stay current even when no message changed.
    """
    def read(name: str) -> list:
        try:
            data = json.loads((folder / name).read_text(encoding="utf-8-sig"))
        except (OSError, ValueError):
            return []
        return data if isinstance(data, list) else []

    ids: dict[str, set[str]] = {}
    for u in read("users.json"):
        if not isinstance(u, dict) or not isinstance(u.get("id"), str):
            continue
        profile = u.get("profile")
        prof: dict = profile if isinstance(profile, dict) else {}
        real = {people.canonical(n) for n in (prof.get("real_name"), u.get("real_name")) if isinstance(n, str) and n}
        # Handles count only through the people directory: a bare 'ann' could be anyone's user name.
        handles = {people.canonical(h) for h in (u.get("name"), prof.get("display_name")) if isinstance(h, str) and h}
        handles = {h for h in handles if people.get(h) is not None}
        email = str(prof.get("email") or "").lower()
        mails = {email, people.canonical(email)} if email else set()
        ids[u["id"]] = {i for i in real | handles | mails if i}
    groups: dict[str, list[str]] = {}
    for name in ("groups.json", "mpims.json", "dms.json"):
        for ch in read(name):
            # A DM's folder is named by its id (dms.json entries carry no name).
            key = ch.get("name") or ch.get("id") if isinstance(ch, dict) else None
            if not key:
                continue
            listed = ch.get("members")
            uids = listed if isinstance(listed, list) else []
            members = [i for uid in uids for i in sorted(ids.get(str(uid), {str(uid)}))]
            groups[slack_group(str(key))] = sorted(set(members))
    return Memberships(groups=groups)
