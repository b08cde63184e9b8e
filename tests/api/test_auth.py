"""Users, API keys, the token bucket and where the server may bind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.auth import Authenticator, Unauthorized, UsersFile, add_user, remove_user
from api.cli import app as cli
from api.guards import TokenBucket
from api.server import check_bind, is_loopback
from rag.access import Memberships
from rag.config import Settings
from rag.errors import BadInput, ConfigError


def test_keys_are_stored_hashed_and_resolve_to_the_user(settings: Settings) -> None:
    key = add_user(settings.users_path, name="Ann Lee", groups=["eng", "sre"], email="Ann@X.org")
    text = settings.users_path.read_text()
    assert key.startswith("wk_") and key not in text and key.split("_", 2)[2] not in text
    assert settings.users_path.stat().st_mode & 0o077 == 0, "the users file is private to its owner"
    (user,) = UsersFile.load(settings.users_path).users
    assert user.groups == ["eng", "sre"] and len(user.keys) == 1 and user.keys[0].id in key
    auth = Authenticator(settings)
    assert auth.enabled, "auth turns on with the first user (auth=auto)"
    who = auth.caller(f"Bearer {key}")
    assert who.name == "Ann Lee" and who.groups == ("email:ann@x.org", "eng", "sre")
    assert auth.caller(f"bearer {key}").name == "Ann Lee"  # twice: the second check takes the cached path
    other = key[:-1] + ("A" if key[-1] != "A" else "B")
    for header in (None, "", f"Token {key}", f"Bearer {key}x", f"Bearer {other}", "Bearer wk_000000000000_" + "a" * 43):
        with pytest.raises(Unauthorized):
            auth.caller(header)


def test_a_second_key_and_removal(settings: Settings) -> None:
    k1 = add_user(settings.users_path, name="Ann Lee", groups=["eng"])
    k2 = add_user(settings.users_path, name="ann lee", groups=["ops"])
    (user,) = UsersFile.load(settings.users_path).users
    assert user.groups == ["eng", "ops"] and len(user.keys) == 2
    auth = Authenticator(settings)
    assert auth.caller(f"Bearer {k1}").name == auth.caller(f"Bearer {k2}").name == "Ann Lee"
    add_user(settings.users_path, name="Bob", groups=[])
    assert remove_user(settings.users_path, "Ann Lee") and not remove_user(settings.users_path, "Ann Lee")
    with pytest.raises(Unauthorized):  # the file changed: the server re-reads it and the key is gone
        auth.caller(f"Bearer {k1}")
    with pytest.raises(BadInput):
        add_user(settings.users_path, name="Eve", groups=["a,b"])


def test_source_memberships_join_a_users_groups_when_ingest_changes_them(settings: Settings) -> None:
    key = add_user(settings.users_path, name="Ann Lee", groups=[])
    auth = Authenticator(settings)
    assert auth.caller(f"Bearer {key}").groups == ()
    Memberships(groups={"slack:vault": ["Ann Lee"]}).save(settings.memberships_path)
    assert auth.caller(f"Bearer {key}").groups == ("slack:vault",)


def test_auth_modes(settings: Settings) -> None:
    assert not Authenticator(settings).enabled  # auto, no users file: local and public
    assert Authenticator(settings).caller(None).groups is None
    with pytest.raises(ConfigError, match="users add"):
        Authenticator(settings.model_copy(update={"auth": "on"}))
    add_user(settings.users_path, name="Ann", groups=[])
    assert not Authenticator(settings.model_copy(update={"auth": "off"})).enabled


def test_token_bucket_refills_at_its_rate() -> None:
    now = [100.0]
    bucket = TokenBucket(rate_per_s=0.5, burst=2, clock=lambda: now[0])
    assert [bucket.take("a"), bucket.take("a")] == [0.0, 0.0]
    assert bucket.take("a") == pytest.approx(2.0)  # one token takes 2 s at 0.5/s
    assert bucket.take("b") == 0.0  # another key has its own bucket
    now[0] += 1.0
    assert bucket.take("a") == pytest.approx(1.0)
    now[0] += 1.0
    assert bucket.take("a") == 0.0


@pytest.mark.parametrize(("host", "loop"), [("127.0.0.1", True), ("127.1.2.3", True), ("::1", True),
                                            ("localhost", True), ("0.0.0.0", False), ("192.168.1.5", False),
                                            ("example.org", False)])
def test_loopback(host: str, loop: bool) -> None:
    assert is_loopback(host) is loop


def test_serve_refuses_a_public_interface_with_auth_off(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="--allow-public-without-auth"):
        check_bind("0.0.0.0", settings)
    check_bind("0.0.0.0", settings, force=True)
    check_bind("127.0.0.1", settings)
    add_user(settings.users_path, name="Ann", groups=[])
    check_bind("0.0.0.0", settings)  # auth on now


def test_cli_adds_a_user_and_prints_the_key_once(tmp_path: Path) -> None:
    runner = CliRunner()
    data = str(tmp_path / "data")
    r = runner.invoke(cli, ["users", "add", "Ann Lee", "--group", "eng", "--group", "sre", "--data-dir", data])
    assert r.exit_code == 0, r.output
    key = r.stdout.strip().splitlines()[-1]
    assert key.startswith("wk_")
    listed = runner.invoke(cli, ["users", "list", "--json", "--data-dir", data])
    assert listed.exit_code == 0 and key not in listed.output
    (row,) = json.loads(listed.stdout)
    assert row["name"] == "Ann Lee" and row["groups"] == ["eng", "sre"] and row["keys"][0] in key
    refused = runner.invoke(cli, ["serve", "--host", "0.0.0.0", "--data-dir", str(tmp_path / "other")])
    assert refused.exit_code == 1 and "refusing" in refused.output
    assert runner.invoke(cli, ["users", "remove", "Ann Lee", "--data-dir", data]).exit_code == 0
    assert runner.invoke(cli, ["users", "remove", "Ann Lee", "--data-dir", data]).exit_code == 1
