"""How long the simulated cloud takes for things, settable so tests run in seconds and benchmarks can
model a real cloud."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Latencies(BaseModel):
    """Seconds. Real ECI takes tens of seconds for most of these; the defaults keep tests fast."""

    instance_schedule: float = Field(0.3, ge=0, description="ECI scheduling before the image pull starts")
    image_pull: float = Field(0.2, ge=0, description="added to the real pull (simulated instances: the pull)")
    container_start: float = Field(0.2, ge=0, description="added to the real container start")
    stay_up: float = Field(0.5, ge=0, description="a started container must stay up this long to be Running")
    instance_release: float = Field(0.2, ge=0, description="Removing -> gone")
    activity_overhead: float = Field(0.1, ge=0, description="scaling activity bookkeeping before it starts")
    oos_wait_delay: float = Field(0.2, ge=0, description="the pause between OOS WaitFor retries (10 s in the cloud)")
    oos_task_overhead: float = Field(0.05, ge=0, description="OOS scheduling cost per task")
