"""Loopback addresses for container groups: each ECI instance gets its own ``127.0.0.N`` as its private IP, so
many instances can all publish port 80.

Linux routes all of 127.0.0.0/8 to the loopback interface, so these addresses need no setup. Several localclouds
may share one Docker engine (parallel test runs), so a held address is also reserved machine-wide with a
``flock`` on a file per address, which the kernel drops when its process dies: nothing to clean up.
"""

from __future__ import annotations

import errno
import fcntl
import ipaddress
import os
import socket
import tempfile
import threading
from pathlib import Path
from typing import Collection, Iterable

FIRST = ipaddress.IPv4Address("127.0.0.2")  # 127.0.0.1 is the host's own services
LAST = ipaddress.IPv4Address("127.0.255.254")
LOCK_DIR = Path(tempfile.gettempdir()) / "localcloud-loopback-addresses"


class NoFreeAddress(Exception):
    pass


def port_is_free(ip: str, port: int) -> bool:
    """Whether nothing listens on ``ip:port`` (probed by binding it; without the privilege to bind a low port,
    by connecting to it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As Docker's port proxy binds (Go listeners set SO_REUSEADDR): connections of a removed container
        # lingering in TIME_WAIT do not block the port.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((ip, port))
            return True
        except PermissionError:
            pass
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((ip, port)) != 0


def _reserve(lock_dir: Path, ip: str) -> int | None:
    """An open, exclusively locked descriptor for ``ip``, or None if another process holds the address."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(lock_dir / ip, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return descriptor
    except BlockingIOError:
        os.close(descriptor)
        return None


class LoopbackAddresses:
    """Hands out ``127.0.0.N`` addresses, lowest first, skipping those held by this or another localcloud, those
    the caller knows to be taken (``avoid``), and those with a needed port already bound by anything else."""

    def __init__(
        self, first: ipaddress.IPv4Address = FIRST, last: ipaddress.IPv4Address = LAST, lock_dir: Path = LOCK_DIR
    ) -> None:
        self._first, self._last = int(first), int(last)
        self._lock_dir = lock_dir
        self._held: dict[str, int | None] = {}  # address -> its flock'd descriptor (None: another process has it)
        self._lock = threading.Lock()

    def allocate(self, ports: Iterable[int], avoid: Collection[str] = ()) -> str:
        needed = sorted(set(ports))
        with self._lock:
            for number in range(self._first, self._last + 1):
                ip = str(ipaddress.IPv4Address(number))
                if ip in self._held or ip in avoid:
                    continue
                descriptor = _reserve(self._lock_dir, ip)
                if descriptor is None:
                    continue
                if not all(port_is_free(ip, port) for port in needed):
                    os.close(descriptor)
                    continue
                self._held[ip] = descriptor
                return ip
        raise NoFreeAddress(
            f"every loopback address from {ipaddress.IPv4Address(self._first)} to {ipaddress.IPv4Address(self._last)} "
            f"is taken or has one of the ports {needed} bound; delete some container groups"
        )

    def claim(self, ip: str) -> None:
        """Hold an address without probing its ports (its group already uses it)."""
        with self._lock:
            if ip not in self._held:
                self._held[ip] = _reserve(self._lock_dir, ip)

    def release(self, ip: str) -> None:
        with self._lock:
            descriptor = self._held.pop(ip, None)
        if descriptor is not None:
            os.close(descriptor)  # drops the flock

    def in_use(self) -> set[str]:
        with self._lock:
            return set(self._held)


# One pool per process: every runtime in it (tests may run several clouds) must avoid the others' addresses.
SHARED = LoopbackAddresses()


class GroupAddresses:
    """Which loopback address each container group of one runtime holds."""

    def __init__(self, pool: LoopbackAddresses = SHARED) -> None:
        self._pool = pool
        self._by_group: dict[str, str] = {}
        self._lock = threading.Lock()

    def assign(self, group_id: str, ports: Iterable[int], avoid: Collection[str] = ()) -> str:
        """A fresh address for the group (an address it held before is freed)."""
        self.release(group_id)
        ip = self._pool.allocate(ports, avoid)
        with self._lock:
            self._by_group[group_id] = ip
        return ip

    def keep(self, group_id: str, ip: str) -> None:
        """Record an address the group already holds (an in-place update keeps it)."""
        self._pool.claim(ip)
        with self._lock:
            self._by_group[group_id] = ip

    def release(self, group_id: str) -> None:
        with self._lock:
            held = self._by_group.pop(group_id, None)
        if held is not None:
            self._pool.release(held)

    def group_ids(self) -> list[str]:
        with self._lock:
            return list(self._by_group)
