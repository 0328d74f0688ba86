"""Loopback addresses for container groups. Each test uses its own small range of 127.0.200.x and its own lock
directory, away from the addresses running localclouds hand out."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from localcloud.runtime.addresses import GroupAddresses, LoopbackAddresses, NoFreeAddress, port_is_free


@pytest.fixture
def pool_of(tmp_path):
    def pool(first: str, last: str) -> LoopbackAddresses:
        return LoopbackAddresses(ipaddress.IPv4Address(first), ipaddress.IPv4Address(last), lock_dir=tmp_path)

    return pool


@pytest.fixture
def listener():
    """A real listening socket on 127.0.200.2, on a free high port."""
    with socket.socket() as sock:
        sock.bind(("127.0.200.2", 0))
        sock.listen()
        yield sock.getsockname()


def test_addresses_are_handed_out_lowest_first_and_reused_after_release(pool_of):
    pool = pool_of("127.0.200.10", "127.0.200.12")
    first, second = pool.allocate([]), pool.allocate([])
    assert (first, second) == ("127.0.200.10", "127.0.200.11")
    pool.release(first)
    assert pool.allocate([]) == first
    assert pool.in_use() == {first, second}


def test_an_address_with_a_needed_port_bound_is_skipped(listener, pool_of):
    ip, port = listener
    assert not port_is_free(ip, port)
    pool = pool_of("127.0.200.2", "127.0.200.3")
    assert pool.allocate([port]) == "127.0.200.3"
    assert pool.allocate([]) == "127.0.200.2"  # other ports there are free


def test_addresses_the_caller_knows_are_taken_are_skipped(pool_of):
    pool = pool_of("127.0.200.15", "127.0.200.16")
    assert pool.allocate([], avoid={"127.0.200.15"}) == "127.0.200.16"


def test_an_address_another_localcloud_holds_is_skipped_until_it_lets_go(pool_of):
    ours, theirs = pool_of("127.0.200.50", "127.0.200.51"), pool_of("127.0.200.50", "127.0.200.51")
    assert theirs.allocate([]) == "127.0.200.50"
    assert ours.allocate([]) == "127.0.200.51"
    theirs.release("127.0.200.50")
    ours.release("127.0.200.51")
    assert ours.allocate([]) == "127.0.200.50"


def test_running_out_of_addresses_says_so(pool_of):
    pool = pool_of("127.0.200.20", "127.0.200.20")
    pool.allocate([])
    with pytest.raises(NoFreeAddress, match="127.0.200.20 to 127.0.200.20"):
        pool.allocate([])


def test_a_group_holds_one_address_until_released(pool_of):
    pool = pool_of("127.0.200.30", "127.0.200.39")
    groups = GroupAddresses(pool)
    ip = groups.assign("eci-a", [])
    assert groups.assign("eci-a", []) == ip  # a new launch of the same group frees the old address first
    groups.assign("eci-b", [])
    assert groups.group_ids() == ["eci-a", "eci-b"]
    groups.release("eci-a")
    groups.release("eci-a")  # idempotent
    assert ip not in pool.in_use()


def test_keeping_an_address_reserves_it_in_the_pool(pool_of):
    pool = pool_of("127.0.200.40", "127.0.200.41")
    GroupAddresses(pool).keep("eci-a", "127.0.200.40")
    assert pool.allocate([]) == "127.0.200.41"
