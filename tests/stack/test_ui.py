"""A person in the Prefect UI (Debian's chromium, driven by Playwright): starts the `release` deployment from its
form with the blocks picked in the pickers, approves the paused batch, and sees the release report. The
screenshots stay in .state/test-artifacts/ui/."""

from __future__ import annotations

import shutil
import uuid

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import sync_playwright
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowRunFilter,
    FlowRunFilterDeploymentId,
)
from prefect.client.schemas.sorting import FlowRunSort

from deployments.stack_process import REPO_ROOT
from tests.stack.support import group_images, pinned, push_web_image, wait_run

SCREENSHOTS = REPO_ROOT / ".state" / "test-artifacts" / "ui"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",  # root in CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # the machine has no network: no background calls to make
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser_page():
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("no chromium on PATH: scripts/setup-host installs Debian's chromium", pytrace=False)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        page.set_default_timeout(30_000)
        try:
            yield page
        finally:  # what the page showed last: when a step timed out, what it was waiting on instead
            page.screenshot(path=SCREENSHOTS / "last.png", full_page=True)
            browser.close()


def _field(page, label: str):
    """The innermost form field with this label (outer fields contain their children's labels too)."""
    label_span = page.locator("span.schema-form-property__label", has_text=label)
    return page.locator("div.p-label", has=label_span).last


def _choose(page, label: str, option: str) -> None:
    _field(page, label).locator("button.p-select-button__control").first.focus()
    page.keyboard.press("ArrowDown")  # opens the list
    page.get_by_role("option", name=option, exact=True).click()


def _open_run_form(page, url: str) -> None:
    """The deployment's run form, its fields drawn. Once, in CI, the UI's first page drew no form in 30 s (in
    every other run it takes about 2 s): then what it showed is kept, and the page is loaded once more."""
    page.goto(url)
    first_field = page.locator("span.schema-form-property__label").first
    try:
        first_field.wait_for(timeout=45_000)
    except PlaywrightTimeoutError:
        page.screenshot(path=SCREENSHOTS / "0-form-not-drawn.png", full_page=True)
        print(f"the run form was not drawn in 45 s (see {SCREENSHOTS / '0-form-not-drawn.png'}); loading it again")
        page.reload()
        first_field.wait_for()


def _newest_run_of(deployment_id):
    with get_client(sync_client=True) as client:
        [run] = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(deployment_id=FlowRunFilterDeploymentId(any_=[deployment_id])),
            sort=FlowRunSort.EXPECTED_START_TIME_DESC,
            limit=1,
        )
    return run


def test_a_person_releases_from_the_ui_form_approves_a_batch_and_reads_the_report(
    stack, fresh_group, stack_cloud, stack_sdk, browser_page
):
    page, ui = browser_page, stack["ui_url"]
    tag = f"ui-{uuid.uuid4().hex[:6]}"
    digest = push_web_image(stack_cloud, stack_sdk, tag, "released from the UI")
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name("release/release")

    _open_run_form(page, f"{ui}/deployments/deployment/{deployment.id}/run")
    _choose(page, "credentials (Optional)", "localcloud")
    _choose(page, "registry (Optional)", "localcloud")
    _choose(page, "Batch Pause (Optional)", "FirstBatchPause")
    _field(page, "Tag (Optional)").locator("textarea, input").first.fill(tag)
    page.screenshot(path=SCREENSHOTS / "1-form.png", full_page=True)
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(f"**/deployments/deployment/{deployment.id}?tab=Runs")

    run = _newest_run_of(deployment.id)
    # What the pickers sent: references to the blocks, never their contents.
    assert (
        set(run.parameters["credentials"]["$ref"]) == set(run.parameters["registry"]["$ref"]) == {"block_document_id"}
    )
    page.goto(f"{ui}/runs/flow-run/{run.id}")
    page.get_by_role("button", name="Resume").wait_for(timeout=120_000)  # shown once the first batch paused
    page.get_by_role("button", name="Resume").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("1 of 2 instances updated").wait_for()
    page.screenshot(path=SCREENSHOTS / "2-approve.png")
    dialog.locator("textarea").last.fill("approved in the browser test")
    dialog.get_by_role("button", name="Submit").click()

    done = wait_run(run.id)
    assert done.state.is_completed(), done.state.message
    assert group_images(stack_sdk) == (pinned(stack_cloud, digest), [pinned(stack_cloud, digest)] * 2)
    page.goto(f"{ui}/runs/flow-run/{run.id}")
    page.get_by_text("Artifacts", exact=True).click()
    try:
        page.get_by_text("release-ess-eci-test").first.wait_for()
    finally:
        page.screenshot(path=SCREENSHOTS / "3-artifacts.png")
    with get_client(sync_client=True) as client:
        [report] = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]), type={"any_": ["markdown"]}
            )
        )
    page.goto(f"{ui}/artifacts/artifact/{report.id}")
    page.get_by_role("heading", name="Instances after").wait_for()  # the report itself, rendered
    page.get_by_text(digest).first.wait_for()
    page.screenshot(path=SCREENSHOTS / "4-report.png", full_page=True)
