"""Users and API keys: ``users.yaml`` holds each user's groups and the scrypt hashes of their keys.

A key reads ``wk_<id>_<secret>``. The id finds the stored hash without trying every user; the secret
is checked with ``hashlib.scrypt`` (salted), so a leaked users file does not give keys away. Keys are
shown once, when created, and never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError

from rag.access import Memberships, person_groups
from rag.config import Settings
from rag.errors import BadInput, ConfigError, WhoknowsError
from rag.people import PeopleDirectory

_KEY = re.compile(r"^wk_([0-9a-f]{12})_([A-Za-z0-9_-]{20,128})$")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


class Unauthorized(WhoknowsError):
    """No key, or a key no user holds (HTTP 401)."""


@dataclass(frozen=True)
class Caller:
    """Who is asking. ``groups`` None means no access check (auth off: everything is public)."""

    name: str
    groups: tuple[str, ...] | None
    key_id: str | None = None


class StoredKey(BaseModel):
    id: str
    salt: str
    hash: str
    created: str = ""


class UserRecord(BaseModel):
    name: str
    email: str | None = None
    groups: list[str] = Field(default_factory=list)
    keys: list[StoredKey] = Field(default_factory=list)


class UsersFile(BaseModel):
    """The whole ``users.yaml``."""

    users: list[UserRecord] = Field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> UsersFile:
        """Read the users file; a missing file has no users."""
        if not path.exists():
            return cls()
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            return cls.model_validate(raw)
        except (OSError, yaml.YAMLError, ValidationError) as exc:
            raise ConfigError(f"{path}: not a valid users file ({str(exc).splitlines()[0]}) - fix it or move it "
                              "aside and add users again with `whoknows users add`") from exc

    def save(self, path: Path) -> None:
        """Write atomically, readable by the owner only."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("# whoknows users: groups and scrypt hashes of API keys. Edit groups freely; add keys with\n"
                    "# `whoknows users add NAME --group G`.\n")
            yaml.safe_dump(self.model_dump(exclude_none=True), f, sort_keys=False)
        tmp.replace(path)


def hash_secret(secret: str, salt: str) -> str:
    """scrypt of a key's secret part, hex."""
    return hashlib.scrypt(secret.encode(), salt=bytes.fromhex(salt), **_SCRYPT).hex()  # type: ignore[arg-type]


def add_user(path: Path, *, name: str, groups: list[str], email: str | None = None) -> str:
    """Create the user (or give an existing one a new key and these groups too); return the new key."""
    name = name.strip()
    if not name:
        raise BadInput("the user name is empty", field="name")
    bad = [g for g in groups if not g.strip() or "," in g]
    if bad:
        raise BadInput(f"invalid group {bad[0]!r} - one group per --group, no commas", field="group")
    users = UsersFile.load(path)
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    stored = StoredKey(id=key_id, salt=salt, hash=hash_secret(secret, salt),
                       created=datetime.now(UTC).isoformat(timespec="seconds"))
    user = next((u for u in users.users if u.name.casefold() == name.casefold()), None)
    if user is None:
        user = UserRecord(name=name, email=email)
        users.users.append(user)
    user.groups = sorted(set(user.groups) | {g.strip() for g in groups})
    user.email = email or user.email
    user.keys.append(stored)
    users.save(path)
    return f"wk_{key_id}_{secret}"


def remove_user(path: Path, name: str) -> bool:
    """Delete a user and every key they hold; False when there was no such user."""
    users = UsersFile.load(path)
    kept = [u for u in users.users if u.name.casefold() != name.strip().casefold()]
    if len(kept) == len(users.users):
        return False
    UsersFile(users=kept).save(path)
    return True


class Authenticator:
    """Turns an ``Authorization`` header into a :class:`Caller`, re-reading files when they change."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.enabled = settings.auth_enabled
        if settings.auth == "on" and not settings.users_path.exists():
            raise ConfigError(f"WHOKNOWS_AUTH=on but there is no users file at {settings.users_path} - add a "
                              "user with `whoknows users add NAME --group GROUP`")
        self._lock = threading.Lock()
        self._stamp: tuple[float, ...] = ()
        self._keys: dict[str, tuple[StoredKey, UserRecord]] = {}
        self._groups: dict[str, tuple[str, ...]] = {}
        self._verified: dict[str, bytes] = {}  # key id -> sha256 of a key already checked with scrypt

    def caller(self, authorization: str | None, *, client: str = "local") -> Caller:
        """The caller behind the header; raises Unauthorized when auth is on and the key is wrong."""
        if not self.enabled:
            return Caller(name=client, groups=None)
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("missing API key - send 'Authorization: Bearer KEY' (an administrator creates "
                               "keys with `whoknows users add NAME --group GROUP`)")
        m = _KEY.match(token.strip())
        self._refresh()
        found = self._keys.get(m.group(1)) if m else None
        if m is None or found is None or not self._check(m.group(1), m.group(2), token.strip(), found[0]):
            raise Unauthorized("invalid API key - check it was copied whole, or ask for a new one")
        user = found[1]
        return Caller(name=user.name, groups=self._groups[user.name], key_id=m.group(1))

    def _check(self, key_id: str, secret: str, token: str, stored: StoredKey) -> bool:
        digest = hashlib.sha256(token.encode()).digest()
        known = self._verified.get(key_id)
        if known is not None:
            return hmac.compare_digest(known, digest)
        if not hmac.compare_digest(hash_secret(secret, stored.salt), stored.hash):
            return False
        self._verified[key_id] = digest
        return True

    def _refresh(self) -> None:
        s = self.settings
        paths = (s.users_path, s.memberships_path, s.data_dir / "people.json")
        stamp = tuple(p.stat().st_mtime if p.exists() else 0.0 for p in paths)
        if stamp == self._stamp:
            return
        with self._lock:
            users = UsersFile.load(s.users_path)
            memberships = Memberships.load(s.memberships_path)
            people_file = s.data_dir / "people.json"
            people = PeopleDirectory.load(people_file) if people_file.exists() else PeopleDirectory()
            self._keys = {k.id: (k, u) for u in users.users for k in u.keys}
            self._groups = {u.name: person_groups(name=u.name, email=u.email, groups=u.groups, people=people,
                                                  memberships=memberships) for u in users.users}
            self._verified = {}
            self._stamp = stamp

    def groups_of(self, name: str) -> tuple[str, ...]:
        """The effective groups of a user (for `whoknows users list`)."""
        self._refresh()
        return self._groups.get(name, ())
