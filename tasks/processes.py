"""Scaling processes and Standby instances: what the OOS template leaves behind when it fails."""

from __future__ import annotations

from alibabacloud_ess20220222 import models as ess

from blocks.credentials import AlibabaCloudCredentials
from tasks.cloud_calls import call
from tasks.cloud_views import find_group, members
from tasks.models import ScalingGroupRef

TEMPLATE_PROCESSES = ["ScaleIn", "ScaleOut", "HealthCheck", "AlarmNotification", "ScheduledAction"]


def processes_to_resume(suspended_now: list[str], suspended_before: list[str]) -> list[str]:
    """The template's processes suspended now that were not suspended before the release: the ones it suspended.
    A process the user had suspended stays suspended."""
    return [p for p in suspended_now if p in TEMPLATE_PROCESSES and p not in suspended_before]


def resume_processes(credentials: AlibabaCloudCredentials, group: ScalingGroupRef) -> list[str]:
    """Resume what the release suspended: the template's processes that were not suspended before it began."""
    current = find_group(credentials, group.scaling_group_id).suspended_processes
    to_resume = processes_to_resume(current, group.suspended_processes)
    if to_resume:
        client = credentials.get_ess_client()
        call(
            lambda: client.resume_processes(
                ess.ResumeProcessesRequest(
                    region_id=group.region_id, scaling_group_id=group.scaling_group_id, processes=to_resume
                )
            ),
            what="ess ResumeProcesses",
        )
    return to_resume


def standby(credentials: AlibabaCloudCredentials, group: ScalingGroupRef) -> list[str]:
    return [m.instance_id for m in members(credentials, group, ("Standby",))]


def exit_standby(credentials: AlibabaCloudCredentials, group: ScalingGroupRef, *, leave: list[str]) -> list[str]:
    """Return to service the instances a failed or rolled-back update left in Standby: every Standby instance but
    those in ``leave`` (already in Standby before the release)."""
    stranded = [i for i in standby(credentials, group) if i not in leave]
    if stranded:
        client = credentials.get_ess_client()
        call(
            lambda: client.exit_standby(
                ess.ExitStandbyRequest(
                    region_id=group.region_id, scaling_group_id=group.scaling_group_id, instance_ids=stranded
                )
            ),
            what="ess ExitStandby",
        )
    return stranded
