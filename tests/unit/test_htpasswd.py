"""The registry's htpasswd file and the temporary users kept in it."""

from __future__ import annotations

import bcrypt
import pytest

from localcloud.registry.htpasswd import BCRYPT_COST, HtpasswdFile, parse, render
from localcloud.registry.temporary_users import PREFIX, TemporaryLogin, TemporaryUsers, expiry_of


def test_parse_skips_blanks_and_comments_and_round_trips():
    entries = parse("# users\n\nalice:$2b$04$abc\nbob:$2b$04$def\n")
    assert entries == {"alice": "$2b$04$abc", "bob": "$2b$04$def"}
    assert parse(render(entries)) == entries


def test_parse_rejects_a_line_without_a_colon():
    with pytest.raises(ValueError, match="malformed htpasswd line"):
        parse("alice\n")


def test_set_user_stores_a_cheap_bcrypt_hash_that_verifies(tmp_path):
    file = HtpasswdFile(tmp_path / "htpasswd")
    file.set_user("alice", "s3cret")
    hashed = file.users()["alice"]
    assert hashed.startswith(f"$2b$0{BCRYPT_COST}$")
    assert bcrypt.checkpw(b"s3cret", hashed.encode())
    assert (tmp_path / "htpasswd").stat().st_mode & 0o777 == 0o600


def test_every_write_gets_a_newer_mtime_so_the_registry_notices_it(tmp_path):
    file = HtpasswdFile(tmp_path / "htpasswd")
    mtimes = []
    for n in range(20):
        file.set_user(f"user{n}", "pw")
        mtimes.append((tmp_path / "htpasswd").stat().st_mtime_ns)
    assert mtimes == sorted(set(mtimes))


def test_remove_users_removes_only_the_matching_ones(tmp_path):
    file = HtpasswdFile(tmp_path / "htpasswd")
    for user in ("keep", "drop1", "drop2"):
        file.set_user(user, "pw")
    assert file.remove_users(lambda user: user.startswith("drop")) == ["drop1", "drop2"]
    assert list(file.users()) == ["keep"]


def test_temporary_logins_are_unique_users_that_expire(tmp_path):
    file = HtpasswdFile(tmp_path / "htpasswd")
    file.set_user("localcloud-admin", "pw")
    users = TemporaryUsers(file)
    first, second = users.issue(3600), users.issue(60)
    assert first.username != second.username and first.username.startswith(PREFIX)
    assert bcrypt.checkpw(first.password.encode(), file.users()[first.username].encode())
    assert expiry_of(first.username) == first.expires_at
    assert expiry_of("localcloud-admin") is None

    assert users.purge_expired(now=second.expires_at) == [second.username]
    assert set(file.users()) == {"localcloud-admin", first.username}


def test_issuing_purges_the_expired_logins(tmp_path):
    file = HtpasswdFile(tmp_path / "htpasswd")
    users = TemporaryUsers(file)
    stale = users.issue(0.001)
    fresh = users.issue(60)
    assert set(file.users()) == {fresh.username}
    assert stale.username not in file.users()


def test_a_temporary_login_never_shows_its_password():
    shown = repr(TemporaryLogin("cr_temp_user_1_ab", "top-secret", 1.0))
    assert "top-secret" not in shown and "cr_temp_user_1_ab" in shown
