"""A PostgreSQL server of the stack's own, in its own data directory, on loopback, for the Prefect server.

Password authentication even on loopback (any local user can reach a loopback port): the password is made on
first use and kept beside the data directory, readable by this user only.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from deployments.processes import Children, free_port, write_private_file


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(Path(p).parent.parent.name))
    if not found:
        raise RuntimeError("no PostgreSQL server: install the Debian package postgresql (scripts/setup-host does)")
    return Path(found[-1]).parent


def start_postgres(children: Children, data_dir: Path) -> str:
    """Start (initialising on first use) a server in ``data_dir``; returns the Prefect database URL."""
    bin_dir = _bin_dir()
    # PostgreSQL refuses to run as root: as root, the server runs as the package's postgres user.
    user = "postgres" if os.geteuid() == 0 else None
    data_dir.mkdir(parents=True, exist_ok=True)
    if user:
        shutil.chown(data_dir, user, user)
        closed = [p for p in data_dir.parents if p.stat().st_mode & 0o001 == 0]
        if closed:
            raise RuntimeError(
                f"the postgres user cannot reach {data_dir}: {closed[0]} is closed to other users; "
                "choose a --state-dir under a directory others may enter (e.g. /tmp or /srv)"
            )
    env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C.UTF-8"}
    password_file = data_dir.parent / f"{data_dir.name}.password"
    if not (data_dir / "PG_VERSION").exists():
        write_private_file(password_file, secrets.token_urlsafe(24))
        _initdb(bin_dir, data_dir, password_file.read_text(), env, user)
    password = password_file.read_text()
    env["PGPASSWORD"] = password
    port = free_port()
    server = children.start(
        "postgresql",
        [str(bin_dir / "postgres"), "-D", str(data_dir), "-p", str(port), "-k", str(data_dir)]
        + ["-c", "listen_addresses=127.0.0.1"],
        env=env,
        user=user,
    )
    psql = [str(bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-tAc"]
    deadline = time.monotonic() + 60
    while subprocess.run([*psql, "select 1"], capture_output=True, env=env).returncode != 0:
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"PostgreSQL did not start:\n{children.log_tail('postgresql')}")
        time.sleep(0.3)
    exists = subprocess.run([*psql, "select 1 from pg_database where datname='prefect'"], capture_output=True, env=env)
    if exists.stdout.strip() != b"1":
        subprocess.run([*psql, "create database prefect"], check=True, capture_output=True, env=env)
    return f"postgresql+asyncpg://postgres:{password}@127.0.0.1:{port}/prefect"


def _initdb(bin_dir: Path, data_dir: Path, password: str, env: dict[str, str], user: str | None) -> None:
    # initdb reads the password from a file the server's user can read; it is removed right after.
    with tempfile.NamedTemporaryFile("w", dir=data_dir.parent, suffix=".pw") as pwfile:
        pwfile.write(password)
        pwfile.flush()
        if user:
            shutil.chown(pwfile.name, user, user)
        created = subprocess.run(
            [str(bin_dir / "initdb"), "-D", str(data_dir), "-U", "postgres", "-A", "scram-sha-256"]
            + ["--pwfile", pwfile.name, "-E", "UTF8"],
            capture_output=True,
            text=True,
            env=env,
            user=user,
        )
    if created.returncode != 0:
        raise RuntimeError(f"initdb failed: {created.stderr.strip()[-1000:]}")
