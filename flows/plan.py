"""The release flow's plan mode: what a release with these parameters would do, read from the cloud and the
registry, with nothing changed, built or pushed: the image it resolves, the configuration change, the probe, the
batches OOS forms with the instances in each, the calls that change the cloud, and an ETA."""

from __future__ import annotations

from blocks.credentials import AlibabaCloudCredentials
from blocks.registry import AcrRegistry
from flows.inputs import for_target
from flows.parameters import ImageSpec, RolloutSpec, SourceSpec, TargetSpec
from tasks.cloud_views import group_instances
from tasks.models import ReleasePlan, ReleaseResult, ScalingGroupRef
from tasks.plan import eta, mutating_calls, oos_batches, rolls_out
from tasks.probe import has_room_for_a_probe
from tasks.processes import TEMPLATE_PROCESSES
from tasks.publish import resolve_existing_image
from tasks.registry_access import served_digest
from tasks.release_record import Pin, ReleaseRecord
from tasks.target import take_snapshot


def _image(image: ImageSpec, source: SourceSpec | None, registry: AcrRegistry, credentials) -> tuple[str, str]:
    """(the image a release would deploy, how it was found)."""
    if source is None or image.digest is not None:
        resolved = resolve_existing_image(registry, credentials, image.digest or image.tag)
        return resolved.pinned, f"in the registry as {image.digest or image.tag}"
    tagged = f"{registry.image_repository}:{image.tag}"
    now = served_digest(registry, credentials, image.tag)
    where = f"; the tag points at {now} now" if now else "; the registry has no such tag yet"
    return tagged, f"built from {source.context} and pushed as {tagged}: its digest is known once pushed{where}"


def plan_release(
    credentials: AlibabaCloudCredentials,
    registry: AcrRegistry,
    group: ScalingGroupRef,
    target: TargetSpec,
    image: ImageSpec,
    source: SourceSpec | None,
    rollout: RolloutSpec,
) -> ReleaseResult:
    deployed, image_note = _image(image, source, registry, credentials)
    credentials = for_target(credentials, target)  # the group's calls, in its region
    before = take_snapshot(credentials, group, target.container)
    instances = group_instances(credentials, group, target.container)
    writes = before.image != deployed
    batches = oos_batches(instances, rollout.batch_number, deployed)
    if not rolls_out(batches):
        batches = []
    changes_instances = bool(batches)
    probes = (writes or changes_instances) and has_room_for_a_probe(group)
    if probes:
        probe = f"one instance from the new configuration (capacity {group.total_capacity} -> +1), then removed"
    elif writes or changes_instances:
        probe = f"none: the group is at MaxSize {group.max_size}; the first batch's health gate is the first check"
    else:
        probe = "none: nothing to change"
    last = ReleaseRecord.load(group.scaling_group_id)
    seconds, basis = eta(last, builds=source is not None and image.digest is None, probes=probes, batches=len(batches))
    pin = Pin.load(group.scaling_group_id)
    plan = ReleasePlan(
        group=group.scaling_group_name,
        region_id=group.region_id,
        image=deployed,
        image_note=image_note,
        config_before=before.image,
        config_after=deployed,
        writes_configuration=writes,
        probe=probe,
        batches=batches,
        mutating_calls=mutating_calls(
            writes_configuration=writes,
            probes=probes,
            batches=batches,
            # As start_execution: the template suspends (and resumes) the processes not suspended already.
            suspends_processes=any(p not in group.suspended_processes for p in TEMPLATE_PROCESSES),
        ),
        eta_seconds=seconds,
        eta_basis=basis,
        pin=pin.image if pin else None,
    )
    return ReleaseResult(status="planned", message=describe(plan), plan=plan, config_before=before.image)


def describe(plan: ReleasePlan) -> str:
    """The plan as a person reads it in a terminal."""
    lines = [f"plan for {plan.group} ({plan.region_id}): nothing was changed"]
    lines.append(f"  image: {plan.image} ({plan.image_note})")
    if plan.writes_configuration:
        lines.append(f"  configuration: {plan.config_before} -> {plan.config_after}")
    else:
        lines.append(f"  configuration: unchanged ({plan.config_before})")
    lines.append(f"  probe: {plan.probe}")
    for number, batch in enumerate(plan.batches, start=1):
        lines.append(f"  OOS batch {number}: {', '.join(batch.instances)}")
    if not plan.batches:
        lines.append("  OOS: no rollout (every InService instance runs the image, or there is none)")
    calls = ", ".join(f"{action} x{count}" for action, count in plan.mutating_calls.items()) or "none"
    lines.append(f"  calls that change the cloud: {calls}")
    eta_text = f"about {plan.eta_seconds:.0f} s, {plan.eta_basis}" if plan.eta_seconds is not None else plan.eta_basis
    lines.append(f"  ETA: {eta_text}")
    if plan.pin:
        lines.append(f"  pinned to {plan.pin}: nightly and push runs leave the group alone")
    return "\n".join(lines)
