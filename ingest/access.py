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
        if not isinstance(u, dict) or "id" not in u:
            continue
        prof = u.get("profile") or {}
        real = {people.canonical(n) for n in (prof.get("real_name"), u.get("real_name")) if n}
        # Handles count only through the people directory: a bare 'ann' could be anyone's user name.
        handles = {people.canonical(h) for h in (u.get("name"), prof.get("display_name")) if h}
        handles = {h for h in handles if people.get(h) is not None}
        email = (prof.get("email") or "").lower()
        mails = {email, people.canonical(email)} if email else set()
        ids[u["id"]] = {i for i in real | handles | mails if i}
    groups: dict[str, list[str]] = {}
    for name in ("groups.json", "mpims.json"):
        for ch in read(name):
            if not isinstance(ch, dict) or not ch.get("name"):
                continue
            members = [i for uid in ch.get("members") or [] for i in sorted(ids.get(str(uid), {str(uid)}))]
            groups[slack_group(ch["name"])] = sorted(set(members))
    return Memberships(groups=groups)
