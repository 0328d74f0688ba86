"""The real parts under localcloud: distribution's registry (images, logins) and the Docker engine (instances).
No mocks: images are pushed to a real registry, pulled and run by a real engine, and answer real HTTP."""

from __future__ import annotations

import json
import time
import uuid
from typing import Iterator

import docker
import pytest
import requests

from localcloud.faults import FaultRule, Faults
from localcloud.registry.client import RegistryError
from localcloud.registry.images import DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, host_architecture
from localcloud.registry.seed_image import push_http_image
from localcloud.registry.service import Registry, RegistryNotManaged
from localcloud.runtime.addresses import SHARED
from localcloud.runtime.base import ContainerSpec, RuntimeFailure
from localcloud.runtime.docker_runtime import GROUP_LABEL, RUNTIME_LABEL, DockerRuntime
from localcloud.timing import Latencies
from tests.support.http import page
from tests.support.requirements import require_docker, require_registry_binary

FAST = Latencies(image_pull=0, container_start=0, stay_up=0.3)

_http = requests.Session()
_http.trust_env = False  # loopback only


@pytest.fixture(scope="module")
def engine(registry) -> Iterator[docker.DockerClient]:
    """The Docker engine; the names this module pulled from its registry are removed afterwards. By name, not by id:
    the same image may also be another test's, or the base of one built since, and an id with dependants cannot go."""
    require_docker()
    client = docker.from_env()
    yield client
    for image in client.images.list():
        for name in image.attrs.get("RepoTags", []) + image.attrs.get("RepoDigests", []):
            if name.startswith(registry.address + "/"):
                try:
                    client.images.remove(name, force=True)
                except docker.errors.ImageNotFound:  # went with the image when its last other name was removed
                    pass
    client.close()


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
def runtime(engine, registry, faults) -> Iterator[DockerRuntime]:
    def registry_auth(host: str) -> dict[str, str] | None:
        return registry.admin_auth() if host == registry.address else None

    started = DockerRuntime(FAST, faults, registry_auth)
    yield started
    started.shutdown()


def _repository() -> str:
    return f"test/web-{uuid.uuid4().hex[:8]}"


def _image(registry: Registry, page_text: str, repository: str | None = None, tag: str = "v1") -> str:
    repository = repository or _repository()
    push_http_image(registry, repository, tag, page_text)
    return f"{registry.address}/{repository}:{tag}"


def _status_with(registry: Registry, auth: tuple[str, str] | None) -> int:
    return _http.get(f"http://{registry.address}/v2/", auth=auth, timeout=5).status_code


# -- registry --------------------------------------------------------------------------------------------------


def test_a_temporary_login_works_until_it_expires_and_is_purged(registry):
    login = registry.issue_token(0.5)
    assert _status_with(registry, (login.username, login.password)) == 200
    assert _status_with(registry, (login.username, "wrong")) == 401
    time.sleep(0.6)
    assert registry.purge_expired() == [login.username]
    assert _status_with(registry, (login.username, login.password)) == 401


def test_issuing_a_login_purges_the_expired_ones(registry):
    stale = registry.issue_token(0.01)
    time.sleep(0.02)
    fresh = registry.issue_token(60)
    assert _status_with(registry, (stale.username, stale.password)) == 401
    assert _status_with(registry, (fresh.username, fresh.password)) == 200


def test_reads_report_tags_digests_sizes_and_times(registry):
    repository = _repository()
    digest = push_http_image(registry, repository, "v1", "one")
    push_http_image(registry, repository, "v2", "two")
    assert repository in registry.catalog()
    assert sorted(registry.tags(repository)) == ["v1", "v2"]
    assert registry.tags("test/never-pushed") == []
    info = registry.manifest(repository, "v1")
    assert info.digest == digest
    assert info.created == 0.0
    manifest = _raw_manifest(registry, repository, "v1")
    assert info.size == manifest["config"]["size"] + sum(layer["size"] for layer in manifest["layers"])
    assert info.config_digest == manifest["config"]["digest"]
    assert registry.manifest(repository, digest) == info
    assert registry.manifest(repository, "v3") is None
    assert push_http_image(registry, repository, "v1-again", "one") == digest  # same text, same image


def test_oci_manifests_and_indexes_are_read_too(registry):
    repository = _repository()
    docker_digest = push_http_image(registry, repository, "docker", "oci")
    schema2 = registry.manifest(repository, docker_digest)
    manifest = _raw_manifest(registry, repository, "docker")
    oci = {
        **manifest,
        "mediaType": OCI_MANIFEST,
        "config": {**manifest["config"], "mediaType": "application/vnd.oci.image.config.v1+json"},
        "layers": [
            {**layer, "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip"} for layer in manifest["layers"]
        ],
    }
    oci_body = json.dumps(oci).encode()
    oci_digest = _put_manifest(registry, repository, "oci", oci_body, OCI_MANIFEST)
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": oci_digest,
                "size": len(oci_body),
                "platform": {"os": "linux", "architecture": host_architecture()},
            }
        ],
    }
    index_digest = _put_manifest(registry, repository, "index", json.dumps(index).encode(), OCI_INDEX)

    as_oci = registry.manifest(repository, "oci")
    as_index = registry.manifest(repository, "index")
    assert (as_oci.digest, as_oci.media_type) == (oci_digest, OCI_MANIFEST)
    assert (as_index.digest, as_index.media_type) == (index_digest, OCI_INDEX)
    assert as_oci.size == as_index.size == schema2.size
    assert as_oci.config_digest == as_index.config_digest == schema2.config_digest


def test_a_restart_on_the_same_directory_keeps_images_and_unexpired_logins(tmp_path):
    require_registry_binary()
    first = Registry.start(tmp_path)
    digest = push_http_image(first, "test/kept", "v1", "kept")
    login = first.issue_token(600)
    first.stop()
    first.stop()  # idempotent
    second = Registry.start(tmp_path)
    try:
        assert second.manifest("test/kept", "v1").digest == digest
        assert _status_with(second, (login.username, login.password)) == 200
        assert _status_with(second, (first.admin_auth()["username"], first.admin_auth()["password"])) == 401
    finally:
        second.stop()


def test_an_attached_registry_reads_with_the_given_login_but_issues_no_tokens(registry):
    repository = _repository()
    push_http_image(registry, repository, "v1", "attached")
    admin = registry.admin_auth()
    attached = Registry.attach(registry.address, admin["username"], admin["password"])
    assert attached.tags(repository) == ["v1"]
    with pytest.raises(RegistryNotManaged, match="Registry.start"):
        attached.issue_token(60)
    with pytest.raises(RegistryError, match="refused localcloud's credentials"):
        Registry.attach(registry.address).catalog()


# -- Docker runtime ------------------------------------------------------------------------------------------


@pytest.mark.docker
def test_the_seed_image_runs_on_its_own_loopback_address_and_serves_its_page(runtime, registry, engine):
    image = _image(registry, "hello from the seed image")
    handle = runtime.launch(f"eci-{uuid.uuid4().hex[:8]}", [ContainerSpec("web", image)])  # port from ExposedPorts

    assert handle.ip.startswith("127.0.") and handle.ip != "127.0.0.1"
    assert page(handle.ip) == "hello from the seed image"
    assert runtime.is_running(handle)
    container = engine.containers.get(handle.container_ids["web"])
    assert container.name == f"localcloud-{handle.group_id}-web"
    assert container.labels["localcloud"] == "1" and container.labels[GROUP_LABEL] == handle.group_id

    runtime.destroy(handle)
    runtime.destroy(handle)  # idempotent
    assert not runtime.is_running(handle)
    assert handle.ip not in SHARED.in_use()
    assert not engine.containers.list(all=True, filters={"label": f"{GROUP_LABEL}={handle.group_id}"})


@pytest.mark.docker
def test_a_groups_containers_share_one_address_with_their_commands_args_and_environment(runtime, registry, engine):
    image = _image(registry, "shared")
    sidecar = ContainerSpec(
        "sidecar",
        image,
        ports=(8080,),
        commands=("/bin/busybox",),
        args=("httpd", "-f", "-p", "8080", "-h", "/www"),
        environment=(("ROLE", "sidecar"),),
    )
    handle = runtime.launch(f"eci-{uuid.uuid4().hex[:8]}", [ContainerSpec("web", image, ports=(80,)), sidecar])

    assert page(handle.ip, 80) == page(handle.ip, 8080) == "shared"
    attrs = engine.containers.get(handle.container_ids["sidecar"]).attrs
    assert attrs["HostConfig"]["NetworkMode"] == f"container:{handle.container_ids['web']}"
    assert "ROLE=sidecar" in attrs["Config"]["Env"]
    assert attrs["Config"]["Entrypoint"] == ["/bin/busybox"]


@pytest.mark.docker
def test_a_pull_failure_fault_fails_the_launch_with_err_image_pull(runtime, registry, faults, engine):
    repository = _repository()
    image = _image(registry, "never pulled", repository)
    faults.add(FaultRule(kind="pull_failure", image=repository))
    group_id = f"eci-{uuid.uuid4().hex[:8]}"
    with pytest.raises(RuntimeFailure) as failed:
        runtime.launch(group_id, [ContainerSpec("web", image)])
    assert failed.value.reason == "ErrImagePull" and image in failed.value.message
    assert not engine.containers.list(all=True, filters={"label": f"{GROUP_LABEL}={group_id}"})


@pytest.mark.docker
def test_a_missing_tag_fails_the_real_pull_with_err_image_pull(runtime, registry):
    image = _image(registry, "exists")
    with pytest.raises(RuntimeFailure) as failed:
        runtime.launch(f"eci-{uuid.uuid4().hex[:8]}", [ContainerSpec("web", image.replace(":v1", ":missing"))])
    assert failed.value.reason == "ErrImagePull"
    assert "manifest unknown" in failed.value.message


@pytest.mark.docker
def test_a_crash_loop_fault_kills_the_container_and_fails_with_crash_loop_back_off(runtime, registry, faults, engine):
    repository = _repository()
    image = _image(registry, "crashes", repository)
    faults.add(FaultRule(kind="crash_loop", image=repository))
    group_id = f"eci-{uuid.uuid4().hex[:8]}"
    with pytest.raises(RuntimeFailure) as failed:
        runtime.launch(group_id, [ContainerSpec("web", image)])
    assert failed.value.reason == "CrashLoopBackOff"
    assert "web" in failed.value.message and "code 137" in failed.value.message
    assert not engine.containers.list(all=True, filters={"label": f"{GROUP_LABEL}={group_id}"})


@pytest.mark.docker
def test_replace_keeps_the_address_and_serves_the_new_image_named_by_digest(runtime, registry, engine):
    repository = _repository()
    before = runtime.launch(f"eci-{uuid.uuid4().hex[:8]}", [ContainerSpec("web", _image(registry, "v1", repository))])
    digest = push_http_image(registry, repository, "v2", "v2")
    after = runtime.replace(before, [ContainerSpec("web", f"{registry.address}/{repository}@{digest}")])

    assert after.ip == before.ip
    assert page(after.ip) == "v2"
    assert after.container_ids["web"] != before.container_ids["web"]
    assert not runtime.is_running(before) and runtime.is_running(after)


@pytest.mark.docker
def test_a_failed_replace_leaves_no_containers_but_keeps_the_address_until_destroy(runtime, registry, faults, engine):
    repository = _repository()
    before = runtime.launch(f"eci-{uuid.uuid4().hex[:8]}", [ContainerSpec("web", _image(registry, "v1", repository))])
    faults.add(FaultRule(kind="crash_loop", image=repository))
    with pytest.raises(RuntimeFailure, match="CrashLoopBackOff"):
        runtime.replace(before, [ContainerSpec("web", _image(registry, "v2", repository, tag="v2"))])
    assert not engine.containers.list(all=True, filters={"label": f"{GROUP_LABEL}={before.group_id}"})
    assert before.ip in SHARED.in_use()
    runtime.destroy(before)
    assert before.ip not in SHARED.in_use()


@pytest.mark.docker
def test_shutdown_removes_every_container_the_runtime_started(runtime, registry, engine):
    image = _image(registry, "many")
    handles = [runtime.launch(f"eci-{uuid.uuid4().hex[:8]}", [ContainerSpec("web", image)]) for _ in range(2)]
    assert all(page(h.ip) == "many" for h in handles)
    runtime.shutdown()
    ours = {"label": ["localcloud=1", f"{RUNTIME_LABEL}={runtime.runtime_id}"]}
    assert not engine.containers.list(all=True, filters=ours)
    assert not SHARED.in_use() & {h.ip for h in handles}


def _admin(registry: Registry) -> tuple[str, str]:
    auth = registry.admin_auth()
    return auth["username"], auth["password"]


def _raw_manifest(registry: Registry, repository: str, tag: str) -> dict:
    # Without this Accept header the registry would convert the manifest to the old schema 1.
    response = _http.get(
        f"http://{registry.address}/v2/{repository}/manifests/{tag}",
        auth=_admin(registry),
        headers={"Accept": DOCKER_MANIFEST},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


def _put_manifest(registry: Registry, repository: str, tag: str, body: bytes, media_type: str) -> str:
    response = _http.put(
        f"http://{registry.address}/v2/{repository}/manifests/{tag}",
        data=body,
        headers={"Content-Type": media_type},
        auth=_admin(registry),
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.headers["Docker-Content-Digest"]
