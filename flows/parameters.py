"""The release flow's parameters. Pydantic models, so the Prefect UI shows them as a clear form.
Secrets never go here: credentials and registry logins come from blocks (picked in the form, passed as
references) or the environment."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from tasks.models import DIGEST_PATTERN, HealthCheck

REGION_PATTERN = r"^[a-z]{2,}(-[a-z0-9]+)+$"
REPOSITORY_PATTERN = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*/[a-z0-9]+(?:[._-][a-z0-9]+)*$")
TAG_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


class SourceSpec(BaseModel):
    context: str = Field(description="build context: a directory, or a git URL")
    ref: str | None = Field(None, description="git branch, tag or commit (git URLs only)")
    dockerfile: str = Field("Dockerfile", description="Dockerfile path inside the context")
    build_args: dict[str, str] = Field(default_factory=dict, description="docker build args")
    target: str | None = Field(None, description="build stage to stop at")
    platform: str | None = Field(None, description="e.g. linux/amd64")


class ImageSpec(BaseModel):
    repository: str | None = Field(None, description="namespace/name; overrides the registry block's repository")
    tag: str | None = Field(None, description="the tag to push (with a source) or to deploy (without one)")
    digest: str | None = Field(
        None, pattern=DIGEST_PATTERN, description="deploy this digest as it is (no build, no push)"
    )

    @model_validator(mode="after")
    def _names_an_image(self) -> "ImageSpec":
        if not self.tag and not self.digest:
            raise ValueError("give the image a tag (to build and push, or to deploy) or a digest (to deploy)")
        if self.repository is not None and not REPOSITORY_PATTERN.fullmatch(self.repository):
            raise ValueError(
                f"repository {self.repository!r} must be namespace/name in lower case letters, digits "
                "and . _ - separators, e.g. my_team/web-app"
            )
        if self.tag is not None and not TAG_PATTERN.fullmatch(self.tag):
            raise ValueError(
                f"tag {self.tag!r} must be 1-128 letters, digits, '_', '.' or '-', not starting with '.' or '-'"
            )
        return self


class TargetSpec(BaseModel):
    scaling_group: str = Field(min_length=1, description="scaling group id (asg-...) or name")
    container: str = Field(min_length=1, description="the container in the scaling configuration that gets the image")
    region_id: str | None = Field(
        None, pattern=REGION_PATTERN, description="the group's region, e.g. cn-beijing; empty: the credentials' region"
    )


class RolloutSpec(BaseModel):
    batch_number: int = Field(2, ge=1, le=100, description="how many batches OOS updates the instances in")
    batch_pause: Literal["Automatic", "FirstBatchPause", "EveryBatchPause"] = Field(
        "Automatic", description="pause for approval after the first or every batch"
    )
    health_path: str = Field("/", pattern=r"^/", max_length=1000, description="HTTP path the new instance must answer")
    health_port: int | None = Field(None, ge=1, le=65535, description="default: the container's first port")
    timeout_seconds: float = Field(1800, gt=0, description="limit for the OOS rollout, and for its rollback")
    scale_out_timeout_seconds: float = Field(
        300, gt=0, description="limit for a scaling activity: the probe's scale-out, its removal"
    )
    health_timeout_seconds: float = Field(
        60, gt=0, description="how long a new instance has to answer its health check"
    )

    @property
    def health_check(self) -> HealthCheck:
        return HealthCheck(path=self.health_path, port=self.health_port, timeout_seconds=self.health_timeout_seconds)
