"""The small typed values passed between stages. Never raw SDK objects, never secrets."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

DIGEST_PATTERN = r"^sha256:[0-9a-f]{64}$"


class HealthCheck(BaseModel):
    """How an instance shows it serves: an HTTP GET of ``path`` that answers 2xx or 3xx within ``timeout_seconds``."""

    path: str = Field("/", pattern=r"^/", max_length=1000)
    port: int | None = Field(None, ge=1, le=65535, description="None: the container's first port")
    timeout_seconds: float = Field(60, gt=0)


class ImageRef(BaseModel):
    """An image in a registry; ``pinned`` is the form written to the cloud: ``registry/repo@sha256:...``."""

    registry: str
    repository: str = Field(description="namespace/name")
    tag: str | None = None
    digest: str | None = Field(None, pattern=DIGEST_PATTERN)

    @classmethod
    def parse_pinned(cls, pinned: str) -> "ImageRef":
        """``registry/namespace/name@sha256:...``, as a scaling configuration holds it."""
        name, at, digest = pinned.partition("@")
        registry, _, repository = name.partition("/")
        if not at or not repository:
            raise ValueError(f"{pinned!r} is not an image pinned by digest (registry/namespace/name@sha256:...)")
        return cls(registry=registry, repository=repository, digest=digest)

    @property
    def pinned(self) -> str:
        if not self.digest:
            raise ValueError(f"{self.tagged} has no digest yet")
        return f"{self.registry}/{self.repository}@{self.digest}"

    @property
    def tagged(self) -> str:
        return f"{self.registry}/{self.repository}:{self.tag}" if self.tag else f"{self.registry}/{self.repository}"

    def __str__(self) -> str:
        return self.pinned if self.digest else self.tagged


class BuiltImage(BaseModel):
    image_id: str
    cache_key: str
    built: bool = Field(description="False when an image with the same cache key already existed")


class PublishedImage(BaseModel):
    image: ImageRef
    pushed: bool = Field(description="False when the registry already had this digest under the tag")


class ScalingGroupRef(BaseModel):
    scaling_group_id: str
    scaling_group_name: str
    region_id: str
    active_scaling_configuration_id: str
    min_size: int
    max_size: int
    total_capacity: int
    suspended_processes: list[str] = []


class ConfigSnapshot(BaseModel):
    """The active scaling configuration's containers, exactly as read, for comparison and rollback."""

    group: ScalingGroupRef
    scaling_configuration_id: str
    container_name: str
    containers: list[dict] = Field(description="every container as DescribeEciScalingConfigurations gave it")

    @property
    def container(self) -> dict:
        return next(c for c in self.containers if c["Name"] == self.container_name)

    @property
    def image(self) -> str:
        return self.container["Image"]


class ConfigChange(BaseModel):
    image_after: str
    written: bool = Field(description="False when the configuration already held the image")


class InstanceState(BaseModel):
    instance_id: str
    lifecycle_state: str
    status: str = Field(description="ECI container group status")
    ip: str
    image: str | None = Field(description="the image of the released container")


class RolloutResult(BaseModel):
    execution_id: str | None = None
    status: Literal["Success", "Skipped"]
    skipped_reason: str | None = None
    batches: int = 0
    updated_instances: list[str] = []
    message: str = ""


class Verification(BaseModel):
    swept: list[InstanceState] = []
    probe_instance_id: str | None = None
    probe_image: str | None = None
    probe_health: str | None = Field(None, description="e.g. 'HTTP 200 from http://127.0.0.2:80/'")
    scaled_out: bool = False
    health_checked: list[str] = Field(default_factory=list, description="updated instances that answered their check")
    note: str = ""


class RollbackResult(BaseModel):
    complete: bool = Field(description="False when a rollback step failed; the message says which")
    execution_id: str | None = None
    execution_status: str | None = None
    processes_resumed: list[str] = []
    message: str = ""


class Recovery(BaseModel):
    """What an earlier release left unfinished, and what was done about it."""

    found: str
    done: str
    complete: bool
    image: str | None = Field(None, description="the image the group was brought back to")


class PlannedBatch(BaseModel):
    instances: list[str] = Field(description="the InService instances OOS updates in this batch, in order")
    already_on_image: list[str] = Field(default_factory=list, description="of them, those that run the image now")


class ReleasePlan(BaseModel):
    """What a release would do, read from the cloud without changing it."""

    group: str
    region_id: str
    image: str = Field(description="repo@sha256:... when it is in the registry; the tag when a build makes it")
    image_note: str = Field("", description="how the image was resolved, or what a build would do")
    config_before: str
    config_after: str
    writes_configuration: bool
    probe: str = Field(description="the probe instance a release starts, or why none")
    batches: list[PlannedBatch] = []
    mutating_calls: dict[str, int] = Field(
        default_factory=dict, description="product:action -> count, the pipeline's and OOS's on its behalf"
    )
    eta_seconds: float | None = None
    eta_basis: str = ""
    pin: str | None = Field(None, description="the image the group is pinned to: nightly and push runs skip it")


class Span(BaseModel):
    """A stretch of a release on its time axis: a stage the pipeline ran, or the cloud's own work in it."""

    name: str
    start: float = Field(description="seconds from the start of the release")
    seconds: float
    kind: Literal["pipeline", "cloud"]


class ReleaseResult(BaseModel):
    status: Literal["released", "unchanged", "rolled_back", "failed", "pinned", "recovered", "planned"]
    message: str
    recovery: Recovery | None = None
    pin: str | None = Field(None, description="the image the group is pinned to, when it is")
    image: ImageRef | None = None
    config_before: str | None = None
    config_after: str | None = None
    execution_id: str | None = None
    instances_before: list[InstanceState] = []
    instances_after: list[InstanceState] = []
    verification: Verification | None = None
    rollback: RollbackResult | None = None
    timings: dict[str, float] = Field(default_factory=dict, description="seconds per stage")
    skipped: dict[str, str] = Field(default_factory=dict, description="stage -> why it was skipped")
    timeline: list[Span] = Field(default_factory=list, description="the stages and the cloud's work, in time")
    plan: ReleasePlan | None = Field(None, description="what a release would do (the plan mode)")
