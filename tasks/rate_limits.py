"""Client-side rate limits per product and action, shared by every worker: a fan-out stays under the account's API
quota instead of being throttled and retrying.

Each limit is a Prefect global concurrency limit with a slot decay (a rate limit) named
``<prefix>-<product>-<Action>``, e.g. ``eci-release-rate-ess-ModifyEciScalingConfiguration``: the prefix is
``eci-release-rate`` unless ``ECI_RELEASE_RATE_LIMIT_PREFIX`` says otherwise (one per Alibaba Cloud account, when
several share a Prefect server). Its slot decay is the calls per second, its limit the burst. It lives in the Prefect
server, so every worker on every machine reads the same one. Every SDK call (``tasks/cloud_calls.py``) keeps to its
action's limit before each attempt, in one of two ways:

- a call that changes something takes a slot of the limit on the Prefect server: one round trip, waiting as long as
  the limit says; every worker draws from the same slots;
- a read (``Describe*``, ``List*``, ``Get*``: most calls, every wait's polls) is paced in its process at the process's
  share of the limit: the rate and the burst divided by the number of releases holding their group's lock now
  (``flows/group_lock.py``, of any account on the server; one at least). Every process reads the same limits and the
  same count, so together they keep to the limit without a round trip a read. A slot a read was most of what a
  fan-out asked of the Prefect server: on 20 groups, 1226 of about 2700 requests; the fan-out took 75.6 s with them,
  61-72 s shared, 62.1 s with no limits at all. When the share of the burst is less than one call (more releases
  than the burst), a read takes a slot on the server as a write does. The count lags: each process re-reads it
  every ``REFRESH_SECONDS`` and once it holds its own lock, so while many releases start at once the limit can be
  passed for a moment (the cloud's own throttling is still retried).

Only a limit that exists costs anything. Which ones exist, and how many releases hold a lock, are read every
``REFRESH_SECONDS`` per process (one Prefect API call; every ``UNLIMITED_REFRESH_SECONDS`` while none exists); a call
whose action has no active limit goes straight out.
Without a Prefect server (no ``PREFECT_API_URL``: a shell with a temporary server) nothing is limited, and while the
Prefect server does not answer nothing is either (the cloud's own throttling is still retried).

Alibaba Cloud publishes no per-API rates for ESS, ECI, OOS or CR (its Quota Center shows them per account, region and
API), so the defaults the fan-out creates are conservative: ``DEFAULT_RATES``. Change one in the Prefect UI
(Concurrency) or with ``prefect gcl update <name> --limit N --slot-decay-per-second N``; add one for any other action
by creating a limit with its name; disable one (``--disable``) rather than delete it, or the next fan-out creates it
again.
"""

from __future__ import annotations

import math
import os
import re
import ssl
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass

import httpx
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.exceptions import ObjectAlreadyExists
from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_KEY, PREFECT_API_URL

from tasks.logs import logger

DEFAULT_PREFIX = "eci-release-rate"
GROUP_LOCK_PREFIX = "eci-release-group-"  # the release locks' names (flows/group_lock.py): their holders share reads
REFRESH_SECONDS = 2.0
UNLIMITED_REFRESH_SECONDS = 30.0  # while none exists: a fan-out creates them, a lone release does not
READ_TIMEOUT_SECONDS = 5.0
READS = ("Describe", "List", "Get")
_READ, _WRITE = 20.0, 5.0  # calls per second
DEFAULT_RATES: dict[str, float] = {
    "ess:DescribeScalingGroups": _READ,
    "ess:DescribeScalingInstances": _READ,
    "ess:DescribeScalingActivities": _READ,
    "ess:DescribeEciScalingConfigurations": _READ,
    "ess:ModifyEciScalingConfiguration": _WRITE,
    "ess:ScaleWithAdjustment": _WRITE,
    "ess:RemoveInstances": _WRITE,
    "ess:ResumeProcesses": _WRITE,
    "ess:ExitStandby": _WRITE,
    "eci:DescribeContainerGroups": _READ,
    "oos:StartExecution": _WRITE,
    "oos:ListExecutions": _READ,
    "oos:NotifyExecution": _WRITE,
    "oos:CancelExecution": _WRITE,
    "cr:GetAuthorizationToken": _WRITE,
    "cr:GetRepository": _READ,
    "cr:GetRepoTag": _READ,
}
# How the tasks name their calls: "ess DescribeScalingGroups", "registry login (cr GetAuthorizationToken)".
_NAMED_CALL = re.compile(r"\b(ess|eci|oos|cr|sts) ([A-Z][A-Za-z]+)\b")


def rate_key(what: str) -> str | None:
    """``product:Action`` of a call named as the tasks name them, or None for a name that is not one."""
    found = _NAMED_CALL.search(what)
    return f"{found[1]}:{found[2]}" if found else None


def prefix() -> str:
    return os.environ.get("ECI_RELEASE_RATE_LIMIT_PREFIX") or DEFAULT_PREFIX


def limit_name(key: str) -> str:
    product, action = key.split(":")
    return f"{prefix()}-{product}-{action}"


def burst(rate: float) -> int:
    """The limit's slots: a second's worth of calls, at least one."""
    return max(1, math.ceil(rate))


def create_missing(rates: dict[str, float]) -> list[str]:
    """Create the limits of ``rates`` (``product:Action`` -> calls per second) that do not exist; existing ones are
    left as they are. Returns the names created."""
    created = []
    with get_client(sync_client=True) as client:
        existing = {limit.name for limit in _all_limits(client)}
        for key, rate in rates.items():
            name = limit_name(key)
            if name in existing:
                continue
            try:
                client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(name=name, limit=burst(rate), slot_decay_per_second=rate)
                )
                created.append(name)
            except ObjectAlreadyExists:  # another fan-out created it in the meantime
                pass
    if created:
        logger().info("created the rate limits %s", ", ".join(created))
    return created


def _all_limits(client) -> list:
    limits, page = [], 200
    while True:
        batch = client.read_global_concurrency_limits(limit=page, offset=len(limits))
        limits += batch
        if len(batch) < page:
            return limits


def is_read(key: str) -> bool:
    """Whether the ``product:Action`` only reads (paced in the process) rather than changes something (a slot)."""
    return key.partition(":")[2].startswith(READS)


def recount_sharing() -> None:
    """This process now holds a group's lock: count the releases sharing the read limits again before the next
    call, when there are limits."""
    _limiter.recount()


def releases_holding_locks(limits: list) -> int:
    """How many releases hold their group's lock, as the server's limits say; one at least (the caller)."""
    return max(1, sum(1 for limit in limits if limit.name.startswith(GROUP_LOCK_PREFIX) and limit.active_slots > 0))


@dataclass(frozen=True)
class _Rate:
    per_second: float  # the limit's slot decay
    burst: int  # the limit's slots


class ReadPace:
    """A process's share of a read limit: a token bucket whose calls wait their turn (one past the share waits
    until its token would be there) rather than go out early."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: float | None = None  # full at first
        self._at = 0.0

    def wait_turn(self, per_second: float, burst: float) -> None:
        with self._lock:
            now = time.monotonic()
            tokens = burst if self._tokens is None else min(burst, self._tokens + (now - self._at) * per_second)
            self._tokens, self._at = tokens - 1, now
        if tokens < 1:
            time.sleep((1 - tokens) / per_second)


class Limiter:
    """The limits this process knows of and how many releases share them, re-read every ``REFRESH_SECONDS``, and
    a Prefect client of its own kept open for them: one opened per call costs several times the call, and a flow
    run's own client closes with the run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stack = ExitStack()
        self._client = None
        self._api_url: str | None = None
        self._rates: dict[str, _Rate] = {}
        self._sharing = 1
        self._paces: dict[str, ReadPace] = {}
        self._read_at = -math.inf
        self._refreshing = False
        self._without_decay: frozenset[str] = frozenset()

    def take(self, key: str) -> None:
        name = limit_name(key)
        client, rate, sharing = self._known(name)
        if rate is None:
            return
        if is_read(key) and rate.burst >= sharing:
            with self._lock:
                pace = self._paces.setdefault(name, ReadPace())
            pace.wait_turn(rate.per_second / sharing, rate.burst / sharing)
            return
        try:
            while True:
                try:
                    client.increment_concurrency_slots(names=[name], slots=1, mode="rate_limit")
                    return
                except httpx.HTTPStatusError as error:
                    if error.response.status_code != 423:  # 423: no slot yet; Retry-After says when
                        raise
                    time.sleep(float(error.response.headers.get("Retry-After", 1)))
        except Exception as error:
            self._forget(f"could not take a slot of {name} ({error}): calls go unlimited for now")

    def recount(self) -> None:
        with self._lock:
            if self._rates:
                self._read_at = -math.inf

    def _known(self, name: str):
        """(the client, the limit's rate or None when it has none active, the releases sharing it). One thread
        re-reads the limits when due, outside the lock: the others go on with what was read before."""
        url = PREFECT_API_URL.value()
        if not url:
            return None, None, 1
        with self._lock:
            if url != self._api_url:
                self._stack.close()
                client = SyncPrefectClient(
                    url,
                    auth_string=PREFECT_API_AUTH_STRING.value(),
                    api_key=PREFECT_API_KEY.value(),
                    httpx_settings=_client_settings(url),
                )
                self._client = self._stack.enter_context(client)
                self._api_url, self._read_at = url, -math.inf
            interval = REFRESH_SECONDS if self._rates else UNLIMITED_REFRESH_SECONDS
            due = not self._refreshing and time.monotonic() - self._read_at > interval
            if due:
                self._refreshing, self._read_at = True, time.monotonic()
            client = self._client
        if due:
            self._refresh(client)
        with self._lock:
            return client, self._rates.get(name), self._sharing

    def _refresh(self, client) -> None:
        try:
            limits = _all_limits(client)
            mine = [limit for limit in limits if limit.active and limit.name.startswith(prefix() + "-")]
            # A limit without a decay is no rate: the server refuses its slots as rate limits.
            rates = {
                limit.name: _Rate(limit.slot_decay_per_second, limit.limit)
                for limit in mine
                if limit.slot_decay_per_second > 0
            }
            without_decay = frozenset(limit.name for limit in mine) - rates.keys()
            sharing = releases_holding_locks(limits)
        except Exception as error:
            rates, without_decay, sharing = {}, self._without_decay, 1
            logger().warning("could not read the rate limits (%s): calls go unlimited for now", error)
        with self._lock:
            newly_ignored = without_decay - self._without_decay
            self._rates, self._sharing, self._without_decay = rates, sharing, without_decay
            self._refreshing = False
        if newly_ignored:
            logger().warning(
                "the limits %s have no slot decay, so no rate: calls go unlimited by them (set "
                "--slot-decay-per-second)",
                ", ".join(sorted(newly_ignored)),
            )

    def _forget(self, why: str) -> None:
        with self._lock:
            self._rates, self._read_at = {}, time.monotonic()
        logger().warning(why)


def _client_settings(url: str) -> dict:
    settings = {"timeout": READ_TIMEOUT_SECONDS}  # a hung server must not hold the calls
    if url.startswith("http://"):
        # Never used over plain HTTP. Without it Prefect loads the whole CA bundle (20 ms) before the first call;
        # with no CA loaded, a TLS handshake could only fail.
        settings["verify"] = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return settings


_limiter = Limiter()


def take_slot(key: str) -> None:
    """Wait for a slot of the call's rate limit, when one exists."""
    _limiter.take(key)
