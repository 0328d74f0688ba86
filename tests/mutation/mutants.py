"""Small bugs a reviewer could plausibly miss, each breaking a promise the README makes, with the tests that must
notice it. ``scripts/mutate`` puts them in one at a time.

When you add a feature: add a mutant for each promise it makes (a change a user would notice, not a cosmetic
one), name the cheapest tests that should catch it, and run ``scripts/mutate --only <name>``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    name: str
    promise: str
    path: str
    find: str
    replace: str
    tests: list[str]


ROLLBACK_FAILS_TOO = (
    "tests/contract/test_pipeline_calls.py::"
    "test_when_the_templates_rollback_fails_too_the_configuration_and_processes_are_still_restored"
)

MUTANTS = [
    Mutant(
        "publish-ignores-push-errors",
        "a push the registry refuses fails the release and says why",
        "tasks/publish.py",
        'if "error" in line or "errorDetail" in line:',
        "if False:",
        ["tests/integration/test_publish.py"],
    ),
    Mutant(
        "sdk-config-logged",
        "secrets never reach logs",
        "blocks/credentials.py",
        '        return EssClient(self.sdk_config("ess"))',
        '        config = self.sdk_config("ess")\n'
        "        import logging\n"
        "        logging.getLogger('eci_release').warning('ess client config %s', config.to_map())\n"
        "        return EssClient(config)",
        ["tests/e2e/test_secrets.py"],
    ),
    Mutant(
        "health-500-is-healthy",
        "the probe instance must answer its health check (2xx/3xx)",
        "tasks/verify.py",
        "return 200 <= status_code < 400",
        "return 200 <= status_code < 600",
        ["tests/unit/test_verify_rules.py", "tests/integration/test_health_check.py"],
    ),
    Mutant(
        "resume-user-suspended-processes",
        "the release resumes only the scaling processes it suspended",
        "tasks/processes.py",
        " and p not in suspended_before]",
        "]",
        ["tests/unit/test_verify_rules.py", "tests/contract/test_pipeline_calls.py"],
    ),
    Mutant(
        "start-execution-without-client-token",
        "a retry after a lost StartExecution response starts no second rollout",
        "tasks/oos_executions.py",
        "        client_token=uuid.uuid4().hex,\n        description=",
        "        description=",
        ["tests/contract/test_pipeline_calls.py"],
    ),
    Mutant(
        "probe-scale-out-without-client-token",
        "a retry after a lost ScaleWithAdjustment response starts no second probe instance",
        "tasks/probe.py",
        "        adjustment_value=1,\n        client_token=client_token,\n",
        "        adjustment_value=1,\n",
        ["tests/contract/test_pipeline_calls.py"],
    ),
    Mutant(
        "probe-image-not-compared",
        "the probe instance must run the released digest",
        "tasks/probe.py",
        'if probe.image != image or probe.status != "Running":',
        'if probe.status != "Running":',
        ["tests/contract/test_pipeline_calls.py"],
    ),
    Mutant(
        "config-read-back-ignores-the-image",
        "the configuration write is read back and must hold the new image",
        "tasks/scaling_config.py",
        "if after.get(before.container_name) != target:",
        "if before.container_name not in after:",
        ["tests/contract/test_pipeline_calls.py"],
    ),
    Mutant(
        "sweep-ignores-instance-status",
        "every InService instance must be Running the released digest",
        "tasks/verify.py",
        'if i.image != image or i.status != "Running"',
        "if i.image != image",
        ["tests/contract/test_pipeline_calls.py"],
    ),
    Mutant(
        "no-resume-after-a-failed-template",
        "a failed rollout leaves no scaling process suspended",
        "tasks/rollback.py",
        '    steps.attempt("could not resume scaling processes", resume)\n',
        "",
        [ROLLBACK_FAILS_TOO],
    ),
    Mutant(
        "rollback-skips-the-configuration-restore",
        "a failed release restores the configuration's image, also when the template's rollback fails",
        "tasks/rollback.py",
        '    steps.attempt(f"could not restore configuration {snapshot.scaling_configuration_id}", '
        "restore_configuration)\n",
        "",
        [ROLLBACK_FAILS_TOO],
    ),
    Mutant(
        "rollback-skips-standby-return",
        "a failed release returns instances left in Standby to service",
        "tasks/rollback.py",
        '    steps.attempt("could not return instances from Standby", back_in_service)\n',
        "",
        [ROLLBACK_FAILS_TOO],
    ),
    Mutant(
        "throttling-not-retried",
        "throttling is retried with backoff",
        "tasks/cloud_calls.py",
        # Both ways the SDK reports throttling: ThrottlingException (with a retry-after) and a Throttling* code.
        "    if isinstance(error, ThrottlingException):\n"
        "        return True\n"
        "    if isinstance(error, AlibabaCloudException):\n"
        '        code = error.code or ""\n'
        '        return code in RETRYABLE_CODES or code.startswith("Throttling") or',
        "    if isinstance(error, AlibabaCloudException):\n"
        '        code = error.code or ""\n'
        "        return code in RETRYABLE_CODES or",
        ["tests/integration/test_cloud_calls.py"],
    ),
    Mutant(
        "client-errors-retried",
        "only transient failures are retried",
        "tasks/cloud_calls.py",
        'return code in RETRYABLE_CODES or code.startswith("Throttling") or (error.status_code or 0) >= 500',
        "return True",
        ["tests/integration/test_cloud_calls.py"],
    ),
    Mutant(
        "cache-key-ignores-base-digests",
        "a base image that moved to a new digest rebuilds",
        "tasks/build.py",
        "    digest.update(repr(sorted((bases or {}).items())).encode())\n",
        "",
        ["tests/unit/test_build_cache_key.py"],
    ),
    Mutant(
        "cache-key-ignores-build-args",
        "changed build args rebuild",
        "tasks/build.py",
        "    digest.update(repr(sorted((build_args or {}).items())).encode())\n",
        "",
        ["tests/unit/test_build_cache_key.py"],
    ),
    Mutant(
        "webhook-any-token",
        "every webhook request is authenticated",
        "deployments/webhook/tokens.py",
        "        return matched and presented is not None",
        "        return True",
        ["tests/unit/test_webhook_receiver.py"],
    ),
    Mutant(
        "webhook-no-digest-check",
        "a pushed digest the registry does not serve is refused",
        "deployments/webhook/receiver.py",
        "        if current == push.digest:\n            return None\n",
        "        return None\n",
        ["tests/unit/test_webhook_receiver.py"],
    ),
    Mutant(
        "webhook-replays-accepted",
        "the same push inside the replay window is accepted once",
        "deployments/webhook/receiver.py",
        "        if self.replays.seen(replay_key):\n            return accepted_already\n",
        "",
        ["tests/unit/test_webhook_receiver.py"],
    ),
    Mutant(
        "nightly-supersedes-a-person",
        "a run a person started is never superseded by an automatic one",
        "flows/group_lock.py",
        "        and not (person_started and run_trigger(run) in AUTOMATIC_TRIGGERS)\n",
        "",
        ["tests/unit/test_superseding.py"],
    ),
    Mutant(
        "cache-key-ignores-file-content",
        "a changed tree always builds",
        "tasks/build.py",
        "            digest.update(hashlib.sha256(path.read_bytes()).digest())\n",
        "            pass\n",
        ["tests/unit/test_build_cache_key.py"],
    ),
    Mutant(
        "unchanged-configuration-written-again",
        "a configuration that already holds the digest is not written",
        "tasks/scaling_config.py",
        "        return ConfigChange(image_after=target, written=False)\n",
        "",
        ["tests/e2e/test_release.py::test_unchanged_rerun_builds_pushes_and_writes_nothing"],
    ),
    Mutant(
        "probe-left-in-the-group",
        "the probe removes exactly the instance it started",
        "tasks/probe.py",
        "    remove_probe(credentials, group, activity_id, scale_out_timeout, best_effort=False, durations="
        "journal.durations)\n",
        "",
        ["tests/contract/test_pipeline_calls.py"],
    ),
    Mutant(
        "probe-with-a-lost-answer-left-in-the-group",
        "a probe scale-out whose answer never reached the record is still removed by the rollback",
        "tasks/probe.py",
        "    if record.probe_activity_id or not record.probe_client_token:\n",
        "    if True:\n",
        [
            "tests/e2e/test_recovery.py::test_sigkill_before_the_probe_scale_out_was_answered_is_finished_by_the_next_release"
        ],
    ),
    Mutant(
        "refused-probe-asked-for-again",
        "a probe scale-out the cloud refused is not asked for again by the rollback",
        "tasks/probe.py",
        "            journal.note(probe_client_token=None)\n",
        "            pass\n",
        [
            "tests/contract/test_pipeline_calls.py::"
            "test_a_probe_scale_out_the_cloud_refused_is_not_asked_for_again_by_the_rollback[simulated]"
        ],
    ),
    Mutant(
        "oldest-request-wins",
        "of the runs waiting for a group, the newest request wins",
        "flows/group_lock.py",
        "        and _requested_at(run) > _requested_at(me)\n",
        "        and _requested_at(run) < _requested_at(me)\n",
        ["tests/unit/test_superseding.py"],
    ),
    Mutant(
        "dropped-connections-not-retried",
        "dropped connections are retried",
        "tasks/cloud_calls.py",
        '        return isinstance(getattr(error, "inner_exception", None), RetryError)\n',
        "        return False\n",
        ["tests/integration/test_cloud_calls.py"],
    ),
    Mutant(
        "stage-results-persisted",
        "no task that touches secrets persists its result",
        "tasks/task_policy.py",
        "    return task(name=name, cache_policy=NO_CACHE, persist_result=False)",
        "    return task(name=name, persist_result=True)",  # with NO_CACHE, Prefect would persist nothing anyway
        ["tests/e2e/test_secrets.py"],
    ),
    Mutant(
        "rollout-before-the-probe",
        "a bad image never reaches the running instances: the probe comes before OOS",
        "flows/release.py",
        "    if outputs.change.written or any(i.image != pinned for i in outputs.instances_before):",
        "    if False:",
        [
            "tests/e2e/test_release.py::test_an_image_failing_its_health_check_on_the_probe_never_reaches_the_running_instances"
        ],
    ),
    Mutant(
        "health-gate-always-approves",
        "a batch that does not answer its health check stops the rollout before the next",
        "tasks/rolling_update.py",
        "            healthy = gate.check_updated()",
        "            healthy = []",
        ["tests/e2e/test_release.py::test_an_unhealthy_first_batch_stops_the_rollout_before_the_second"],
    ),
    Mutant(
        "a-stop-is-not-rolled-back",
        "SIGTERM (and a cancel from the UI) rolls back before the run ends",
        "flows/release.py",
        "    except BaseException as error:  # a stop (TerminationSignal, KeyboardInterrupt) is a failure too",
        "    except Exception as error:",
        ["tests/e2e/test_recovery.py::test_sigterm_during_the_probe_rolls_back_before_the_process_ends"],
    ),
    Mutant(
        "no-recovery-before-a-release",
        "the next release finishes what a killed one left, before anything else",
        "flows/release.py",
        "    recovery = finish_unfinished(credentials, group, rollout, previous)",
        "    recovery = None",
        ["tests/e2e/test_recovery.py::test_sigkill_after_the_probe_scale_out_is_finished_by_the_next_release"],
    ),
    Mutant(
        "execution-id-noted-only-at-the-end",
        "the OOS execution id reaches the release record as soon as it exists",
        "tasks/rolling_update.py",
        "    journal.note(execution_id=execution_id)\n",
        "",
        ["tests/e2e/test_recovery.py::test_sigkill_mid_rollout_is_rolled_back_by_recover"],
    ),
    Mutant(
        "shell-lock-held-by-the-dead",
        "without a Prefect server, a killed release does not keep the group locked",
        "flows/group_lock.py",
        "    if PREFECT_API_URL.value():",
        "    if True:",
        ["tests/e2e/test_recovery.py::test_sigkill_after_the_probe_scale_out_is_finished_by_the_next_release"],
    ),
    Mutant(
        "reads-not-shared",
        "a read is paced at its share of the limit: the rate divided among the releases holding a group lock",
        "tasks/rate_limits.py",
        "pace.wait_turn(rate.per_second / sharing, rate.burst / sharing)",
        "pace.wait_turn(rate.per_second, rate.burst)",
        ["tests/integration/test_rate_limits.py"],
    ),
    Mutant(
        "writes-paced-in-the-process",
        "a write takes a slot of its limit on the Prefect server, which every worker draws from",
        "tasks/rate_limits.py",
        "        if is_read(key) and rate.burst >= sharing:\n",
        "        if True:\n",
        ["tests/integration/test_rate_limits.py"],
    ),
    Mutant(
        "reads-paced-below-one-call",
        "when more releases share a read limit than its burst, a read takes a slot on the server",
        "tasks/rate_limits.py",
        "        if is_read(key) and rate.burst >= sharing:\n",
        "        if is_read(key):\n",
        ["tests/integration/test_rate_limits.py"],
    ),
    Mutant(
        "finished-rollout-rolled-back",
        "a release that died once its rollout ended (its last note is rolling-out) is recorded released, not undone",
        "flows/recovery.py",
        'AFTER_THE_ROLLOUT = ("rolling-out", "verifying")',
        'AFTER_THE_ROLLOUT = ("verifying",)',
        ["tests/e2e/test_recovery.py::test_a_release_that_died_once_its_rollout_ended_is_recorded_released"],
    ),
    Mutant(
        "failed-rollout-recorded-released",
        "recovery records a release finished only when its OOS execution ended Success",
        "flows/recovery.py",
        '    if ended is None or ended.status != "Success":\n',
        "    if ended is None:\n",
        ["tests/e2e/test_recovery.py::test_a_release_that_died_before_its_rollout_failed_is_rolled_back_by_recover"],
    ),
    Mutant(
        "finished-release-left-suspended",
        "recovery of a finished release resumes what the template suspended",
        "flows/recovery.py",
        "    resumed = resume_processes(credentials",
        "    resumed = [] and resume_processes(credentials",
        ["tests/e2e/test_recovery.py::test_a_release_that_died_once_its_rollout_ended_is_recorded_released"],
    ),
    Mutant(
        "unfinished-runs-reported-as-started",
        "a fan-out wave that times out reports each release run as the Prefect server has it then",
        "flows/fan_out.py",
        "            at_deadline = time.monotonic() >= deadline\n",
        "            at_deadline = time.monotonic() >= deadline\n"
        "            if at_deadline:\n"
        "                return latest\n",
        ["tests/integration/test_fan_out_wait.py"],
    ),
    Mutant(
        "finished-rollout-not-health-checked",
        "recovery records a release finished only when every instance answers the release's health check",
        "flows/recovery.py",
        "        HealthGate(credentials, snapshot, record.image_after, health).check_updated(\n",
        "        (\n",
        [
            "tests/e2e/test_recovery.py::"
            "test_a_release_that_died_before_its_last_batch_was_health_checked_is_rolled_back_by_recover"
        ],
    ),
    Mutant(
        "health-gate-checks-on-after-a-failure",
        "a health gate over many instances takes its timeout once, not once for every set checked at once",
        "tasks/verify.py",
        "                    pool.shutdown(cancel_futures=True)\n",
        "",
        ["tests/integration/test_health_check.py"],
    ),
    Mutant(
        "temporary-server-unguarded",
        "a shell command killed with SIGKILL leaves no temporary Prefect server behind",
        "deployments/cli.py",
        "        guard_temporary_server()\n        result = flow(**parameters)\n",
        "        result = flow(**parameters)\n",
        ["tests/integration/test_temporary_server.py"],
    ),
]
