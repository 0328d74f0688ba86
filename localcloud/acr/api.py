"""ACR Enterprise (cr 2018-12-01) actions on the wire. Field names and types follow the SDK models
(``reference/alibaba-api-fields.md``): several counts are strings, and ListRepoTag's times are strings where
GetRepoTag's are integers. Digests and image ids are bare hex, as ACR shows them (no ``sha256:``)."""

from __future__ import annotations

from typing import Any, Sequence, TypeVar

from localcloud.acr.model import AcrInstance, AcrModel, AcrNamespace, AcrRepository, TagInfo
from localcloud.errors import invalid_parameter
from localcloud.gateway.products import CR
from localcloud.gateway.request import ApiRequest
from localcloud.pagination import page_by_number, page_by_token

SUCCESS = {"Code": "success", "IsSuccess": True}
T = TypeVar("T")


def _page(items: Sequence[T], req: ApiRequest) -> tuple[list[T], dict[str, Any]]:
    """ACR pages by PageNo/PageSize, or by MaxResults/NextToken where the action has them (those win)."""
    if req.get("MaxResults") is not None or req.get("NextToken") is not None:
        page, next_token = page_by_token(items, req, default_limit=30, max_limit=100)
        return page, {"NextToken": next_token, "MaxResults": req.int("MaxResults", default=30)}
    page, number, size = page_by_number(items, req, number_name="PageNo", default_size=30, max_size=100)
    return page, {"PageNo": number, "PageSize": size}


def _bare(digest: str) -> str:
    return digest.removeprefix("sha256:")


# -- instances ---------------------------------------------------------------------------------------------


def render_instance(instance: AcrInstance) -> dict[str, Any]:
    return {
        "InstanceId": instance.instance_id,
        "InstanceName": instance.name,
        "InstanceStatus": instance.status,
        "InstanceSpecification": instance.specification,
        "RegionId": instance.region_id,
        "CreateTime": str(instance.created_ms),  # str in ListInstance's model [uncertain: ms or a date]
        "ModifiedTime": str(instance.modified_ms),
        "ResourceGroupId": "",
        "InstanceIssue": "",
        "Tags": [],
    }


@CR.action("ListInstance")
def list_instance(acr: AcrModel, req: ApiRequest) -> dict[str, Any]:
    name, status = req.str("InstanceName"), req.str("InstanceStatus")
    instances = [
        i
        for i in sorted(acr.instances.values(), key=lambda i: i.created_ms)
        if name in (None, i.name) and status in (None, i.status)
    ]
    page, paging = _page(instances, req)
    return {**SUCCESS, "Instances": [render_instance(i) for i in page], "TotalCount": len(instances), **paging}


@CR.action("ListInstanceEndpoint")
def list_instance_endpoint(acr: AcrModel, req: ApiRequest) -> dict[str, Any]:
    acr.instance(req.str("InstanceId", required=True))
    module = req.str("ModuleName", default="Registry")
    if module not in ("Registry", "Chart"):
        raise invalid_parameter("ModuleName", "Valid values: Registry, Chart.")
    if module == "Chart":  # localcloud serves no Helm charts
        return {**SUCCESS, "Endpoints": []}
    endpoint = {
        "EndpointType": "internet",
        "Enable": True,
        "Status": "RUNNING",
        "Domains": [{"Domain": acr.registry().address, "Type": "SYSTEM"}],
        "AclEnable": False,
    }
    if not req.bool("Summary"):
        endpoint.update(AclEntries=[], LinkedVpcs=[])
    return {**SUCCESS, "Endpoints": [endpoint]}


@CR.action("GetAuthorizationToken")
def get_authorization_token(acr: AcrModel, req: ApiRequest) -> dict[str, Any]:
    hours = req.int("ExpiresInHours", default=1)
    if not 1 <= hours <= 24:
        raise invalid_parameter("ExpiresInHours", "Valid values: 1 to 24.")
    login = acr.issue_token(req.str("InstanceId", required=True), hours)
    return {
        **SUCCESS,
        "TempUsername": login.username,
        "AuthorizationToken": login.password,
        "ExpireTime": int(login.expires_at * 1000),
    }


# -- namespaces --------------------------------------------------------------------------------------------


def render_namespace(namespace: AcrNamespace) -> dict[str, Any]:
    rendered = {
        "NamespaceId": namespace.namespace_id,
        "NamespaceName": namespace.name,
        "NamespaceStatus": namespace.status,
        "InstanceId": namespace.instance_id,
        "AutoCreateRepo": namespace.auto_create_repo,
        "DefaultRepoType": namespace.default_repo_type,
        "ResourceGroupId": "",
    }
    if namespace.default_repo_configuration is not None:
        rendered["DefaultRepoConfiguration"] = namespace.default_repo_configuration
    return rendered


@CR.action("ListNamespace")
def list_namespace(acr: AcrModel, req: ApiRequest) -> dict[str, Any]:
    name, status = req.str("NamespaceName"), req.str("NamespaceStatus")
    namespaces = [
        n
        for n in acr.namespaces_of(req.str("InstanceId", required=True))
        if name in (None, n.name) and status in (None, n.status)
    ]
    page, paging = _page(namespaces, req)
    return {**SUCCESS, "Namespaces": [render_namespace(n) for n in page], "TotalCount": str(len(namespaces)), **paging}


@CR.action("GetNamespace")
def get_namespace(acr: AcrModel, req: ApiRequest) -> dict[str, Any]:
    namespace = acr.namespace(
        req.str("InstanceId", required=True), name=req.str("NamespaceName"), namespace_id=req.str("NamespaceId")
    )
    return {**SUCCESS, **render_namespace(namespace)}


@CR.action("CreateNamespace", mutating=True)
def create_namespace(acr: AcrModel, req: ApiRequest) -> dict[str, Any]:
    configuration = req.json("DefaultRepoConfiguration")
    if configuration is not None and not isinstance(configuration, dict):
        raise invalid_parameter("DefaultRepoConfiguration", 'It must be a JSON object, e.g. {"RepoType": "PRIVATE"}.')
    acr.create_namespace(
        req.str("InstanceId", required=True),
        req.str("NamespaceName", required=True),
        auto_create_repo=req.bool("AutoCreateRepo", default=True),  # [uncertain] the service's default
        default_repo_type=req.str("DefaultRepoType", default="PRIVATE"),
        default_repo_configuration=configuration,
    )
    return dict(SUCCESS)


# -- repositories ------------------------------------------------------------------------------------------


def render_repository(repository: AcrRepository) -> dict[str, Any]:
    return {
        "RepoId": repository.repo_id,
        "RepoName": repository.name,
        "RepoNamespaceName": repository.namespace,
        "RepoType": repository.repo_type,
        "RepoStatus": repository.status,
        "RepoBuildType": repository.build_type,
        "Summary": repository.summary,
        "TagImmutability": repository.tag_immutability,
        "InstanceId": repository.instance_id,
        "CreateTime": repository.created_ms,
        "ModifiedTime": repository.modified_ms,
        "ResourceGroupId": "",
    }


@CR.action("ListRepository")
def list_repository(acr: AcrModel, req: ApiRequest) -> dict[str, Any]:
    name, namespace = req.str("RepoName"), req.str("RepoNamespaceName")
    status = req.str("RepoStatus", default="NORMAL")
    repositories = [
        r
        for r in acr.repositories_of(req.str("InstanceId", required=True))
        if name in (None, r.name) and namespace in (None, r.namespace) and status in ("ALL", r.status)
    ]
    page, paging = _page(repositories, req)
    return {
        **SUCCESS,
        "Repositories": [render_repository(r) for r in page],
        "TotalCount": str(len(repositories)),
        **paging,
    }


def _repository(acr: AcrModel, req: ApiRequest) -> AcrRepository:
    return acr.repository(
        req.str("InstanceId", required=True),
        repo_id=req.str("RepoId"),
        namespace=req.str("RepoNamespaceName"),
        name=req.str("RepoName"),
    )


@CR.action("GetRepository")
def get_repository(acr: AcrModel, req: ApiRequest) -> dict[str, Any]:
    repository = _repository(acr, req)
    return {**SUCCESS, **render_repository(repository), "Detail": repository.detail}


@CR.action("CreateRepository", mutating=True)
def create_repository(acr: AcrModel, req: ApiRequest) -> dict[str, Any]:
    repository = acr.create_repository(
        req.str("InstanceId", required=True),
        req.str("RepoNamespaceName", required=True),
        req.str("RepoName", required=True),
        repo_type=req.str("RepoType", required=True),
        summary=req.str("Summary", required=True),
        detail=req.str("Detail", default=""),
        tag_immutability=req.bool("TagImmutability"),
    )
    return {**SUCCESS, "RepoId": repository.repo_id}


# -- tags --------------------------------------------------------------------------------------------------


def render_tag(tag: TagInfo) -> dict[str, Any]:
    """Times as epoch ms ints; ListRepoTag turns them into strings."""
    created_ms = int((tag.image.created or 0) * 1000)
    return {
        "Tag": tag.tag,
        "Digest": _bare(tag.image.digest),
        "ImageId": _bare(tag.image.config_digest),
        "ImageSize": tag.image.size,
        "ImageCreate": created_ms,
        "ImageUpdate": created_ms,  # the registry keeps no push time; the image's own time stands in
        "Status": "NORMAL",
    }


@CR.action("ListRepoTag")
def list_repo_tag(acr: AcrModel, req: ApiRequest) -> dict[str, Any]:
    repository = acr.repository(req.str("InstanceId", required=True), repo_id=req.str("RepoId", required=True))
    tags = acr.tags_of(repository)
    page, paging = _page(tags, req)
    images = [
        {**rendered, "ImageCreate": str(rendered["ImageCreate"]), "ImageUpdate": str(rendered["ImageUpdate"])}
        for rendered in map(render_tag, page)
    ]
    return {**SUCCESS, "Images": images, "TotalCount": str(len(tags)), **paging}


@CR.action("GetRepoTag")
def get_repo_tag(acr: AcrModel, req: ApiRequest) -> dict[str, Any]:
    repository = acr.repository(req.str("InstanceId", required=True), repo_id=req.str("RepoId", required=True))
    return {**SUCCESS, **render_tag(acr.tag(repository, req.str("Tag", required=True)))}
