"""Panels stay true without a reload (issue 16, item 2): the class schema made in the Labels tab
and by a teammate shows in the Project tab, the export form counts the labels just drawn, the
inference extent leaves the map with its tab, and forms missing a required choice say so next to
the field."""
from __future__ import annotations

from typing import Any

import pytest

from .helpers import create_project, drawn_fraction, login, map_center_clip, map_image, wait_until
from .test_labeling import ADD_MEMBER, other_page  # noqa: F401 - fixture

pytestmark = pytest.mark.e2e

PUT_CLASSES = """
async ([project, classes]) => {
  const csrf = document.cookie.split('; ').find((c) => c.startsWith('csrftoken='))?.split('=')[1] ?? '';
  const r = await fetch(`/api/projects/${project}/classes/`, {method: 'PUT', credentials: 'same-origin',
    headers: {'Content-Type': 'application/json', 'X-CSRFToken': csrf}, body: JSON.stringify({classes})});
  return r.status;
}
"""


def test_panels_follow_changes_made_elsewhere(page: Any, other_page: Any, live_app: Any) -> None:
    login(page, live_app.owner)
    project = create_project(page, "E2E panels")
    assert page.evaluate(ADD_MEMBER, [project, live_app.other.username]) == 201

    # A class made in the Labels tab shows in the Project tab at once.
    page.click("[data-testid=tab-labels]")
    page.wait_for_selector("[data-testid=labels-connection][data-state=live]")
    page.locator("details:has([data-testid=class-editor]) > summary").click()
    page.click("[data-testid=class-add]")
    page.locator("[data-testid=class-edit-name]").last.fill("Tree")
    page.click("[data-testid=class-save]")
    page.wait_for_selector("[data-testid=class-pick][data-value='1']")
    page.click("[data-testid=tab-project]")
    classes = page.locator("[data-testid=project-classes]")
    wait_until(lambda: "Tree" in classes.inner_text(), 5, "Tree in the Project tab")

    # A teammate adds a class (their own browser): the owner's Project tab follows.
    login(other_page, live_app.other)
    status = other_page.evaluate(PUT_CLASSES, [project, [
        {"value": 1, "name": "Tree", "color": [255, 221, 0]}, {"value": 2, "name": "Snag", "color": [255, 0, 170]}]])
    assert status == 200, status
    wait_until(lambda: "Snag" in classes.inner_text(), 10, "the teammate's class in the Project tab")

    # Two labels drawn; the export form counts them without a reload.
    page.click("[data-testid=tab-labels]")
    # Import without a file: said next to the file field.
    page.locator("details:has([data-testid=labels-import-file]) > summary").click()
    page.click("[data-testid=labels-import-submit]")
    assert page.inner_text("[data-testid=field-error][data-for=labels-import-file]") == "Choose a file."
    page.locator("details:has([data-testid=labels-import-file]) > summary").click()

    box = page.locator("[data-testid=map]").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.keyboard.press("r")
    for dx in (-150, 50):
        page.mouse.move(cx + dx, cy - 40)
        page.mouse.down()
        page.mouse.move(cx + dx + 90, cy + 40, steps=5)
        page.mouse.up()
    wait_until(lambda: page.locator("[data-testid=label-row]").count() == 2, 10, "two labels")
    page.click("[data-testid=tab-datasets]")
    layer = page.locator("[data-testid=export-layer] option").first
    wait_until(lambda: layer.inner_text().endswith("(2)"), 5, "the export form to count 2 labels")

    # Export without a raster: the message is next to the raster field.
    page.click("[data-testid=export-submit]")
    error = page.locator("[data-testid=field-error][data-for=export-rasters]")
    error.wait_for()
    assert error.inner_text() == "Choose rasters."
    assert page.locator("[data-testid=export-job]").count() == 0

    # Inference without a model: said next to the model field.
    page.click("[data-testid=tab-inference]")
    page.click("[data-testid=inference-run]")
    page.locator("[data-testid=field-error][data-for=inference-model]").wait_for()

    # The drawn extent is on the map with the Inference tab only.
    clip = map_center_clip(page, 120)
    page.click("[data-testid=clear-extent]")
    page.click("[data-testid=tab-jobs]")
    page.click("[data-testid=tab-inference]")
    empty = drawn_fraction(map_image(page, clip))
    page.click("[data-testid=draw-extent]")
    page.mouse.move(cx - 300, cy - 200)
    page.mouse.down()
    page.mouse.move(cx + 300, cy + 200, steps=5)
    page.mouse.up()
    page.mouse.move(cx + 350, cy + 250)
    wait_until(lambda: drawn_fraction(map_image(page, clip)) > empty + 0.3, 5, "the extent drawn")
    page.click("[data-testid=tab-jobs]")
    wait_until(lambda: drawn_fraction(map_image(page, clip)) <= empty + 0.01, 5, f"the extent hidden in another tab ({empty})")
    assert not page.console_errors, page.console_errors
