"""Who may read what: access groups on documents, and the groups a person belongs to.

A document carries the groups allowed to read it (``Document.access``); ``public`` admits everyone.
A caller's groups come from three places, all resolved here so every layer agrees:

* the groups an administrator gave them (``users.yaml``);
* ``email:<address>`` for their own address, so a thread they sent or received is theirs to read;
* the groups a source says they belong to, recorded at ingest in ``memberships.json``
  (e.g. ``slack:security-incidents`` for every member of that private Slack channel).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, Field

from rag.errors import ConfigError
from rag.people import PeopleDirectory

PUBLIC = "public"


def email_group(address: str) -> str:
    """The access group of one mailbox."""
    return f"email:{address.strip().lower()}"


def slack_group(channel: str) -> str:
    """The access group of one private Slack channel (or group DM)."""
    return f"slack:{channel}"


def can_read(access: Iterable[str], groups: Iterable[str] | None) -> bool:
    """Whether a caller with ``groups`` may read something with ``access``; ``None`` means no ACL check."""
    if groups is None:
        return True
    return bool((set(groups) | {PUBLIC}).intersection(access))


class Memberships(BaseModel):
    """Group -> identities (canonical person names and lower-cased e-mail addresses) that belong to it.

    Written by ingestion from the sources that know their audience (Slack ``groups.json`` members).
    """

    groups: dict[str, list[str]] = Field(default_factory=dict)
    # What each ingested corpus root contributed; ``groups`` is their union. Kept per root so ingesting
    # a second corpus into the same data dir does not forget the first one's channel members.
    by_root: dict[str, dict[str, list[str]]] = Field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Memberships:
        """Read ``memberships.json``; a missing file means no source-derived memberships."""
        if not path.exists():
            return cls()
        try:
            return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, OSError) as exc:
            raise ConfigError(f"{path} is not a valid memberships file ({exc}) - run `whoknows ingest` again "
                              "to rewrite it") from exc

    def save(self, path: Path) -> None:
        """Write atomically (a server may be reading it)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        body: dict[str, object] = {"groups": _sorted_groups(self.groups)}
        if self.by_root:
            body["by_root"] = {r: _sorted_groups(g) for r, g in sorted(self.by_root.items())}
        tmp.write_text(json.dumps(body, indent=1), encoding="utf-8")
        tmp.replace(path)

    def with_root(self, root: str, found: Memberships) -> Memberships:
        """These memberships with corpus ``root``'s replaced by ``found`` (what its latest ingest read).

        A member removed from a channel in that corpus loses the group; other roots' groups stay. A file
        written before roots were recorded has no ``by_root``: its groups are replaced, as they were then.
        """
        by_root = {**self.by_root, root: found.groups}
        merged = Memberships()
        for groups in by_root.values():
            merged = merged.merge(Memberships(groups=groups))
        return Memberships(groups=merged.groups, by_root=by_root)

    def merge(self, other: Memberships) -> Memberships:
        """Both sets of memberships together."""
        merged = {g: list(m) for g, m in self.groups.items()}
        for g, members in other.groups.items():
            merged[g] = sorted(set(merged.get(g, [])) | set(members))
        return Memberships(groups=merged)

    def groups_of(self, identities: Iterable[str]) -> set[str]:
        """Every group listing one of ``identities`` (names compared case-insensitively)."""
        ids = {i.strip().casefold() for i in identities if i and i.strip()}
        return {g for g, members in self.groups.items() if ids.intersection(m.casefold() for m in members)}


def person_groups(*, name: str, email: str | None, groups: Iterable[str], people: PeopleDirectory,
                  memberships: Memberships) -> tuple[str, ...]:
    """All groups of a person: given ones, their mailbox and the source memberships they hold."""
    canonical = people.canonical(name)
    person = people.get(canonical)
    emails = {e.lower() for e in (email, person.email if person else None) if e}
    out = set(groups) | {email_group(e) for e in emails}
    out |= memberships.groups_of({name, canonical, *emails})
    return tuple(sorted(out))


def _sorted_groups(groups: dict[str, list[str]]) -> dict[str, list[str]]:
    """Stable file order; a group nobody belongs to any more is left out."""
    return {g: sorted(set(m)) for g, m in sorted(groups.items()) if m}
