"""Training in the browser, the whole ArcGIS chain: upload imagery, define classes and import labels,
export Labeled_Tiles chips in the Datasets panel, train a FeatureClassifier in the Train panel while
the loss curves and the per-epoch table fill in live, then find the new model in the Models panel,
download its .dlpk and run it (Classify objects). A second run is cancelled mid-training and leaves
no model behind."""
from __future__ import annotations

import io
import json
import re
import zipfile
from typing import Any

import pytest

from tests.conftest import DATA

from .helpers import create_project, login, upload_raster, wait_until

pytestmark = pytest.mark.e2e

EPOCHS = 2


def define_classes(page: Any, names: list[str]) -> None:
    page.click("[data-testid=tab-labels]")
    page.wait_for_selector("[data-testid=labels-connection][data-state=live]", timeout=20_000)
    page.locator("details:has([data-testid=class-editor]) > summary").click()
    for name in names:
        page.click("[data-testid=class-add]")
        page.locator("[data-testid=class-edit-name]").last.fill(name)
    page.click("[data-testid=class-save]")
    wait_until(lambda: page.locator("[data-testid=class-pick]").count() == len(names), 10, "the class buttons")


def import_labels(page: Any, path: Any, class_field: str) -> int:
    """Import a label file into the project's Labels layer; returns the count imported."""
    page.locator("details:has([data-testid=labels-import-file]) > summary").click()
    page.set_input_files("[data-testid=labels-import-file]", str(path))
    page.fill("[data-testid=labels-import-field]", class_field)
    page.click("[data-testid=labels-import-submit]")
    result = page.locator("[data-testid=labels-import-result]")
    wait_until(lambda: not result.inner_text().startswith("Importing"), 60, "the import to finish")
    found = re.fullmatch(r"Imported (\d+) labels\.", result.inner_text())
    assert found, result.inner_text()
    return int(found.group(1))


def export_labeled_tiles(page: Any, chip: int) -> int:
    """Export one chip per label in the Datasets panel; returns the dataset id once it is ready."""
    page.click("[data-testid=tab-datasets]")
    page.wait_for_selector("[data-testid=export-rasters] option", state="attached")
    page.select_option("[data-testid=export-rasters]", index=0)
    page.locator("[data-testid=export-layer]").focus()
    page.wait_for_selector("[data-testid=export-layer] option:not([value=''])", state="attached")
    page.select_option("[data-testid=export-format]", "Labeled_Tiles")
    page.fill("[data-testid=export-tile-x]", str(chip))
    page.fill("[data-testid=export-tile-y]", str(chip))
    page.fill("[data-testid=export-name]", "Dead or alive chips")
    page.click("[data-testid=export-submit]")
    item = page.locator("[data-testid=dataset-item]:has([data-testid=dataset-status]:text-is('ready'))")
    item.wait_for(timeout=120_000)
    return int(item.get_attribute("data-dataset-id"))


def epoch_rows(page: Any) -> int:
    return page.locator("[data-testid=train-epochs] tbody tr").count()


def fill_train_form(page: Any, dataset_id: int, epochs: int, name: str, find_lr: bool = False) -> None:
    page.click("[data-testid=tab-train]")
    page.wait_for_selector(f"[data-testid=train-dataset] option[value='{dataset_id}']", state="attached")
    page.select_option("[data-testid=train-dataset]", str(dataset_id))
    # Labeled_Tiles only trains object classifiers: the form offers nothing else.
    types = page.locator("[data-testid=train-model-type] option").all_inner_texts()
    assert types == ["FeatureClassifier"], types
    page.select_option("[data-testid=train-backbone]", "resnet18")
    # before the job starts, the panel says which start the model gets and what to do about it
    start = page.locator("[data-testid=train-start]")
    start.filter(has_text="resnet18").wait_for()
    assert "Random start" in start.inner_text() and "import_weights" in start.inner_text()
    page.fill("[data-testid=train-epochs-input]", str(epochs))
    page.fill("[data-testid=train-batch]", "8")
    if find_lr:  # the form's default: an LR range test before training
        assert page.locator("[data-testid=train-find-lr]").is_checked()
        assert page.locator("[data-testid=train-lr]").is_disabled()
    else:
        page.uncheck("[data-testid=train-find-lr]")
        assert page.locator("[data-testid=train-lr]").is_enabled()
        page.fill("[data-testid=train-lr]", "0.001")
    page.fill("[data-testid=train-validation]", "25")
    page.uncheck("[data-testid=train-stop]")
    page.fill("[data-testid=train-out-name]", name)


def test_export_train_and_download_a_model_from_the_browser(page: Any, live_app: Any) -> None:
    login(page, live_app.owner)
    project_id = create_project(page, "E2E training")
    upload_raster(page, DATA / "SOAP_061.tif", "soap")
    page.wait_for_selector("[data-testid=layer-item][data-status=ready]", timeout=120_000)
    define_classes(page, ["Dead", "Alive"])
    labels = import_labels(page, DATA / "SOAP_061.geojson", "label")
    assert labels == 37
    dataset_id = export_labeled_tiles(page, chip=64)

    fill_train_form(page, dataset_id, EPOCHS, "Dead or alive v1", find_lr=True)
    page.click("[data-testid=train-submit]")
    run = page.locator("[data-testid=train-run]")
    run.wait_for()
    assert page.locator("[data-testid=train-error]").is_hidden()

    page.wait_for_selector("[data-testid=train-status]:has-text('succeeded')", timeout=180_000)
    assert epoch_rows(page) == EPOCHS
    chart = page.locator("[data-testid=train-chart]")
    for series in ("train", "valid"):
        points = chart.locator(f"polyline[data-series={series}]").get_attribute("points")
        assert points is not None and len(points.split()) == EPOCHS, (series, points)
    header = page.locator("[data-testid=train-epochs] thead").inner_text()
    assert "accuracy" in header, header

    final = page.locator("[data-testid=train-final-metrics]").inner_text()
    assert "accuracy" in final and "learning rate" in final, final
    href = page.get_attribute("[data-testid=train-download-model]", "href")
    assert href and href.startswith("/api/models/") and href.endswith("/download/")
    model_id = int(href.split("/")[3])

    # The downloaded package is an Esri-shaped .dlpk: an .emd naming arcgis.learn's FeatureClassifier
    # with both classes and the accuracy it reached, next to the weights and the characteristics plots.
    response = page.request.get(href)
    assert response.status == 200, response.status
    with zipfile.ZipFile(io.BytesIO(response.body())) as archive:
        names = archive.namelist()
        emd_name = next(n for n in names if n.endswith(".emd"))
        emd = json.loads(archive.read(emd_name))
    assert emd["ModelName"] == "FeatureClassifier" and emd["ModelType"] == "ObjectClassification"
    assert [c["Name"] for c in emd["Classes"]] == ["Dead", "Alive"]
    assert "accuracy" in emd, sorted(emd)
    assert any(n.endswith(".pth") for n in names)
    assert any(n.endswith("ModelCharacteristics/loss_graph.png") for n in names), names

    # "Open the Models panel" shows the new item, from this project.
    page.click("[data-testid=train-open-model]")
    item = page.locator(f"[data-testid=model-item][data-model-id='{model_id}']")
    item.wait_for(timeout=20_000)
    assert "Dead or alive v1" in item.inner_text()
    # Its page shows the metrics and the training plots from the package, loaded in the browser.
    item.click()
    page.locator("[data-testid=model-view]").wait_for()
    assert "accuracy" in page.locator("[data-testid=model-metrics]").inner_text()
    figures = page.locator("[data-testid=model-images] figure")
    captions = figures.locator("figcaption").all_inner_texts()
    assert {"Loss curve", "Sample results", "Learning rate finder"} <= set(captions), captions
    for img in figures.locator("img").all():
        img.scroll_into_view_if_needed()
        wait_until(lambda: img.evaluate("i => i.complete && i.naturalWidth > 0"), 20, f"{img.get_attribute('alt')} to load")

    # Ready to run: Classify objects with the new model over the imported labels gives a layer.
    page.click("[data-testid=tab-inference]")
    page.select_option("[data-testid=inference-tool]", "classify_objects")
    page.wait_for_selector(f"[data-testid=inference-model] option[value='{model_id}']", state="attached")
    page.select_option("[data-testid=inference-model]", str(model_id))
    page.wait_for_selector("[data-testid=inference-layer] option:not([value=''])", state="attached")
    page.fill("[data-testid=inference-out-name]", "Classified by v1")
    page.click("[data-testid=inference-run]")
    result = page.locator("[data-testid=inference-result]")
    result.wait_for(timeout=120_000)
    assert page.locator("[data-testid=inference-error]").is_hidden()
    layer = page.request.get(f"/api/layers/{result.get_attribute('data-layer-id')}/").json()
    assert layer["feature_count"] == labels, layer

    # A reload shows the finished run again (from the job list, not from memory).
    page.reload()
    page.click("[data-testid=tab-train]")
    page.wait_for_selector("[data-testid=train-status]:has-text('succeeded')")
    assert epoch_rows(page) == EPOCHS
    assert page.console_errors == []

    # Cancelling a long run stops it mid-training; no model is registered for it.
    models_before = page.request.get(f"/api/models/?project={project_id}").json()
    fill_train_form(page, dataset_id, 500, "Never finished")
    page.click("[data-testid=train-submit]")
    page.wait_for_selector("[data-testid=train-status]:has-text('running')", timeout=60_000)
    # Live: epochs reach the table and the chart while the job is still running.
    wait_until(lambda: epoch_rows(page) >= 1, 120, "an epoch of the long run")
    assert "running" in page.locator("[data-testid=train-status]").inner_text()
    assert page.locator("[data-testid=train-chart] polyline[data-series=train]").count() == 1
    page.click("[data-testid=train-cancel]")
    page.wait_for_selector("[data-testid=train-status]:has-text('cancelled')", timeout=60_000)
    assert page.locator("[data-testid=train-cancel]").is_hidden()
    assert page.locator("[data-testid=train-result]").inner_text().strip() == ""
    models_after = page.request.get(f"/api/models/?project={project_id}").json()
    count = (lambda body: body["count"] if isinstance(body, dict) else len(body))
    assert count(models_after) == count(models_before)
    assert page.console_errors == []
