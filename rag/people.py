"""The people directory: one person, one name, whatever alias or e-mail they wrote under."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

import yaml

from rag.config import Settings
from rag.errors import BadInput
from rag.types import Person

_EMAIL_IN = re.compile(r"<([^>]+@[^>]+)>")
_SPACE = re.compile(r"\s+")


def _norm(s: str) -> str:
    return _SPACE.sub(" ", s.strip().strip('"').strip("'")).casefold()


class PeopleDirectory:
    """Maps names, aliases and e-mails to canonical :class:`Person` records."""

    def __init__(self, people: Iterable[Person] = ()) -> None:
        self._people: dict[str, Person] = {}
        self._index: dict[str, str] = {}
        for p in people:
            self._people[p.name] = p
            for key in (p.name, *p.aliases, *([p.email] if p.email else [])):
                self._index[_norm(key)] = p.name

    @classmethod
    def load(cls, path: Path) -> PeopleDirectory:
        """Read ``people.yaml`` (a list, or ``{people: [...]}``) or the JSON copy kept in a data dir."""
        try:
            raw = json.loads(path.read_text()) if path.suffix == ".json" else yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError, json.JSONDecodeError) as exc:
            raise BadInput(f"{path}: cannot read the people directory ({exc})", field=str(path)) from exc
        items = raw.get("people", []) if isinstance(raw, dict) else raw or []
        people = []
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not item.get("name"):
                raise BadInput(f"{path}: entry {i} needs at least a 'name'", field=f"people[{i}].name")
            people.append(
                Person(
                    name=str(item["name"]).strip(),
                    aliases=tuple(str(a) for a in item.get("aliases") or ()),
                    email=item.get("email"),
                    team=item.get("team"),
                    active=item.get("active"),
                )
            )
        return cls(people)

    @classmethod
    def from_json(cls, text: str) -> PeopleDirectory:
        """Inverse of :meth:`dump`."""
        return cls(Person.model_validate(p) for p in json.loads(text).get("people", []))

    def dump(self) -> str:
        """JSON form, copied into the data dir so the query side knows teams and who left."""
        return json.dumps({"people": [p.model_dump() for p in self._people.values()]}, indent=1)

    def canonical(self, raw: str) -> str:
        """The directory name for ``raw`` ('Tom W <t@x>', an alias, an e-mail), else ``raw`` tidied."""
        raw = raw.strip()
        if not raw:
            return raw
        m = _EMAIL_IN.search(raw)
        candidates = [raw]
        if m:
            candidates = [m.group(1), raw[: m.start()].strip()]
        for c in candidates:
            hit = self._index.get(_norm(c))
            if hit:
                return hit
        name = candidates[-1] if m else raw
        return _SPACE.sub(" ", name.strip().strip('"').strip("'")) or raw

    def canonical_all(self, names: Iterable[str]) -> tuple[str, ...]:
        """Canonicalise and de-duplicate, keeping the first occurrence's rank."""
        out: list[str] = []
        for n in names:
            c = self.canonical(n)
            if c and c not in out:
                out.append(c)
        return tuple(out)

    def get(self, name: str) -> Person | None:
        """The record of a canonical name, if the directory has one."""
        return self._people.get(self.canonical(name))

    def all(self) -> tuple[Person, ...]:
        """Every person in the directory, in file order."""
        return tuple(self._people.values())

    def __len__(self) -> int:
        return len(self._people)


def load_people(settings: Settings) -> PeopleDirectory:
    """The directory the last ingest saved: ``data_dir/people.json``, or the database's copy (``store='postgres'``,
    so every API host knows teams and who left without a file of its own). Empty when none was saved."""
    if settings.store == "postgres":
        from rag.stores.pg_state import load_document

        raw = load_document(settings, "people")
        return PeopleDirectory.from_json(raw) if raw is not None else PeopleDirectory()
    path = settings.data_dir / "people.json"
    return PeopleDirectory.load(path) if path.exists() else PeopleDirectory()


def save_people(settings: Settings, people: PeopleDirectory) -> None:
    """Keep the ingested directory for the query side (the JSON file, and the database's copy with postgres)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / "people.json").write_text(people.dump())
    if settings.store == "postgres":
        from rag.stores.pg_state import save_document

        save_document(settings, "people", people.dump())
