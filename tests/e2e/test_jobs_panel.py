"""The jobs panel follows an ingest job live: its row appears, the bar moves and ends full."""
from __future__ import annotations

import re

import pytest

from .conftest import DATA
from .helpers import create_project, login, upload_raster, wait_until

pytestmark = pytest.mark.e2e

# Records every state the jobs panel shows, so that fast jobs cannot slip between two polls.
RECORD_PROGRESS = """
() => {
  window.__jobStates = [];
  const seen = () => {
    for (const row of document.querySelectorAll('[data-testid=job-row]')) {
      const bar = row.querySelector('[data-testid=job-progress]');
      const state = [row.dataset.jobId, row.dataset.kind, row.dataset.status, bar.getAttribute('aria-valuenow')];
      const last = window.__jobStates.filter((s) => s[0] === state[0]).pop();
      if (!last || last.join() !== state.join()) window.__jobStates.push(state);
    }
  };
  new MutationObserver(seen).observe(document.body, {subtree: true, childList: true, attributes: true,
    attributeFilter: ['data-status', 'aria-valuenow']});
  seen();
}
"""


def test_jobs_panel_follows_an_ingest_job(page, live_app):
    login(page, live_app.owner)
    create_project(page, "E2E jobs")
    page.click("[data-testid=tab-jobs]")
    page.wait_for_selector("[data-testid=jobs-connection][data-state=live]", timeout=15_000)
    assert page.locator("[data-testid=job-row]").count() == 0
    page.evaluate(RECORD_PROGRESS)

    # The larger single-band file, so that the ingest takes a moment.
    upload_raster(page, DATA / "cog.tif", "big band")
    page.locator("[data-testid=layer-item]").first.wait_for()
    page.click("[data-testid=tab-jobs]")

    row = page.locator("[data-testid=job-row][data-kind=ingest_raster]")
    row.wait_for(timeout=30_000)
    assert row.count() == 1
    page.wait_for_selector("[data-testid=job-row][data-status=succeeded]", timeout=120_000)

    bar = row.locator("[data-testid=job-progress]")
    assert bar.get_attribute("aria-valuenow") == "100"
    assert row.locator("[data-testid=job-percent]").inner_text().strip() == "100 %"
    assert row.locator("[data-testid=job-status]").inner_text().strip() == "succeeded"
    assert row.locator("[data-testid=job-cancel]").is_hidden(), "a finished job cannot be cancelled"
    assert row.locator("[data-testid=job-elapsed]").inner_text().strip().endswith("s")

    states = [s for s in page.evaluate("window.__jobStates") if s[1] == "ingest_raster"]
    statuses = [s[2] for s in states]
    progress = [int(s[3]) for s in states if s[3] is not None]
    # The row appeared before the job was done and its bar only moved forward, up to 100.
    assert statuses[0] in ("queued", "running"), states
    assert "running" in statuses and statuses[-1] == "succeeded", states
    assert progress[0] < 100 and progress[-1] == 100, states
    assert progress == sorted(progress), states

    # Details: the result names the raster, and the log (GET /api/jobs/{id}/) is shown.
    row.locator("[data-testid=job-details-toggle]").click()
    result = row.locator("[data-testid=job-result] dd[data-key=raster]")
    result.wait_for()
    raster_id = int(result.inner_text())
    assert page.locator(f"[data-testid=layer-item][data-raster-id='{raster_id}']").count() == 1
    log = row.locator("[data-testid=job-log]")
    log.wait_for()
    assert "Ingesting big band" in log.inner_text()

    # The raster the job made is ready in the layer list (updated from the job events).
    page.click("[data-testid=tab-layers]")
    page.wait_for_selector(f"[data-testid=layer-item][data-raster-id='{raster_id}'][data-status=ready]")


def test_jobs_panel_resyncs_after_a_dropped_connection(page, live_app):
    """Events sent while the socket is down are lost; the reconnect resyncs from GET /api/jobs/."""
    down = {"value": False}
    routes: list = []

    def route(ws) -> None:
        if down["value"]:
            ws.close(code=1011, reason="e2e: server unreachable")
            return
        ws.connect_to_server()
        routes.append(ws)

    page.route_web_socket(re.compile(r"/ws/projects/\d+/jobs/$"), route)
    login(page, live_app.owner)
    project_id = create_project(page, "E2E reconnect")
    page.click("[data-testid=tab-jobs]")
    page.wait_for_selector("[data-testid=jobs-connection][data-state=live]", timeout=15_000)

    # Drop the connection and keep refusing new ones.
    down["value"] = True
    for ws in routes:
        ws.close(code=1011, reason="e2e: dropped")
    page.wait_for_selector("[data-testid=jobs-connection][data-state=reconnecting]", timeout=15_000)

    # Meanwhile an ingest job runs to its end: the panel hears nothing of it.
    upload_raster(page, DATA / "OSBS_029.tif", "while away")
    wait_until(
        lambda: any(j["status"] == "succeeded" for j in
                    page.request.get(f"/api/jobs/?project={project_id}").json()["results"]),
        120, "the ingest job to succeed on the server",
    )
    page.click("[data-testid=tab-jobs]")
    assert page.locator("[data-testid=job-row]").count() == 0

    # Back online: the app reconnects by itself and the resync shows the finished job.
    down["value"] = False
    page.wait_for_selector("[data-testid=jobs-connection][data-state=live]", timeout=30_000)
    row = page.locator("[data-testid=job-row][data-status=succeeded]")
    row.wait_for(timeout=15_000)
    assert row.locator("[data-testid=job-progress]").get_attribute("aria-valuenow") == "100"
    # The layer list learnt from the resync too: the raster is ready.
    page.click("[data-testid=tab-layers]")
    page.wait_for_selector("[data-testid=layer-item][data-status=ready]", timeout=15_000)
