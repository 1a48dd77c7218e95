"""Compute accuracy in the browser (issue 20): detect objects, label three of the detections and one
tree the model missed, press "Compute accuracy" on the result, read the report (TP 3, FN 1, a
precision-recall curve, CSV), colour the outcomes on the map, and find the run on the model's page."""
from __future__ import annotations

import json
import urllib.request

import pytest

from tests.conftest import DATA

from .helpers import create_project, login, upload_raster
from .test_inference import ssd_package

pytestmark = pytest.mark.e2e


def api(url: str, token: str | None = None, body: dict | None = None, method: str | None = None) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                     headers=headers, method=method or ("POST" if body is not None else "GET"))
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_compute_accuracy_of_a_detections_layer(page, live_app, tmp_path):
    package = ssd_package(tmp_path / "trees.dlpk")
    login(page, live_app.owner)
    project_id = create_project(page, "E2E accuracy")
    upload_raster(page, DATA / "OSBS_029.tif", "osbs")
    page.wait_for_selector("[data-testid=layer-item][data-status=ready]", timeout=120_000)
    page.click("[data-testid=tab-models]")
    page.set_input_files("[data-testid=model-upload-file]", str(package))
    page.click("[data-testid=model-upload-submit]")
    page.locator("[data-testid=model-view]").wait_for(timeout=60_000)
    model_id = int(page.get_attribute("[data-testid=model-view]", "data-model-id"))

    page.click("[data-testid=tab-inference]")
    page.wait_for_selector("[data-testid=arg-threshold]")
    page.wait_for_selector("[data-testid=inference-raster] option", state="attached")
    page.fill("[data-testid=arg-threshold]", "0.05")
    page.click("[data-testid=inference-run]")
    result = page.locator("[data-testid=inference-result]")
    result.wait_for(timeout=180_000)
    layer_id = int(result.get_attribute("data-layer-id"))

    # Ground truth: three of the detections (the most confident) and one tree far from any.
    base = live_app.url
    token = api(f"{base}/api/auth/token/", body={"username": live_app.owner.username,
                                                  "password": live_app.owner.password})["token"]
    api(f"{base}/api/projects/{project_id}/", token, {"classes": [{"value": 1, "name": "Tree", "color": [0, 200, 0]}]},
        method="PATCH")
    found = api(f"{base}/api/layers/{layer_id}/features/", token)["features"]
    assert len(found) >= 4, "the detector found too little to score"
    found.sort(key=lambda f: -f["properties"]["confidence"])
    labels = next(l for l in api(f"{base}/api/layers/?project={project_id}", token)["results"] if l["kind"] == "labels")
    for feature in found[:3]:
        api(f"{base}/api/layers/{labels['id']}/features/", token,
            {"type": "Feature", "geometry": feature["geometry"], "properties": {"class_value": 1}})
    x, y = found[0]["geometry"]["coordinates"][0][0]
    far = [[x + 0.01, y], [x + 0.0101, y], [x + 0.0101, y + 0.0001], [x + 0.01, y + 0.0001], [x + 0.01, y]]
    api(f"{base}/api/layers/{labels['id']}/features/", token,
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [far]}, "properties": {"class_value": 1}})

    # The button on the result; the labels layer is the default ground truth.
    result.locator("[data-testid=accuracy-open]").click()
    result.locator(f"[data-testid=accuracy-truth] option[value='layer:{labels['id']}']").wait_for(state="attached")
    assert result.locator("[data-testid=accuracy-truth]").input_value() == f"layer:{labels['id']}"
    result.locator("[data-testid=accuracy-run]").click()
    report = result.locator("[data-testid=accuracy-report]")
    report.wait_for(timeout=60_000)
    overall = report.locator("[data-testid=accuracy-overall]")
    assert overall.locator("[data-col=true_positives]").inner_text() == "3"
    assert overall.locator("[data-col=false_negatives]").inner_text() == "1"
    assert report.locator("[data-testid=accuracy-pr-curve] path").count() == 1
    job_id = int(report.get_attribute("data-job-id"))
    csv_text = page.request.get(report.locator("[data-testid=accuracy-csv]").get_attribute("href")).text()
    assert csv_text.splitlines()[1].startswith("class_value,class_name") and "\nall," in csv_text

    # True/false positives and the missed tree on the map.
    with page.expect_response(lambda r: f"/api/accuracy/{job_id}/outcomes/" in r.url and r.ok):
        result.locator("[data-testid=accuracy-map]").check()

    # The model's page lists the run with its scores.
    page.click("[data-testid=tab-models]")
    page.click("[data-testid=model-back]")
    page.click(f"[data-testid=model-item][data-model-id='{model_id}']")
    run = page.locator(f"[data-testid=model-accuracy-run][data-job-id='{job_id}']")
    run.wait_for()
    assert "osbs" in run.inner_text() and "R 0.75 " in run.locator("[data-testid=model-accuracy-headline]").inner_text()
    assert page.console_errors == []
