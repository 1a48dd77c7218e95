"""Model catalog in the browser: upload a .dlpk, inspect it, edit a class color, download it and
find the new color in the downloaded .emd."""
from __future__ import annotations

import io
import zipfile

import pytest

from tests.models.packages import feature_classifier, read_emd

from .helpers import create_project, login

pytestmark = pytest.mark.e2e


def test_upload_edit_color_and_download(page, live_app, tmp_path):
    package = feature_classifier(tmp_path / "Woolsey damage.dlpk")
    login(page, live_app.owner)
    create_project(page, "E2E models")
    page.click("[data-testid=tab-models]")
    page.wait_for_selector("[data-testid=models-empty]:not([hidden])")

    # A bad file first: the server's reason is shown and nothing is added.
    bad = tmp_path / "notes.dlpk"
    bad.write_text("not a package")
    page.set_input_files("[data-testid=model-upload-file]", str(bad))
    page.click("[data-testid=model-upload-submit]")
    error = page.locator("[data-testid=model-upload-error]")
    error.wait_for()
    assert "is not a .dlpk package" in error.inner_text()

    page.set_input_files("[data-testid=model-upload-file]", str(package))
    page.click("[data-testid=model-upload-submit]")
    view = page.locator("[data-testid=model-view]")
    view.wait_for(timeout=60_000)
    model_id = int(view.get_attribute("data-model-id"))
    assert view.locator("[data-testid=model-title]").inner_text() == "Woolsey damage"
    assert view.locator("[data-testid=model-prop-type]").inner_text() == "ObjectClassification"
    assert view.locator("[data-testid=model-prop-architecture]").inner_text() == "FeatureClassifier"
    assert view.locator("[data-testid=model-prop-backbone]").inner_text() == "resnet34"
    assert view.locator("[data-testid=model-prop-chip]").inner_text() == "600 × 600 px"
    assert view.locator("[data-testid=model-runnable]").inner_text() == "runnable"
    swatches = view.locator("[data-testid=model-class-swatch]")
    assert swatches.count() == 2 and swatches.first.get_attribute("data-color") == "#119d22"
    page.wait_for_selector("[data-testid=model-argument-batch_size]")
    # The loss curve from ModelCharacteristics/ is shown (the image loaded: it has a width).
    page.wait_for_function("() => { const i = document.querySelector('[data-testid=model-images] img');"
                           " return i && i.complete && i.naturalWidth > 0; }")

    # Edit: the first class becomes red.
    page.click("[data-testid=model-edit]")
    page.fill("[data-testid=model-class-color-0]", "#ff0000")
    page.fill("[data-testid=model-class-name-0]", "Destroyed")
    page.click("[data-testid=model-save]")
    page.wait_for_selector("[data-testid=model-notice]:has-text('Saved')")
    assert page.locator("[data-testid=model-class-swatch]").first.get_attribute("data-color") == "#ff0000"

    with page.expect_download() as info:
        page.click("[data-testid=model-download]")
    download = info.value
    assert download.suggested_filename == "Woolsey damage.dlpk"
    data = open(download.path(), "rb").read()
    emd = read_emd(data)
    assert emd["Classes"][0] == {"Value": 1, "Name": "Destroyed", "Color": [255, 0, 0]}
    assert emd["Classes"][1]["Color"] == [158, 187, 171]
    assert emd["Version"] == "2019.02"  # untouched keys kept
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert "woolseyFire_600_50.pth" in archive.namelist()

    # Back in the catalog: search finds it, the type filter too.
    page.click("[data-testid=model-back]")
    page.fill("[data-testid=model-search]", "woolsey")
    page.wait_for_selector(f"[data-testid=model-item][data-model-id='{model_id}']")
    page.select_option("[data-testid=model-type-filter]", "ObjectDetection")
    page.wait_for_selector("[data-testid=models-empty]:not([hidden])")
    assert page.console_errors == []
