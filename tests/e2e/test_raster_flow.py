"""Log in, create a project, upload a GeoTIFF, see its tiles on the map, restyle it."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from .conftest import DATA
from .helpers import (
    create_project, drawn_fraction, grey_fraction, login, map_center_clip, map_image, upload_raster, wait_until,
)

pytestmark = pytest.mark.e2e

TILE_RE = re.compile(r"/api/rasters/(\d+)/tiles/\d+/\d+/\d+\.png\?")


def _tile_query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_upload_raster_draws_tiles_and_restyles(page, live_app):
    tile_requests: list[str] = []
    tile_ok: list[str] = []
    page.on("request", lambda r: TILE_RE.search(r.url) and tile_requests.append(r.url))
    page.on("response", lambda r: TILE_RE.search(r.url) and r.status == 200 and tile_ok.append(r.url))

    login(page, live_app.owner)
    project_id = create_project(page, "E2E trees", "OSBS_029 tree crowns")
    assert page.url.rstrip("/").endswith(f"/projects/{project_id}")
    page.wait_for_selector("[data-testid=connection][data-state=live]", timeout=15_000)

    upload_raster(page, DATA / "OSBS_029.tif", "OSBS 029")
    item = page.locator("[data-testid=layer-item]", has_text="OSBS 029")
    item.wait_for()
    # Status goes processing -> ready through the ingest job's websocket events (no reload).
    page.wait_for_selector("[data-testid=layer-item][data-status=ready]", timeout=120_000)
    assert item.locator("[data-testid=raster-status]").inner_text().strip() == "ready"
    raster_id = int(item.get_attribute("data-raster-id"))

    # The map fitted the raster: its middle is covered with imagery tiles.
    clip = map_center_clip(page)
    wait_until(lambda: drawn_fraction(map_image(page, clip)) > 0.9, 30, "tiles drawn in the middle of the map")
    assert any(f"/api/rasters/{raster_id}/tiles/" in u for u in tile_ok), "no tile answered 200"
    rgb = map_image(page, clip)
    assert grey_fraction(rgb) < 0.5, "an RGB composite should be in colour"

    # Defaults: bands 1,2,3 stretched to each band's 2-98 % (the statistics from the API).
    raster = page.request.get(f"/api/rasters/{raster_id}/").json()
    stats = raster["statistics"]
    first_url = item.get_attribute("data-tile-url")
    assert _tile_query(first_url)["bands"] == ["1,2,3"]
    assert len(_tile_query(first_url)["rescale"]) in (1, 3)
    assert float(_tile_query(first_url)["rescale"][0].split(",")[0]) == pytest.approx(stats["1"]["p2"], rel=1e-4)

    # Band combination: one band drawn in grey -> a new tile URL, new requests, a grey map.
    item.locator("[data-testid=layer-style]").click()
    assert item.locator("[data-testid=stretch-min-0]").input_value() != ""
    with page.expect_request(lambda r: TILE_RE.search(r.url) and _tile_query(r.url).get("bands") == ["2"]):
        item.locator("[data-testid=band-mode]").select_option("single")
        item.locator("[data-testid=band-select-0]").select_option("2")
    single_url = item.get_attribute("data-tile-url")
    assert single_url != first_url
    assert _tile_query(single_url)["bands"] == ["2"]
    wait_until(lambda: grey_fraction(map_image(page, clip)) > 0.9, 30, "the single-band render (grey)")

    # Stretch preset min-max: the URL carries the band's min and max.
    with page.expect_request(lambda r: TILE_RE.search(r.url) and "rescale" in _tile_query(r.url)
                             and _tile_query(r.url)["rescale"][0] != _tile_query(single_url)["rescale"][0]):
        item.locator("[data-testid=stretch-preset-minmax]").click()
    minmax_url = item.get_attribute("data-tile-url")
    lo, hi = (float(v) for v in _tile_query(minmax_url)["rescale"][0].split(","))
    assert (lo, hi) == (pytest.approx(stats["2"]["min"]), pytest.approx(stats["2"]["max"]))
    assert item.locator("[data-testid=stretch-min-0]").input_value() == f"{stats['2']['min']:g}"

    # A hand-typed stretch is applied on change.
    item.locator("[data-testid=stretch-max-0]").fill("100")
    with page.expect_request(lambda r: TILE_RE.search(r.url) and _tile_query(r.url).get("rescale", [""])[0].endswith(",100")):
        item.locator("[data-testid=stretch-max-0]").press("Enter")

    # Opacity and visibility act on the layer.
    item.locator("[data-testid=layer-visible]").uncheck()
    wait_until(lambda: drawn_fraction(map_image(page, clip)) < 0.05, 10, "the hidden layer to disappear")
    item.locator("[data-testid=layer-visible]").check()
    wait_until(lambda: drawn_fraction(map_image(page, clip)) > 0.9, 10, "the layer to come back")

    # The pointer position reads in lon/lat (OSBS is in Florida: about -81.9, 29.7).
    box = page.locator("[data-testid=map]").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    readout = page.locator("[data-testid=mouse-position]").inner_text()
    lon, lat = (float(v) for v in re.findall(r"-?\d+\.\d+", readout)[:2])
    assert -83 < lon < -81 and 29 < lat < 30.5, readout
    assert page.locator(".ol-scale-line").is_visible()

    # A reload keeps everything (the raster comes from the API, the map fits it again).
    page.reload()
    page.wait_for_selector("[data-testid=layer-item][data-status=ready]")
    wait_until(lambda: drawn_fraction(map_image(page, map_center_clip(page))) > 0.9, 30, "tiles after reload")
    assert not page.console_errors, page.console_errors


def test_upload_rejects_a_file_that_is_not_a_raster(page, live_app):
    login(page, live_app.owner)
    create_project(page, "E2E bad upload")
    with page.expect_response(lambda r: r.url.endswith("/api/rasters/") and r.request.method == "POST") as info:
        upload_raster(page, DATA / "OSBS_029.geojson", "not a raster")
    response = info.value
    assert response.status == 400, response.text()
    detail = response.json()["detail"]
    # The server's detail is shown as is, and no raster was added.
    error = page.locator("[data-testid=upload-error]")
    error.wait_for(state="visible")
    assert detail in error.inner_text()
    assert page.locator("[data-testid=layer-item]").count() == 0
