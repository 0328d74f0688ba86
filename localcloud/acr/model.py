"""ACR Enterprise Edition: instances, namespaces and repositories, with tags and logins from the real registry.

Every instance's registry domain is localcloud's one registry, so namespace names are unique across instances
(on Alibaba Cloud each instance has its own domain). A push to ``<namespace>/<repo>`` under a namespace with
AutoCreateRepo creates the repository, as ACR EE does; localcloud notices it at the next repository read.

The not-found and already-exists codes below are what Alibaba's own Terraform provider checks for (or, for tags
and duplicates, made in the same style); their HTTP statuses are not documented: [uncertain].
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Iterator

from localcloud.errors import ApiError, invalid_parameter
from localcloud.ids import epoch_ms, new_id
from localcloud.kernel import Kernel
from localcloud.registry.client import ManifestInfo, RegistryError
from localcloud.registry.service import Registry, RegistryNotManaged, TemporaryLogin

REPO_TYPES = ("PUBLIC", "PRIVATE")
# Lowercase letters and digits, with - _ . as separators (never first or last).
_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")  # the registry's tag grammar


@dataclass
class AcrInstance:
    instance_id: str
    name: str
    region_id: str
    status: str = "RUNNING"
    specification: str = "Enterprise_Basic"
    created_ms: int = field(default_factory=epoch_ms)
    modified_ms: int = field(default_factory=epoch_ms)


@dataclass
class AcrNamespace:
    namespace_id: str
    instance_id: str
    name: str
    auto_create_repo: bool = True
    default_repo_type: str = "PRIVATE"
    default_repo_configuration: dict[str, Any] | None = None
    status: str = "NORMAL"


@dataclass
class AcrRepository:
    repo_id: str
    instance_id: str
    namespace: str
    name: str
    repo_type: str = "PRIVATE"
    summary: str = ""
    detail: str = ""
    tag_immutability: bool = False
    build_type: str = "MANUAL"  # how it was created: MANUAL (CreateRepository) or AUTO (by a push)
    status: str = "NORMAL"
    created_ms: int = field(default_factory=epoch_ms)
    modified_ms: int = field(default_factory=epoch_ms)

    @property
    def path(self) -> str:
        """The repository's name in the registry."""
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class TagInfo:
    tag: str
    image: ManifestInfo


def not_found(code: str, message: str) -> ApiError:
    return ApiError(404, code, message)


@contextmanager
def registry_errors_as_api_errors() -> Iterator[None]:
    try:
        yield
    except (RegistryError, RegistryNotManaged) as exc:
        raise ApiError(500, "SystemError", f"localcloud's registry could not serve this: {exc}") from exc


class AcrModel:
    def __init__(self, kernel: Kernel, registry: Registry | None) -> None:
        self.kernel = kernel
        self._registry = registry
        self.instances: dict[str, AcrInstance] = {}
        self.namespaces: dict[str, AcrNamespace] = {}
        self.repositories: dict[str, AcrRepository] = {}

    # -- instances -------------------------------------------------------------------------------------------

    def seed(self, instance_name: str, namespaces: dict[str, list[str]]) -> AcrInstance:
        """Make sure an instance ``instance_name`` exists with these namespaces (AutoCreateRepo on) and repositories.
        Seeding again adds what is missing and changes nothing else."""
        instance = next((i for i in self.instances.values() if i.name == instance_name), None)
        if instance is None:
            instance = AcrInstance(new_id("cri", 16), instance_name, self.kernel.region_id)
            self.instances[instance.instance_id] = instance
        for namespace_name, repo_names in namespaces.items():
            if self._find_namespace(instance.instance_id, namespace_name) is None:
                self.create_namespace(instance.instance_id, namespace_name)
            for repo_name in repo_names:
                if self._find_repository(instance.instance_id, namespace_name, repo_name) is None:
                    self.create_repository(instance.instance_id, namespace_name, repo_name)
        self.kernel.changed()
        return instance

    def instance(self, instance_id: str) -> AcrInstance:
        found = self.instances.get(instance_id)
        if found is None:
            raise not_found("INSTANCE_NOT_EXIST", f"The instance {instance_id!r} does not exist. Call ListInstance.")
        return found

    def registry(self) -> Registry:
        if self._registry is None:
            raise ApiError(
                500,
                "SystemError",
                "localcloud runs without a registry, so ACR cannot serve images; "
                "start localcloud with a registry (--registry auto).",
            )
        return self._registry

    def issue_token(self, instance_id: str, hours: int) -> TemporaryLogin:
        self.instance(instance_id)
        with registry_errors_as_api_errors():
            return self.registry().issue_token(hours * 3600)

    # -- namespaces ------------------------------------------------------------------------------------------

    def namespaces_of(self, instance_id: str) -> list[AcrNamespace]:
        self.instance(instance_id)
        return sorted((n for n in self.namespaces.values() if n.instance_id == instance_id), key=lambda n: n.name)

    def namespace(self, instance_id: str, *, name: str | None = None, namespace_id: str | None = None) -> AcrNamespace:
        self.instance(instance_id)
        if name is None and namespace_id is None:
            raise invalid_parameter("NamespaceName", "Give NamespaceName or NamespaceId.")
        for namespace in self.namespaces.values():
            if (
                namespace.instance_id == instance_id
                and namespace_id in (None, namespace.namespace_id)
                and (name in (None, namespace.name))
            ):
                return namespace
        raise not_found(
            "NAMESPACE_NOT_EXIST", f"The namespace {name or namespace_id!r} does not exist in {instance_id}."
        )

    def create_namespace(
        self,
        instance_id: str,
        name: str,
        *,
        auto_create_repo: bool = True,
        default_repo_type: str = "PRIVATE",
        default_repo_configuration: dict[str, Any] | None = None,
    ) -> AcrNamespace:
        self.instance(instance_id)
        _check_name("NamespaceName", name, 2, 120)
        _check_repo_type("DefaultRepoType", default_repo_type)
        taken = next((n for n in self.namespaces.values() if n.name == name), None)
        if taken is not None:
            where = "this instance" if taken.instance_id == instance_id else f"instance {taken.instance_id}"
            raise ApiError(
                400,
                "NAMESPACE_ALREADY_EXIST",
                f"The namespace {name!r} already exists in {where} (localcloud's instances share one registry).",
            )
        namespace = AcrNamespace(
            new_id("crn", 16), instance_id, name, auto_create_repo, default_repo_type, default_repo_configuration
        )
        self.namespaces[namespace.namespace_id] = namespace
        return namespace

    def _find_namespace(self, instance_id: str, name: str) -> AcrNamespace | None:
        return next((n for n in self.namespaces.values() if n.instance_id == instance_id and n.name == name), None)

    # -- repositories ----------------------------------------------------------------------------------------

    def repositories_of(self, instance_id: str) -> list[AcrRepository]:
        self.instance(instance_id)
        self._adopt_pushed_repositories(instance_id)
        found = [r for r in self.repositories.values() if r.instance_id == instance_id]
        return sorted(found, key=lambda r: (r.namespace, r.name))

    def repository(
        self,
        instance_id: str,
        *,
        repo_id: str | None = None,
        namespace: str | None = None,
        name: str | None = None,
    ) -> AcrRepository:
        self.instance(instance_id)
        if repo_id is None and not (namespace and name):
            raise invalid_parameter("RepoId", "Give RepoId, or RepoNamespaceName and RepoName.")
        found = self._lookup_repository(instance_id, repo_id, namespace, name)
        if found is None:
            self._adopt_pushed_repositories(instance_id)
            found = self._lookup_repository(instance_id, repo_id, namespace, name)
        if found is None:
            which = repo_id or f"{namespace}/{name}"
            raise not_found("REPO_NOT_EXIST", f"The repository {which!r} does not exist in {instance_id}.")
        return found

    def _lookup_repository(
        self, instance_id: str, repo_id: str | None, namespace: str | None, name: str | None
    ) -> AcrRepository | None:
        if repo_id is not None:
            found = self.repositories.get(repo_id)
            return found if found is not None and found.instance_id == instance_id else None
        return self._find_repository(instance_id, namespace or "", name or "")

    def create_repository(
        self,
        instance_id: str,
        namespace: str,
        name: str,
        *,
        repo_type: str = "PRIVATE",
        summary: str = "",
        detail: str = "",
        tag_immutability: bool = False,
        build_type: str = "MANUAL",
    ) -> AcrRepository:
        self.namespace(instance_id, name=namespace)
        _check_name("RepoName", name, 1, 64)
        _check_repo_type("RepoType", repo_type)
        if self._find_repository(instance_id, namespace, name) is not None:
            raise ApiError(400, "REPO_ALREADY_EXIST", f"The repository {namespace}/{name} already exists.")
        repository = AcrRepository(
            new_id("crr", 16), instance_id, namespace, name, repo_type, summary, detail, tag_immutability, build_type
        )
        self.repositories[repository.repo_id] = repository
        return repository

    def _find_repository(self, instance_id: str, namespace: str, name: str) -> AcrRepository | None:
        return next(
            (
                r
                for r in self.repositories.values()
                if r.instance_id == instance_id and r.namespace == namespace and r.name == name
            ),
            None,
        )

    def _adopt_pushed_repositories(self, instance_id: str) -> None:
        """Create the repositories that pushes made under this instance's AutoCreateRepo namespaces."""
        auto = {n.name: n for n in self.namespaces.values() if n.instance_id == instance_id and n.auto_create_repo}
        if not auto:
            return
        with registry_errors_as_api_errors():
            pushed = self.registry().catalog()
        for path in pushed:
            namespace_name, _, repo_name = path.partition("/")
            namespace = auto.get(namespace_name)
            if namespace is None or "/" in repo_name or not repo_name:
                continue
            if self._find_repository(instance_id, namespace_name, repo_name) is None:
                self.create_repository(
                    instance_id, namespace_name, repo_name, repo_type=namespace.default_repo_type, build_type="AUTO"
                )
                self.kernel.changed()

    # -- tags ------------------------------------------------------------------------------------------------

    def tags_of(self, repository: AcrRepository) -> list[TagInfo]:
        """The repository's tags, newest image first."""
        registry = self.registry()
        found = []
        with registry_errors_as_api_errors():
            for tag in registry.tags(repository.path):
                image = registry.manifest(repository.path, tag)
                if image is not None:  # deleted between the two reads
                    found.append(TagInfo(tag, image))
        return sorted(found, key=lambda t: (t.image.created or 0, t.tag), reverse=True)

    def tag(self, repository: AcrRepository, tag: str) -> TagInfo:
        with registry_errors_as_api_errors():
            image = self.registry().manifest(repository.path, tag) if _TAG.match(tag) else None  # not a digest
        if image is None:
            raise not_found("TAG_NOT_EXIST", f"The tag {tag!r} does not exist in {repository.path}.")
        return TagInfo(tag, image)

    # -- persistence -----------------------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        return {
            "instances": [asdict(i) for i in self.instances.values()],
            "namespaces": [asdict(n) for n in self.namespaces.values()],
            "repositories": [asdict(r) for r in self.repositories.values()],
        }

    def from_state(self, state: dict[str, Any]) -> None:
        self.instances = {i["instance_id"]: AcrInstance(**i) for i in state.get("instances", [])}
        self.namespaces = {n["namespace_id"]: AcrNamespace(**n) for n in state.get("namespaces", [])}
        self.repositories = {r["repo_id"]: AcrRepository(**r) for r in state.get("repositories", [])}


def _check_name(parameter: str, name: str, shortest: int, longest: int) -> None:
    if not (shortest <= len(name) <= longest and _NAME.match(name)):
        raise invalid_parameter(
            parameter,
            f"Use {shortest} to {longest} lowercase letters, digits and the separators - _ . (not first or last).",
        )


def _check_repo_type(parameter: str, value: str) -> None:
    if value not in REPO_TYPES:
        raise invalid_parameter(parameter, "Valid values: PUBLIC, PRIVATE.")
