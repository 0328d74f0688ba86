"""ECI 2018-08-08 actions on the wire: DescribeContainerGroups, UpdateContainerGroup,
DescribeContainerGroupEvents. Each parses its request, makes one call to the ECI model and renders what it
returns."""

from __future__ import annotations

from typing import Any

from localcloud.containers import normalize_containers
from localcloud.eci.model import EciModel
from localcloud.eci.records import ContainerGroup
from localcloud.errors import invalid_parameter, missing_parameter
from localcloud.gateway.products import ECI
from localcloud.gateway.request import ApiRequest
from localcloud.ids import iso_utc
from localcloud.pagination import page_by_token

MAX_IDS = 20


def _region(req: ApiRequest) -> str:
    region = req.region_id
    if not region:
        raise missing_parameter("RegionId")
    return region


def _requested_ids(req: ApiRequest) -> list[str] | None:
    ids = req.json("ContainerGroupIds")
    if ids is None:
        return None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise invalid_parameter("ContainerGroupIds", 'It must be a JSON array of ids, e.g. ["eci-1"].')
    if len(ids) > MAX_IDS:
        raise invalid_parameter("ContainerGroupIds", f"At most {MAX_IDS} ids are allowed.")
    return ids


def render_group(group: ContainerGroup, with_events: bool = True) -> dict[str, Any]:
    return {
        "ContainerGroupId": group.id,
        "ContainerGroupName": group.name,
        "RegionId": group.region_id,
        "ZoneId": group.zone_id,
        "Status": group.status,
        "IntranetIp": group.intranet_ip,
        "Cpu": group.cpu,
        "Memory": group.memory,
        "RestartPolicy": group.restart_policy,
        "CreationTime": iso_utc(group.created_at),
        "FailedTime": iso_utc(group.failed_at) if group.failed_at else "",
        "Containers": [
            {
                "Name": c["Name"],
                "Image": c["Image"],
                "Cpu": c.get("Cpu", 0.0),
                "Memory": c.get("Memory", 0.0),
                "Ports": c.get("Ports", []),
                "EnvironmentVars": c.get("EnvironmentVars", []),
                "Commands": c.get("Commands", []),
                "Args": c.get("Args", []),
                "ImagePullPolicy": c.get("ImagePullPolicy", "IfNotPresent"),
                "Ready": c.get("Ready", False),
                "RestartCount": c.get("RestartCount", 0),
                "CurrentState": c.get("CurrentState", {}),
            }
            for c in group.containers
        ],
        "Events": list(group.events) if with_events else [],
    }


@ECI.action("DescribeContainerGroups")
def describe_container_groups(eci: EciModel, req: ApiRequest) -> dict[str, Any]:
    groups = eci.describe(
        _region(req), ids=_requested_ids(req), status=req.str("Status"), name=req.str("ContainerGroupName")
    )
    page, next_token = page_by_token(groups, req, limit_name="Limit", default_limit=20, max_limit=20)
    with_events = req.bool("WithEvent", default=True)
    rendered = [{**render_group(shown.group, with_events), "Status": shown.status} for shown in page]
    return {
        "ContainerGroups": rendered,
        "TotalCount": len(groups),
        "NextToken": next_token,
    }


@ECI.action("UpdateContainerGroup", mutating=True)
def update_container_group(eci: EciModel, req: ApiRequest) -> dict[str, Any]:
    region = _region(req)
    group_id = req.str("ContainerGroupId", required=True)
    changes = normalize_containers(req.get("Container"), "Container")
    update_type = req.str("UpdateType", default="RenewUpdate")
    if not changes:
        raise missing_parameter("Container.1.Name")
    eci.update(group_id, region, changes, update_type)
    return {}


@ECI.action("DescribeContainerGroupEvents")
def describe_container_group_events(eci: EciModel, req: ApiRequest) -> dict[str, Any]:
    groups = eci.describe_events(_region(req), ids=_requested_ids(req))
    data = [
        {
            "ContainerGroupId": g.id,
            "Events": [
                {
                    **e,
                    "Metadata": {"Name": g.name, "Namespace": "default"},
                    "involvedObject": {"Kind": "Pod", "Name": g.name, "Uid": g.id},
                }
                for e in g.events
            ],
        }
        for g in groups
    ]
    return {"Data": data, "TotalCount": sum(len(d["Events"]) for d in data), "NextToken": ""}
