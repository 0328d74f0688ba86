"""Simulated instances: no Docker, but the same contract, timings and failures, checked against the real
registry."""

from __future__ import annotations

import time
import uuid
from typing import Iterator

import pytest
import requests

from localcloud.faults import FaultRule, Faults
from localcloud.registry.seed_image import push_http_image
from localcloud.registry.service import Registry
from localcloud.runtime.addresses import SHARED
from localcloud.runtime.base import ContainerSpec, RuntimeFailure
from localcloud.runtime.simulated import SimulatedRuntime
from localcloud.timing import Latencies
from tests.support.requirements import require_registry_binary

FAST = Latencies(image_pull=0.05, container_start=0.05, stay_up=0.1)


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> Iterator[Registry]:
    require_registry_binary()
    started = Registry.start(tmp_path_factory.mktemp("registry"))
    push_http_image(started, "test/sim", "v1", "v1")
    push_http_image(started, "test/sim", "v2", "v2")
    yield started
    started.stop()


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
def runtime(registry, faults) -> Iterator[SimulatedRuntime]:
    simulated = SimulatedRuntime(FAST, faults, registry)
    yield simulated
    simulated.shutdown()


def _group() -> str:
    return f"eci-{uuid.uuid4().hex[:8]}"


def test_launch_takes_the_latencies_and_gives_a_running_group_its_own_address(runtime, registry):
    started = time.monotonic()
    handle = runtime.launch(_group(), [ContainerSpec("web", f"{registry.address}/test/sim:v1", ports=(80,))])
    assert time.monotonic() - started >= FAST.image_pull + FAST.container_start + FAST.stay_up
    assert handle.ip in SHARED.in_use() and set(handle.container_ids) == {"web"}
    assert runtime.is_running(handle)
    runtime.destroy(handle)
    runtime.destroy(handle)  # idempotent
    assert not runtime.is_running(handle) and handle.ip not in SHARED.in_use()


def test_an_image_missing_from_the_registry_fails_to_pull(runtime, registry):
    image = f"{registry.address}/test/sim:missing"
    with pytest.raises(RuntimeFailure) as failed:
        runtime.launch(_group(), [ContainerSpec("web", image)])
    assert failed.value.reason == "ErrImagePull" and "manifest unknown" in failed.value.message


def test_images_of_other_registries_are_taken_on_trust(runtime):
    handle = runtime.launch(_group(), [ContainerSpec("web", "registry.example.com/team/app:1")])
    assert runtime.is_running(handle)


def test_faults_fail_the_pull_or_crash_the_container(runtime, registry, faults):
    image = f"{registry.address}/test/sim:v1"
    faults.add(FaultRule(kind="pull_failure", image="test/sim", times=1))
    with pytest.raises(RuntimeFailure, match="ErrImagePull"):
        runtime.launch(_group(), [ContainerSpec("web", image)])
    faults.add(FaultRule(kind="crash_loop", image="test/sim", times=1))
    with pytest.raises(RuntimeFailure) as failed:
        runtime.launch(_group(), [ContainerSpec("web", image)])
    assert failed.value.reason == "CrashLoopBackOff" and "web" in failed.value.message


def test_replace_keeps_the_address_and_a_failed_replace_stops_the_group(runtime, registry, faults):
    before = runtime.launch(_group(), [ContainerSpec("web", f"{registry.address}/test/sim:v1")])
    after = runtime.replace(before, [ContainerSpec("web", f"{registry.address}/test/sim:v2")])
    assert after.ip == before.ip and runtime.is_running(after) and not runtime.is_running(before)

    with pytest.raises(RuntimeFailure, match="ErrImagePull"):
        runtime.replace(after, [ContainerSpec("web", f"{registry.address}/test/sim:missing")])
    assert not runtime.is_running(after)
    assert after.ip in SHARED.in_use()  # held until the group is destroyed


def _get(ip: str, path: str = "/") -> requests.Response:
    session = requests.Session()
    session.trust_env = False
    return session.get(f"http://{ip}:80{path}", timeout=2)


def test_a_running_instance_answers_its_health_check_with_its_image_until_it_is_gone(runtime, registry):
    v1, v2 = f"{registry.address}/test/sim:v1", f"{registry.address}/test/sim:v2"
    handle = runtime.launch(_group(), [ContainerSpec("web", v1, ports=(80,))])
    answer = _get(handle.ip)
    assert (answer.status_code, answer.text) == (200, f"{v1}\n")
    assert _get(handle.ip, "/missing").status_code == 404
    updated = runtime.replace(handle, [ContainerSpec("web", v2, ports=(80,))])
    assert _get(updated.ip).text == f"{v2}\n"
    runtime.destroy(updated)
    with pytest.raises(requests.ConnectionError):
        _get(updated.ip)


def test_a_frozen_instance_accepts_connections_and_never_answers(runtime, registry, faults):
    faults.add(FaultRule(kind="unresponsive", image="test/sim", times=1))
    handle = runtime.launch(_group(), [ContainerSpec("web", f"{registry.address}/test/sim:v1", ports=(80,))])
    assert runtime.is_running(handle)
    with pytest.raises(requests.ReadTimeout):
        _get(handle.ip)
