"""The README's pictures of every panel (issue 16, item 7), taken at 1400x900 on a real project: a
NEON image, imported and reviewed labels, a detector run from the Inference panel.

`RASTERLAB_SCREENSHOTS=1 pytest tests/e2e/test_screenshots.py` writes them to docs/screenshots/
(and docs/screenshot.jpg); otherwise to test-results/screenshots/ (git-ignored), so a plain test
run leaves the working tree alone."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

import pytest

from .conftest import DATA, ROOT
from .helpers import create_project, login, upload_raster, wait_until
from .test_inference import ssd_package
from .test_labeling import ADD_MEMBER
from .test_training import define_classes, import_labels

pytestmark = pytest.mark.e2e

SIZE = {"width": 1400, "height": 900}
PANELS = ["layers", "labels", "jobs", "models", "inference", "datasets", "train", "project"]


@pytest.fixture
def wide_page(chromium_browser: Any, live_app: Any) -> Iterator[Any]:
    context = chromium_browser.new_context(base_url=live_app.url, viewport=SIZE)
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.console_errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))  # type: ignore[attr-defined]
    yield page
    context.close()


def out_dir() -> Path:
    if os.environ.get("RASTERLAB_SCREENSHOTS") == "1":
        return ROOT / "docs" / "screenshots"
    return ROOT / "test-results" / "screenshots"


def box_centre(page: Any) -> tuple[float, float]:
    box = page.locator("[data-testid=map]").bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def shoot(page: Any, out: Path, name: str, path: Path | None = None) -> None:
    page.wait_for_timeout(700)  # tiles and lists settle
    page.screenshot(path=str(path or out / f"{name}.jpg"), type="jpeg", quality=80)


def test_screenshots_of_every_panel(wide_page: Any, live_app: Any, tmp_path: Path) -> None:
    page = wide_page
    out = out_dir()
    out.mkdir(parents=True, exist_ok=True)
    login(page, live_app.owner)
    project = create_project(page, "NEON OSBS trees", "Tree crowns in a 10 cm NEON aerial image (OSBS_029)")
    # A teammate who reviews, for the Project tab's members.
    assert page.evaluate(ADD_MEMBER.replace("role: 'editor'", "role: 'reviewer'"), [project, live_app.other.username]) == 201
    upload_raster(page, DATA / "OSBS_029.tif", "OSBS_029")
    page.wait_for_selector("[data-testid=layer-item][data-status=ready]", timeout=120_000)

    define_classes(page, ["Tree"])
    page.locator("details:has([data-testid=class-editor]) > summary").click()
    assert import_labels(page, DATA / "OSBS_029.4326.geojson", "label") > 10
    page.locator("details:has([data-testid=labels-import-file]) > summary").click()
    rows = page.locator("[data-testid=label-row]")
    wait_until(lambda: rows.count() > 10, 10, "the imported labels in the table")
    for key, i in (("a", 0), ("a", 1), ("x", 2)):
        rows.nth(i).click()
        page.keyboard.press(key)
    page.click("[data-testid=labels-zoom]")
    wait_until(lambda: "2 accepted" in page.inner_text("[data-testid=review-counts]"), 10, "the reviews counted")
    page.keyboard.press("r")  # the rectangle tool shown active
    page.mouse.move(box_centre(page)[0] + 200, box_centre(page)[1] - 200)
    shoot(page, out, "labels")
    for panel in ("layers", "datasets", "project", "train"):
        page.click(f"[data-testid=tab-{panel}]")
        shoot(page, out, panel)
    page.click("[data-testid=user]")
    shoot(page, out, "account")
    page.click("[data-testid=account-close]")
    page.click("[data-testid=tab-layers]")
    main = ROOT / "docs" / "screenshot.jpg" if out == ROOT / "docs" / "screenshots" else out / "screenshot.jpg"
    shoot(page, out, "layers", main)

    page.click("[data-testid=tab-models]")
    page.set_input_files("[data-testid=model-upload-file]", str(ssd_package(tmp_path / "trees.dlpk")))
    page.click("[data-testid=model-upload-submit]")
    page.locator("[data-testid=model-view]").wait_for(timeout=60_000)

    page.click("[data-testid=tab-inference]")
    page.wait_for_selector("[data-testid=arg-threshold]")
    page.fill("[data-testid=arg-threshold]", "0.5")
    box = page.locator("[data-testid=map]").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.click("[data-testid=draw-extent]")
    page.mouse.move(cx - 150, cy - 120)
    page.mouse.down()
    page.mouse.move(cx + 150, cy + 120, steps=5)
    page.mouse.up()
    page.click("[data-testid=inference-run]")
    page.locator("[data-testid=result-count]:has-text('shown')").wait_for(timeout=120_000)

    for panel in ("inference", "models", "jobs"):
        page.click(f"[data-testid=tab-{panel}]")
        shoot(page, out, panel)

    from PIL import Image

    for name in [*PANELS, "account"]:
        with Image.open(out / f"{name}.jpg") as img:
            assert img.size == (1400, 900), (name, img.size)
    assert not page.console_errors, page.console_errors
