"""The demo: release v1 then v2 of the sample app to the seeded group on a local cloud, and show it."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import requests

from deployments.local_cloud_process import LocalCloudProcess
from deployments.local_cloud_target import pipeline_environment
from deployments.sample_app import stage_sample_app
from flows.parameters import ImageSpec, RolloutSpec, SourceSpec, TargetSpec
from tasks.models import ReleaseResult

GROUP, CONTAINER, REPOSITORY = "ess-eci-test", "nginx", "ess_eci_test_namespace/ess_eci_test_repo"


def _served_version(ip: str) -> str:
    session = requests.Session()
    session.trust_env = False
    try:
        return session.get(f"http://{ip}/version.txt", timeout=5).text.strip()
    except requests.RequestException as error:
        return f"unreachable ({type(error).__name__})"


def _release(version: str, workdir: Path) -> ReleaseResult:
    from flows.release import ReleaseFailed, release

    context = stage_sample_app(version, workdir / version)
    try:
        return release(
            target=TargetSpec(scaling_group=GROUP, container=CONTAINER),
            image=ImageSpec(repository=REPOSITORY, tag=version),
            source=SourceSpec(context=str(context)),
            rollout=RolloutSpec(batch_number=2),
        )
    except ReleaseFailed as failed:
        return failed.result


def run_demo(*, as_json: bool, keep: bool) -> int:
    with tempfile.TemporaryDirectory(prefix="eci-release-demo-") as scratch:
        scratch_dir = Path(scratch)
        print("starting localcloud (Docker-backed instances)...", flush=True)
        cloud = LocalCloudProcess.start(scratch_dir / "cloud")
        try:
            os.environ.update(pipeline_environment(cloud.info))
            results = {}
            for version in ("v1", "v2"):
                started = time.monotonic()
                results[version] = _release(version, scratch_dir)
                _print_release(version, results[version], time.monotonic() - started, as_json)
            final = results["v2"]
            served = {i.instance_id: (i.ip, _served_version(i.ip)) for i in final.instances_after}
            verified = (
                final.status == "released"
                and final.verification is not None
                and final.verification.scaled_out
                and served
                and all(version == "v2" for _, version in served.values())
            )
            if as_json:
                print(
                    json.dumps(
                        {
                            "verified": bool(verified),
                            "served": served,
                            "releases": {v: r.model_dump(mode="json") for v, r in results.items()},
                        }
                    )
                )
            else:
                print("\ninstances after v2:")
                for instance_id, (ip, version) in served.items():
                    print(f"  {instance_id}  {ip:<12} serves {version}")
                print("\nverified: the group runs v2" if verified else "\nNOT verified: see the messages above")
            if keep:
                shown = {k: cloud.info[k] for k in ("endpoint", "registry", "control_url", "region_id")}
                print(f"localcloud keeps running: {json.dumps(shown)}\nCtrl-C stops it.", flush=True)
                cloud.process.wait()
            return 0 if verified else 1
        finally:
            cloud.stop()


def _print_release(version: str, result: ReleaseResult, seconds: float, as_json: bool) -> None:
    if as_json:
        return
    print(f"\n{version}: {result.status} in {seconds:.1f} s -- {result.message}")
    if result.image:
        print(f"  image   {result.image.pinned}")
    stages = ", ".join(f"{stage} {secs:.1f}s" for stage, secs in result.timings.items())
    print(f"  stages  {stages}")
    for stage, why in result.skipped.items():
        print(f"  skipped {stage}: {why}")
    if result.verification and result.verification.scaled_out:
        v = result.verification
        print(f"  probe   {v.probe_instance_id} on the new digest, {v.probe_health}; removed")
