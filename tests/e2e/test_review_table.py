"""The labels table and the review workflow in the browser (issue 16, items 5 and 6): the table
pages, sorts and filters by class, author and confidence, a row click zooms to its label and "Zoom
to labels" fits the whole layer from the server's extent; a reviewer accepts and rejects labels
(keys and buttons), the layer counts them per status and per user, and the export links can take
only accepted labels. The basemap, unreachable offline, stays off without errors."""
from __future__ import annotations

from typing import Any

import pytest

from .helpers import create_project, login, wait_until
from .test_labeling import ADD_MEMBER, other_page  # noqa: F401 - fixture

pytestmark = pytest.mark.e2e

CREATE = """
async ([layer, items]) => {
  const csrf = document.cookie.split('; ').find((c) => c.startsWith('csrftoken='))?.split('=')[1] ?? '';
  for (const [lon, lat, cls, conf] of items) {
    const d = 0.001;
    const r = await fetch(`/api/layers/${layer}/features/`, {method: 'POST', credentials: 'same-origin',
      headers: {'Content-Type': 'application/json', 'X-CSRFToken': csrf},
      body: JSON.stringify({type: 'Feature', properties: {class_value: cls, confidence: conf},
        geometry: {type: 'Polygon', coordinates: [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]]}})});
    if (r.status !== 201) return r.status;
  }
  return 201;
}
"""
LAYERS = "async (p) => (await (await fetch(`/api/layers/?project=${p}`)).json()).results[0].id"


def centre(page: Any) -> tuple[float, float]:
    """Lon, lat under the middle of the map (from the map's readout)."""
    box = page.locator("[data-testid=map]").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    # The readout follows pointer moves, not map moves: step off and back so it is fresh.
    page.mouse.move(x + 1, y)
    page.mouse.move(x, y)
    text = page.inner_text("[data-testid=mouse-position]")
    lon, lat = (float(p.split()[-1].rstrip("°")) for p in text.split(","))
    return lon, lat


def near(a: tuple[float, float], b: tuple[float, float], tol: float) -> bool:
    return abs(a[0] - b[0]) < tol and abs(a[1] - b[1]) < tol


def scale_m(page: Any) -> float:
    """The scale bar's length in metres."""
    value, unit = page.inner_text(".ol-scale-line-inner").split()
    return float(value) * {"mm": 0.001, "m": 1, "km": 1000}[unit]


def page_text(page: Any) -> str:
    return page.inner_text("[data-testid=labels-page]")


def test_table_paging_filters_zoom_and_review(page: Any, other_page: Any, live_app: Any) -> None:
    login(page, live_app.owner)
    page.fill("[data-testid=project-classes-input]", "Tree, Snag")  # classes set when creating the project
    project = create_project(page, "E2E review")
    assert page.evaluate(ADD_MEMBER, [project, live_app.other.username]) == 201
    layer = page.evaluate(LAYERS, project)
    # 40 labels by the owner, 20 by the other user, on a 10 x 6 grid 0.1 degree apart.
    cells = [(10 + (i % 10) * 0.1, 50 + (i // 10) * 0.1, 1 + i % 2, round(i / 60, 3)) for i in range(60)]
    assert page.evaluate(CREATE, [layer, cells[:40]]) == 201
    login(other_page, live_app.other)
    assert other_page.evaluate(CREATE, [layer, cells[40:]]) == 201

    page.click("[data-testid=tab-labels]")
    page.wait_for_selector("[data-testid=labels-connection][data-state=live]")
    assert page.locator("[data-testid=class-pick] .class-name").all_inner_texts() == ["Tree", "Snag"]
    page.click("[data-testid=labels-zoom]")
    wait_until(lambda: page_text(page) == "1–50 of 60", 10, "all 60 labels in the table, 50 a page")
    rows = page.locator("[data-testid=label-row]")
    assert rows.count() == 50
    page.click("[data-testid=labels-page-next]")
    assert page_text(page) == "51–60 of 60" and rows.count() == 10

    # Filters: author, class, confidence.
    page.select_option("[data-testid=labels-filter-author]", live_app.other.username)
    wait_until(lambda: rows.count() == 20, 5, "the other user's 20 labels")
    assert page.locator("[data-testid=labels-page]").is_hidden(), "one page: no pager"
    page.select_option("[data-testid=labels-filter-author]", "")
    page.select_option("[data-testid=labels-filter-class]", "2")
    assert page_text(page) == "1–30 of 30"
    page.fill("[data-testid=labels-filter-confidence]", "0.5")
    assert page_text(page) == "1–15 of 15"
    # Sorted by confidence, highest first.
    page.click("[data-testid=labels-sort-confidence]")
    confidences = [float(rows.nth(i).locator("td").nth(2).inner_text()) for i in range(rows.count())]
    assert confidences == sorted(confidences, reverse=True) and confidences[-1] >= 0.5
    page.fill("[data-testid=labels-filter-confidence]", "")
    page.select_option("[data-testid=labels-filter-class]", "")

    # A row click zooms to its label (the map's centre is on it, a few metres a pixel).
    # One element handle: the row read is the row clicked, even if a live update re-renders the table.
    first = rows.first.element_handle()
    target = first.get_attribute("data-feature-id")
    first.click()
    ring = page.evaluate("async ([l, f]) => (await (await fetch(`/api/layers/${l}/features/${f}/`)).json())"
                         ".geometry.coordinates[0]", [layer, target])
    lon, lat = ring[0]
    wait_until(lambda: near(centre(page), (lon + 0.0005, lat + 0.0005), 0.0002), 10,
               f"the map centred on label {target} at {(lon + 0.0005, lat + 0.0005)} (centre now {centre(page)})")
    assert scale_m(page) < 200
    selected = page.locator(f"[data-testid=label-row][data-feature-id='{target}']")
    assert "selected" in selected.get_attribute("class")

    # Review: A accepts the selection, the Reject button rejects another.
    page.keyboard.press("a")
    wait_until(lambda: selected.get_attribute("data-review") == "accepted", 10, "the label accepted")
    # Zoom to labels: the whole layer (its extent from the server) fills the view.
    page.click("[data-testid=labels-zoom]")
    wait_until(lambda: near(centre(page), (10.4505, 50.2505), 0.02), 10, "the view on the whole layer")
    assert scale_m(page) > 1000
    other_row = page.locator("[data-testid=label-row][data-review=unreviewed]").first
    other_id = other_row.get_attribute("data-feature-id")
    other_row.click()
    page.click("[data-testid=review-reject]")
    rejected = page.locator(f"[data-testid=label-row][data-feature-id='{other_id}']")
    wait_until(lambda: rejected.get_attribute("data-review") == "rejected", 10, "the label rejected")
    counts = page.locator("[data-testid=review-counts]")
    wait_until(lambda: counts.text_content() == "1 accepted · 1 rejected · 58 to review", 10, "the review counts")
    owner_row = page.locator(f"[data-testid=review-user][data-user='{live_app.owner.username}'] td")
    wait_until(lambda: owner_row.nth(4).inner_text() == "2", 5, "the owner's 2 reviews")
    assert page.locator(f"[data-testid=review-user][data-user='{live_app.other.username}'] td").nth(1).inner_text() == "20"

    # Exports of only accepted labels.
    page.locator("details:has([data-testid=labels-export-geojson]) > summary").click()
    page.check("[data-testid=export-only-accepted]")
    href = page.get_attribute("[data-testid=labels-export-geojson]", "href")
    assert href.endswith("review_status=accepted"), href
    exported = page.evaluate("async (u) => (await (await fetch(u)).json()).features.map((f) => f.id)", href)
    assert exported == [int(target)]

    # A reviewer (the other user, made one by the owner) reviews without the drawing tools.
    assert page.evaluate(ADD_MEMBER.replace("role: 'editor'", "role: 'reviewer'"), [project, live_app.other.username]) == 201
    other_page.goto(f"/projects/{project}/")
    other_page.click("[data-testid=tab-labels]")
    other_page.wait_for_selector("[data-testid=labels-connection][data-state=live]")
    assert other_page.locator("[data-testid=labels-tools]").count() == 0
    pending = other_page.locator("[data-testid=label-row][data-review=unreviewed]").first
    pending_id = pending.get_attribute("data-feature-id")
    pending.click()
    other_page.click("[data-testid=review-accept]")
    mine = page.locator(f"[data-testid=label-row][data-feature-id='{pending_id}']")
    wait_until(lambda: mine.get_attribute("data-review") == "accepted", 10, "the reviewer's verdict live in the owner's table")
    wait_until(lambda: counts.text_content() == "2 accepted · 1 rejected · 57 to review", 10, "the counts with it")

    # Offline (the e2e app's basemap URL cannot answer) there is no basemap, and no error about it.
    wait_until(lambda: page.get_attribute(".basemap", "data-state") == "offline", 10, "the basemap found offline")
    assert page.inner_text("[data-testid=basemap-state]") == "(offline)"
    assert not page.is_checked("[data-testid=basemap-toggle]")
    assert not page.console_errors, page.console_errors


def test_basemap_where_the_network_allows(page: Any, live_app: Any) -> None:
    """The basemap server answering (here: the browser is handed its tiles), the basemap is drawn
    under everything; switched off, it stays off after a reload."""
    import io

    from PIL import Image

    from .helpers import drawn_fraction, map_center_clip, map_image

    tile = io.BytesIO()
    Image.new("RGB", (256, 256), (200, 40, 40)).save(tile, format="PNG")
    page.route("http://127.0.0.1:9/**", lambda route: route.fulfill(status=200, content_type="image/png",
                                                                     body=tile.getvalue()))
    login(page, live_app.owner)
    create_project(page, "E2E basemap")
    wait_until(lambda: page.get_attribute(".basemap", "data-state") == "on", 10, "the basemap on")
    clip = map_center_clip(page)
    wait_until(lambda: drawn_fraction(map_image(page, clip)) > 0.95, 10, "basemap tiles under the map")
    page.uncheck("[data-testid=basemap-toggle]")
    wait_until(lambda: drawn_fraction(map_image(page, clip)) < 0.05, 10, "the basemap hidden")
    page.reload()
    page.wait_for_selector("[data-testid=project-page]")
    assert page.get_attribute(".basemap", "data-state") == "off"
    assert not page.console_errors, page.console_errors
