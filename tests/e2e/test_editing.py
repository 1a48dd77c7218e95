"""Drawing and editing tools in the browser (issue 16, item 1): a rectangle by click-drag, a vertex
drag reshapes while a drag inside moves, circle, freehand and point-with-buffer tools, and the
optional snap to the raster's pixel grid. Geometry is checked from the API, in EPSG:3857 metres."""
from __future__ import annotations

import math
from typing import Any

import pytest

from .conftest import DATA
from .helpers import create_project, login, upload_raster, wait_until

pytestmark = pytest.mark.e2e

R = 6378137.0


def merc(lon: float, lat: float) -> tuple[float, float]:
    return R * math.radians(lon), R * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


FEATURES = """
async (layer) => (await (await fetch(`/api/layers/${layer}/features/`, {credentials: 'same-origin'})).json()).features
"""


def features(page: Any) -> list[dict[str, Any]]:
    layer = page.get_attribute("[data-testid=panel-labels]", "data-layer-id")
    return sorted(page.evaluate(FEATURES, int(layer)), key=lambda f: f["id"])


def ring_m(feature: dict[str, Any]) -> list[tuple[float, float]]:
    return [merc(*c) for c in feature["geometry"]["coordinates"][0]]


def extent(points: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def drag(page: Any, a: tuple[float, float], b: tuple[float, float], steps: int = 8) -> None:
    page.mouse.move(*a)
    page.mouse.down()
    page.mouse.move(*b, steps=steps)
    page.mouse.up()


def count_is(page: Any, n: int) -> None:
    wait_until(lambda: len(features(page)) == n and page.locator("[data-testid=label-row]").count() == n, 10,
               f"{n} labels saved")


def test_draw_reshape_move_and_shape_tools(page: Any, live_app: Any) -> None:
    login(page, live_app.owner)
    create_project(page, "E2E editing")
    upload_raster(page, DATA / "OSBS_029.tif", "OSBS")
    page.wait_for_selector("[data-testid=layer-item][data-status=ready]", timeout=120_000)
    page.click("[data-testid=tab-labels]")
    page.wait_for_selector("[data-testid=labels-connection][data-state=live]")
    page.locator("details:has([data-testid=class-editor]) > summary").click()
    page.click("[data-testid=class-add]")
    page.locator("[data-testid=class-edit-name]").last.fill("Tree")
    page.click("[data-testid=class-save]")
    page.wait_for_selector("[data-testid=class-pick][data-value='1']")

    box = page.locator("[data-testid=map]").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    # Rectangle by click-drag (the map does not pan).
    page.keyboard.press("r")
    drag(page, (cx - 80, cy - 60), (cx + 80, cy + 60))
    count_is(page, 1)
    x0, y0, x1, y1 = extent(ring_m(features(page)[0]))
    scale = (x1 - x0) / 160  # metres per screen pixel
    assert abs((y1 - y0) / scale - 120) < 4, (x0, y0, x1, y1, scale)

    # Select; drag the lower-right vertex: reshaped (the opposite corner stays, the area grows).
    page.keyboard.press("v")
    page.mouse.click(cx, cy)
    wait_until(lambda: not page.locator("[data-testid=labels-delete]").is_disabled(), 5, "the rectangle selected")
    drag(page, (cx + 80, cy + 60), (cx + 120, cy + 100))
    wait_until(lambda: features(page)[0]["properties"]["version"] == 2, 10, "the reshape saved")
    ring = ring_m(features(page)[0])
    rx0, ry0, rx1, ry1 = extent(ring)
    assert abs(rx0 - x0) < scale and abs(ry1 - y1) < scale, "the opposite corner must stay"
    assert abs((rx1 - x1) / scale - 40) < 4 and abs((y0 - ry0) / scale - 40) < 4, "the dragged corner moved"

    # Drag inside: moved (same size, shifted).
    drag(page, (cx - 20, cy), (cx + 10, cy - 30))
    wait_until(lambda: features(page)[0]["properties"]["version"] == 3, 10, "the move saved")
    mx0, my0, mx1, my1 = extent(ring_m(features(page)[0]))
    assert abs((mx1 - mx0) - (rx1 - rx0)) < scale / 10 and abs((mx0 - rx0) / scale - 30) < 4, "moved, not reshaped"
    page.keyboard.press("Escape")

    # Rectangle by two clicks still works.
    page.keyboard.press("r")
    page.mouse.click(cx - 200, cy - 150)
    page.wait_for_timeout(300)
    page.mouse.click(cx - 120, cy - 90)
    count_is(page, 2)

    # Circle by drag: centre and radius.
    page.keyboard.press("c")
    drag(page, (cx + 200, cy - 150), (cx + 240, cy - 150))
    count_is(page, 3)
    circle = ring_m(features(page)[2])
    ccx, ccy = ((extent(circle)[0] + extent(circle)[2]) / 2, (extent(circle)[1] + extent(circle)[3]) / 2)
    radii = [math.hypot(x - ccx, y - ccy) / scale for x, y in circle]
    assert len(circle) > 30 and all(abs(r - 40) < 3 for r in radii), radii[:5]

    # Freehand: trace a loop with the button held.
    page.keyboard.press("f")
    fx, fy = cx - 200, cy + 150
    page.mouse.move(fx, fy)
    page.mouse.down()
    for i in range(1, 25):
        a = 2 * math.pi * i / 24
        page.mouse.move(fx + 50 * math.sin(a), fy - 30 + 30 * math.cos(a), steps=2)
    page.mouse.up()
    count_is(page, 4)
    free = features(page)[3]
    assert free["geometry"]["type"] == "Polygon" and len(free["geometry"]["coordinates"][0]) >= 8

    # Point with buffer: a circle of the radius given in metres on the ground.
    page.fill("[data-testid=labels-buffer]", "1.5")
    page.click("[data-testid=tool-buffer]")  # the focus is in the radius input: keys go there
    page.mouse.click(cx + 200, cy + 150)
    count_is(page, 5)
    buffered = features(page)[4]["geometry"]["coordinates"][0]
    lons, lats = [c[0] for c in buffered], [c[1] for c in buffered]
    lat = math.radians(sum(lats) / len(lats))
    width_m = (max(lons) - min(lons)) * math.pi / 180 * R * math.cos(lat)
    assert abs(width_m - 3.0) < 0.1, width_m

    # Snap to the raster's pixel grid: every vertex on a pixel corner.
    raster = page.evaluate("async () => (await (await fetch('/api/rasters/')).json()).results[0]")
    w, s, e, n = raster["bounds"]
    (gx0, gy0), (gx1, gy1) = merc(w, s), merc(e, n)
    sx, sy = (gx1 - gx0) / raster["width"], (gy1 - gy0) / raster["height"]
    page.check("[data-testid=labels-snap-pixels]")
    page.click("[data-testid=tool-rectangle]")
    drag(page, (cx - 37, cy + 33), (cx + 41, cy + 87))
    count_is(page, 6)
    for x, y in ring_m(features(page)[5]):
        fxp, fyp = (x - gx0) / sx, (gy1 - y) / sy
        assert abs(fxp - round(fxp)) < 0.02 and abs(fyp - round(fyp)) < 0.02, (fxp, fyp)
    assert not page.console_errors, page.console_errors
