"""Inference in the browser: upload a small detector, draw an extent, run Detect objects and see the
result layer on the map (with its confidence slider and export links). The panel is laid out like
the others (no horizontal scrolling, checkboxes by their labels), shows each argument's description
and range from the model's info, starts the confidence filter at the threshold the job ran with
and lists earlier runs after a reload (issue 16, item 3)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.conftest import DATA
from tests.models.packages import write_zip

from .helpers import create_project, login, map_center_clip, upload_raster

pytestmark = pytest.mark.e2e


def ssd_package(path: Path) -> Path:
    """A random-weight SSD (64 px chips) in Rasterlab's package layout."""
    import io

    from backend.engine.nets import build_model

    torch.manual_seed(0)
    model = build_model("SingleShotDetector", "mobilenet_v3_large", 1, 3, 64, pretrained_backbone=False)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    emd = {
        "Framework": "PyTorch", "ModelConfiguration": "rasterlab.SingleShotDetector", "ModelType": "ObjectDetection",
        "ModelFile": "trees.pth", "ModelName": "SingleShotDetector", "ImageHeight": 64, "ImageWidth": 64,
        "ExtractBands": [0, 1, 2], "Classes": [{"Value": 1, "Name": "Tree", "Color": [0, 200, 0]}],
        "ModelParameters": {"backbone": "mobilenet_v3_large", "rasterlab_arch": "SingleShotDetector"},
    }
    return write_zip(path, {"trees.emd": json.dumps(emd), "trees.pth": buffer.getvalue()})


def test_draw_an_extent_detect_and_see_the_layer(page, live_app, tmp_path):
    package = ssd_package(tmp_path / "trees.dlpk")
    login(page, live_app.owner)
    create_project(page, "E2E inference")
    upload_raster(page, DATA / "OSBS_029.tif", "osbs")
    page.wait_for_selector("[data-testid=layer-item][data-status=ready]", timeout=120_000)

    page.click("[data-testid=tab-models]")
    page.set_input_files("[data-testid=model-upload-file]", str(package))
    page.click("[data-testid=model-upload-submit]")
    page.locator("[data-testid=model-view]").wait_for(timeout=60_000)

    page.click("[data-testid=tab-inference]")
    page.wait_for_selector("[data-testid=inference-model] option:not([value=''])", state="attached")
    page.wait_for_selector("[data-testid=arg-threshold]")
    help_text = page.inner_text("[data-testid=argument-help-threshold]")
    assert "Minimum confidence" in help_text and "Range: 0 to 1" in help_text, help_text
    assert page.inner_text("[data-testid=argument-threshold] > span").strip() == "Threshold"
    panel = page.locator("[data-testid=panel-inference]")
    assert panel.evaluate("el => el.scrollWidth <= el.clientWidth"), "the panel scrolls sideways"
    for testid in ("inference-run-nms", "arg-test_time_augmentation"):
        box = page.locator(f"[data-testid={testid}]").bounding_box()
        text = page.locator(f"label:has([data-testid={testid}]) > span").bounding_box()
        assert 0 <= text["x"] - (box["x"] + box["width"]) < 16, (testid, box, text)
    page.fill("[data-testid=arg-threshold]", "0.05")
    page.wait_for_selector("[data-testid=inference-raster] option", state="attached")

    # A box in the middle of the map (the raster is zoomed to fill it).
    clip = map_center_clip(page, 200)
    page.click("[data-testid=draw-extent]")
    page.mouse.click(clip["x"], clip["y"])
    page.mouse.move(clip["x"] + clip["width"], clip["y"] + clip["height"])
    page.mouse.click(clip["x"] + clip["width"], clip["y"] + clip["height"])
    page.wait_for_selector("[data-testid=extent-text]:has-text('Drawn extent')")

    page.click("[data-testid=inference-run]")
    result = page.locator("[data-testid=inference-result]")
    result.wait_for(timeout=120_000)
    assert page.locator("[data-testid=inference-error]").is_hidden()
    page.wait_for_selector("[data-testid=result-count]:has-text('shown')")
    layer_id = int(result.get_attribute("data-layer-id"))
    assert page.locator("[data-testid=export-geojson]").get_attribute("href") == \
        f"/api/layers/{layer_id}/export/?format=geojson"
    assert page.locator("[data-testid=confidence-value]").inner_text() == "0.05", "starts at the run's threshold"
    page.locator("[data-testid=confidence-slider]").fill("1")
    assert page.locator("[data-testid=confidence-value]").inner_text() == "1.00"

    # After a reload the run is still listed, its filter again at its threshold.
    page.reload()
    page.click("[data-testid=tab-inference]")
    result.wait_for()
    assert int(result.get_attribute("data-layer-id")) == layer_id
    assert page.locator("[data-testid=confidence-value]").inner_text() == "0.05"
    assert page.console_errors == []
