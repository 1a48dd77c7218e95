"""Inference in the browser: upload a small detector, draw an extent, run Detect objects and see the
result layer on the map (with its confidence slider and export links)."""
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
    page.locator("[data-testid=confidence-slider]").fill("1")
    assert page.locator("[data-testid=confidence-value]").inner_text() == "1.00"
    assert page.console_errors == []
