"""``eci-release``: the release flow from a shell, and the demo on the embedded local cloud.

Credentials and region come from ALIBABA_CLOUD_ACCESS_KEY_ID / _ACCESS_KEY_SECRET / _SECURITY_TOKEN /
_REGION_ID or from blocks; endpoints from ECI_RELEASE_ENDPOINT (or the flags), so the same command points at
localcloud or at the cloud.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Optional

import typer

from deployments.server_guard import guard_temporary_server

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Release container images to Alibaba Cloud Auto Scaling ECI groups.",
)


# Read by main() from the command line (before any command runs), so every command that runs a flow honours it.
DEBUG_HELP = "show tracebacks on the terminal (they are always in the run's logs in Prefect)"
TIMEOUT_HELP = "seconds the OOS rollout (and a rollback) may take"
SCALE_OUT_TIMEOUT_HELP = "seconds a scaling activity (the probe's scale-out, its removal) may take"
HEALTH_TIMEOUT_HELP = "seconds a new or updated instance has to answer its health check"
GROUP_HELP = (
    "scaling group id (asg-...) or name, REGION/GROUP for one outside the credentials' region; repeatable: several "
    "groups are released at once by the fan-out flow, each as a run of the release deployment"
)
CANARY_HELP = "a group released alone first (by the fan-out flow); the --group ones start only when it succeeded"


def _one_line(error) -> str:
    """A pydantic ValidationError as one line: each problem, where it is, what is wrong."""
    problems = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"])
        what = problem["msg"].removeprefix("Value error, ")
        problems.append(f"{where}: {what}" if where else what)
    return "; ".join(problems)


def _key_values(pairs: list[str]) -> dict[str, str]:
    result = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{pair!r} must be KEY=VALUE")
        result[key] = value
    return result


@app.command()
def release(
    command: typer.Context,
    group: list[str] = typer.Option(..., "--group", help=GROUP_HELP),
    canary: Optional[str] = typer.Option(None, "--canary", help=CANARY_HELP),
    container: str = typer.Option(..., "--container", help="container in the scaling configuration"),
    context: Optional[str] = typer.Option(None, "--context", help="build context: directory or git URL"),
    ref: Optional[str] = typer.Option(None, "--ref", help="git ref to build (git URLs)"),
    dockerfile: str = typer.Option("Dockerfile", "--dockerfile"),
    build_arg: list[str] = typer.Option([], "--build-arg", help="KEY=VALUE, repeatable"),
    build_target: Optional[str] = typer.Option(None, "--build-target", help="build stage to stop at"),
    repository: Optional[str] = typer.Option(None, "--repository", help="namespace/name in ACR"),
    tag: Optional[str] = typer.Option(None, "--tag", help="tag to push, or existing tag to deploy"),
    digest: Optional[str] = typer.Option(None, "--digest", help="existing sha256:... digest to deploy"),
    registry_block: Optional[str] = typer.Option(None, "--registry-block", help="ACR Registry block name"),
    credentials_block: Optional[str] = typer.Option(None, "--credentials-block", help="credentials block name"),
    batch_number: int = typer.Option(2, "--batch-number", min=1, max=100),
    batch_pause: str = typer.Option("Automatic", "--batch-pause", help="Automatic, FirstBatchPause or EveryBatchPause"),
    health_path: str = typer.Option("/", "--health-path"),
    health_port: Optional[int] = typer.Option(None, "--health-port"),
    timeout: float = typer.Option(1800, "--timeout", min=1, help=TIMEOUT_HELP),
    scale_out_timeout: float = typer.Option(300, "--scale-out-timeout", min=1, help=SCALE_OUT_TIMEOUT_HELP),
    health_timeout: float = typer.Option(60, "--health-timeout", min=1, help=HEALTH_TIMEOUT_HELP),
    endpoint: Optional[str] = typer.Option(None, "--endpoint", help="one API endpoint for every product"),
    registry_host: Optional[str] = typer.Option(None, "--registry-host", help="registry host[:port]"),
    as_json: bool = typer.Option(False, "--json", help="print the result (a FanOutResult for several groups) last"),
    debug: bool = typer.Option(False, "--debug", help=DEBUG_HELP),
) -> None:
    """Release an image: build and push it from --context, or deploy an existing --tag/--digest. Several groups (or
    a canary) are released by the fan-out flow; `plan` plans each of them in turn."""
    from pydantic import ValidationError

    from flows.fan_out_outcome import FanOutGroup, check_groups
    from flows.inputs import credentials_or_environment
    from flows.parameters import ImageSpec, RolloutSpec, SourceSpec, TargetSpec

    build_only = [
        name
        for name, given in (
            ("--ref", ref is not None),
            ("--dockerfile", dockerfile != "Dockerfile"),
            ("--build-arg", bool(build_arg)),
            ("--build-target", build_target is not None),
        )
        if given
    ]
    if build_only and not context:  # they would be silently ignored: refuse them before anything runs
        _invalid(f"{', '.join(build_only)} only apply to a build: give --context too", as_json)
    _endpoints(endpoint, registry_host)
    try:
        groups = [FanOutGroup.parse(name) for name in group]
        first = FanOutGroup.parse(canary) if canary else None
        parameters = dict(
            image=ImageSpec(repository=repository, tag=tag, digest=digest),
            source=SourceSpec(
                context=context, ref=ref, dockerfile=dockerfile, build_args=_key_values(build_arg), target=build_target
            )
            if context
            else None,
            rollout=RolloutSpec(
                batch_number=batch_number,
                batch_pause=batch_pause,
                health_path=health_path,
                health_port=health_port,
                timeout_seconds=timeout,
                scale_out_timeout_seconds=scale_out_timeout,
                health_timeout_seconds=health_timeout,
            ),
        )
        targets = [
            TargetSpec(scaling_group=g.scaling_group, container=container, region_id=g.region_id)
            for g in [first, *groups]
            if g
        ]
    except ValidationError as error:
        _invalid(_one_line(error), as_json)
    blocks = _blocks(credentials_block, registry_block)
    try:
        check_groups(groups, first, credentials_or_environment(blocks["credentials"]).region_id)
    except ValueError as error:
        _invalid(str(error), as_json)
    plan = command.info_name == "plan"
    if len(targets) > 1 and not plan:
        from flows.fan_out import fan_out

        raise typer.Exit(
            _run(fan_out, as_json, groups=groups, canary=first, container=container, **parameters, **blocks)
        )
    from flows.release import release as release_flow

    codes = [
        _run(
            release_flow,
            as_json,
            target=target,
            **parameters,
            **blocks,
            trigger="manual",
            mode="plan" if plan else "release",
        )
        for target in targets
    ]
    raise typer.Exit(max(codes))


def _invalid(message: str, as_json: bool) -> None:
    typer.echo(f"eci-release: invalid arguments: {message}", err=True)
    if as_json:
        typer.echo(json.dumps({"status": "failed", "message": f"invalid arguments: {message}"}))
    raise typer.Exit(2)


# The same command and flags as release, in the flow's plan mode.
app.command(
    "plan",
    help="Show what `release` would do with the same flags: the image digest, the configuration change, the probe, "
    "the OOS batches with their instances, the calls that change the cloud and an ETA; for several groups, each in "
    "turn (with --json, one line each). Nothing is changed, built or pushed.",
)(release)


@app.command()
def rollback(
    group: str = typer.Option(..., "--group", help="scaling group id (asg-...) or name"),
    registry_block: Optional[str] = typer.Option(None, "--registry-block", help="ACR Registry block name"),
    credentials_block: Optional[str] = typer.Option(None, "--credentials-block", help="credentials block name"),
    batch_number: int = typer.Option(2, "--batch-number", min=1, max=100),
    endpoint: Optional[str] = typer.Option(None, "--endpoint", help="one API endpoint for every product"),
    registry_host: Optional[str] = typer.Option(None, "--registry-host", help="registry host[:port]"),
    as_json: bool = typer.Option(False, "--json", help="print the ReleaseResult as the last stdout line"),
    debug: bool = typer.Option(False, "--debug", help=DEBUG_HELP),
) -> None:
    """Put the group back on the image it ran before its last release, verified, and pin it there."""
    from flows.parameters import RolloutSpec
    from flows.rollback import rollback as rollback_flow

    _endpoints(endpoint, registry_host)
    blocks = _blocks(credentials_block, registry_block)
    raise typer.Exit(
        _run(rollback_flow, as_json, scaling_group=group, rollout=RolloutSpec(batch_number=batch_number), **blocks)
    )


@app.command()
def recover(
    group: str = typer.Option(..., "--group", help="scaling group id (asg-...) or name"),
    credentials_block: Optional[str] = typer.Option(None, "--credentials-block", help="credentials block name"),
    batch_number: int = typer.Option(2, "--batch-number", min=1, max=100),
    timeout: float = typer.Option(1800, "--timeout", min=1, help=TIMEOUT_HELP),
    scale_out_timeout: float = typer.Option(300, "--scale-out-timeout", min=1, help=SCALE_OUT_TIMEOUT_HELP),
    endpoint: Optional[str] = typer.Option(None, "--endpoint", help="one API endpoint for every product"),
    as_json: bool = typer.Option(False, "--json", help="print the ReleaseResult as the last stdout line"),
    debug: bool = typer.Option(False, "--debug", help=DEBUG_HELP),
) -> None:
    """Finish what a release that died left unfinished: roll the group back to the image it had, verified. Every
    release does this first on its own; this command does it now."""
    from flows.parameters import RolloutSpec
    from flows.recovery import recover as recover_flow

    _endpoints(endpoint, None)
    rollout = RolloutSpec(
        batch_number=batch_number, timeout_seconds=timeout, scale_out_timeout_seconds=scale_out_timeout
    )
    raise typer.Exit(
        _run(
            recover_flow,
            as_json,
            scaling_group=group,
            rollout=rollout,
            credentials=_blocks(credentials_block, None)["credentials"],
        )
    )


@app.command()
def unpin(
    group: str = typer.Option(..., "--group", help="scaling group id (asg-...) or name"),
    credentials_block: Optional[str] = typer.Option(None, "--credentials-block", help="credentials block name"),
    endpoint: Optional[str] = typer.Option(None, "--endpoint", help="one API endpoint for every product"),
) -> None:
    """Let nightly and push runs release to a group that a rollback pinned."""
    from flows.inputs import credentials_or_environment
    from tasks.cloud_views import find_group
    from tasks.release_record import Pin

    _endpoints(endpoint, None)
    try:
        credentials = credentials_or_environment(_blocks(credentials_block, None)["credentials"])
        found = find_group(credentials, group)
        guard_temporary_server()
    except Exception as error:
        typer.echo(f"eci-release: {error}", err=True)
        raise typer.Exit(1)
    lifted = Pin.lift(found.scaling_group_id)
    typer.echo(f"{found.scaling_group_name}: {'pin lifted' if lifted else 'was not pinned'}")


def _endpoints(endpoint: str | None, registry_host: str | None) -> None:
    if endpoint:
        os.environ["ECI_RELEASE_ENDPOINT"] = endpoint
    if registry_host:
        os.environ["ECI_RELEASE_REGISTRY_HOST"] = registry_host


def _blocks(credentials_block: str | None, registry_block: str | None) -> dict:
    """The named blocks, loaded; a name that is not a saved block ends the command with one line."""
    from blocks.credentials import AlibabaCloudCredentials
    from blocks.registry import AcrRegistry

    try:
        if credentials_block or registry_block:  # loaded from Prefect: its temporary server starts here, guarded
            guard_temporary_server()
        return {
            "credentials": AlibabaCloudCredentials.load(credentials_block) if credentials_block else None,
            "registry": AcrRegistry.load(registry_block) if registry_block else None,
        }
    except (ValueError, RuntimeError) as error:  # RuntimeError: the temporary server did not start
        typer.echo(f"eci-release: {error}", err=True)
        raise typer.Exit(1)


class _Stopped(BaseException):
    """SIGTERM, handed back by Prefect once the flow has rolled back what it changed."""


def _stopped(signum, frame) -> None:
    raise _Stopped()


STOPPED_EXIT = 128 + signal.SIGTERM


def _run(flow, as_json: bool, **parameters) -> int:
    """Run a flow, print the outcome; 0 only when released (or unchanged) and verified, recovered and verified, or
    held off by a pin."""
    from prefect.exceptions import CancelledRun

    from flows.release import ReleaseFailed

    # Prefect turns SIGTERM into an exception inside the flow (which rolls back) and then re-sends it to the
    # handler it found: this one, which lets the command say so in its last line.
    previous = signal.signal(signal.SIGTERM, _stopped)
    try:
        guard_temporary_server()
        result = flow(**parameters)
    except _Stopped:
        message = (
            "stopped by SIGTERM: the run rolled back what it had changed, as far as it got before it ended (its "
            "logs say what); `eci-release recover --group <group>` finishes anything left"
        )
        typer.echo(f"eci-release: {message}", err=True)
        if as_json:
            typer.echo(json.dumps({"status": "stopped", "message": message}))
        return STOPPED_EXIT
    except ReleaseFailed as failed:
        result = failed.result
    except CancelledRun as cancelled:  # superseded by a newer release of the same group
        typer.echo(f"eci-release: {cancelled}", err=True)
        if as_json:
            typer.echo(json.dumps({"status": "cancelled", "message": str(cancelled)}))
        return 1
    except Exception as error:  # bad input or a failure before anything changed: say what and stop
        typer.echo(f"eci-release: {error}", err=True)
        if as_json:
            typer.echo(json.dumps({"status": "failed", "message": str(error)}))
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
    typer.echo(result.message, err=as_json)
    if as_json:
        typer.echo(result.model_dump_json())
    return 0 if result.status in ("released", "unchanged", "pinned", "recovered", "planned") else 1


@app.command()
def up(
    database: str = typer.Option("sqlite", "--database", help="sqlite, or postgresql (a server of the stack's own)"),
    instances: str = typer.Option("docker", "--instances", help="docker (real containers) or simulated"),
    state_dir: Path = typer.Option(Path(".state/stack"), "--state-dir", help="state, logs and databases go here"),
    workers: int = typer.Option(1, "--workers", min=1, max=8, help="process workers polling the work pool"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON line when ready"),
) -> None:
    """Start the whole stack for the Prefect UI: localcloud, a Prefect server, the blocks, the work pool, the
    deployments of prefect.yaml and a worker. Runs until Ctrl-C (or SIGTERM), then stops everything."""
    if database not in ("sqlite", "postgresql") or instances not in ("docker", "simulated"):
        message = "--database is sqlite or postgresql; --instances is docker or simulated"
        typer.echo(f"eci-release up: {message}", err=True)
        if as_json:
            typer.echo(json.dumps({"status": "failed", "message": message}))
        raise typer.Exit(2)
    from deployments.stack import run_stack

    raise typer.Exit(run_stack(state_dir, database, instances, workers, as_json))


@app.command()
def webhook(
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on"),
    port: int = typer.Option(0, "--port", min=0, max=65535, help="0: any free port"),
    rules: Path = typer.Option(Path("webhook-rules.yaml"), "--rules", help="which pushes release where"),
    tokens_file: Optional[Path] = typer.Option(
        None, "--tokens-file", help="webhook tokens, one per line (default: $ECI_RELEASE_WEBHOOK_TOKENS)"
    ),
    as_json: bool = typer.Option(False, "--json", help="print one JSON line when ready"),
) -> None:
    """Receive registry pushes (ACR triggers, registry notifications) and turn each into a Prefect event that
    the on-push deployment runs. Needs PREFECT_API_URL. Runs until Ctrl-C (or SIGTERM)."""
    from deployments.webhook.rules import RulesError
    from deployments.webhook.server import SetupError, serve
    from deployments.webhook.tokens import TokenError

    try:
        code = serve(host, port, rules, tokens_file, as_json)
    except (RulesError, TokenError, SetupError, OSError) as error:
        _fail("eci-release webhook", str(error), as_json)
    raise typer.Exit(code)


def _fail(command: str, message: str, as_json: bool) -> None:
    typer.echo(f"{command}: {message}", err=True)
    if as_json:
        typer.echo(json.dumps({"status": "failed", "message": message}))
    raise typer.Exit(1)


@app.command()
def demo(
    as_json: bool = typer.Option(False, "--json", help="print the demo's outcome as JSON"),
    keep: bool = typer.Option(False, "--keep", help="leave localcloud running afterwards (Ctrl-C stops)"),
    debug: bool = typer.Option(False, "--debug", help=DEBUG_HELP),
) -> None:
    """Start localcloud with Docker-backed instances, release v1 then v2 of the sample app to the seeded group
    ess-eci-test, and show what happened."""
    from deployments.demo import run_demo

    raise typer.Exit(run_demo(as_json=as_json, keep=keep))


def _private_prefect_home() -> None:
    """Prefect keeps its database and result storage under its home: readable by this user only."""
    home = Path(os.environ.get("PREFECT_HOME", "~/.prefect")).expanduser()
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o700)


def main() -> None:
    _private_prefect_home()
    # No network here and none needed: keep Prefect's telemetry quiet, and give its temporary server the time
    # a busy 2-core machine needs to start.
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    # An expected failure ends in one line naming its cause; the traceback goes to the run's logs (and to the
    # terminal too with --debug).
    from deployments.console import configure

    configure(sys.argv[1:])
    if "--json" not in sys.argv[1:]:
        app()
        return
    # With --json every outcome ends in a JSON line, a usage error (a missing or malformed option) included.
    try:
        code = app(standalone_mode=False)
    except typer.TyperException as error:  # typer's usage errors (its own copy of click's)
        error.show()
        print(json.dumps({"status": "failed", "message": error.format_message()}))
        sys.exit(error.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    sys.exit(main())
