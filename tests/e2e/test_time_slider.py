"""The Time tab (issue 17): a collection made from two dated rasters, a slider that steps through
them by acquisition date, and a date edited in the panel reordering the steps."""
from __future__ import annotations

import pytest

from tests.labeling.test_collections import dated_copy

from .helpers import create_project, login, upload_raster

pytestmark = pytest.mark.e2e


def test_collection_time_slider_steps_by_date(page, live_app, tmp_path):
    later = dated_copy(tmp_path / "later.tif", {"ACQUISITIONDATE": "2022-06-01"})
    earlier = dated_copy(tmp_path / "earlier.tif", {"TIFFTAG_DATETIME": "2020:05:01 10:00:00"}, scale=0.5)
    login(page, live_app.owner)
    create_project(page, "E2E time")
    upload_raster(page, later, "later")
    upload_raster(page, earlier, "earlier")
    page.wait_for_function("document.querySelectorAll('[data-testid=layer-item][data-status=ready]').length >= 2",
                           timeout=120_000)

    page.click("[data-testid=tab-time]")
    page.click("[data-testid=collection-new]")
    page.fill("[data-testid=collection-name]", "Two years")
    for box in page.locator("[data-testid^=collection-raster-]").all():
        box.check()
    page.click("[data-testid=collection-create]")
    page.wait_for_selector("[data-testid=collection-select] option:has-text('Two years (2)')", state="attached")

    label = page.locator("[data-testid=time-label]")
    assert label.inner_text().startswith("2020-05-01"), label.inner_text()
    slider = page.locator("[data-testid=time-slider]")
    slider.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("document.querySelector('[data-testid=time-label]').textContent.startsWith('2022-06-01')")
    first_raster = label.get_attribute("data-raster")

    # Date the later image before the earlier one: the steps follow the dates.
    page.fill(f"[data-testid=acquired-{first_raster}]", "2019-01-01")
    page.dispatch_event(f"[data-testid=acquired-{first_raster}]", "change")
    slider.focus()
    page.keyboard.press("Home")
    page.wait_for_function("document.querySelector('[data-testid=time-label]').textContent.startsWith('2019-01-01')",
                           timeout=30_000)
    assert label.get_attribute("data-raster") == first_raster
