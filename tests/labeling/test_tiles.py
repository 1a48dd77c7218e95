import io

import morecantile
import numpy as np
import pytest
from PIL import Image
from rio_tiler.io import Reader

from tests.conftest import DATA
from tests.labeling.rasters import write_raster
from tests.labeling.test_rasters_api import upload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ready_raster(team, client_for, data_dir, run_jobs):
    def make(path):
        body = upload(client_for(team.owner), team.project, path).json()
        run_jobs()
        return body["id"], data_dir / "rasters" / str(body["id"]) / "cog.tif"

    return make


def centre_tile(cog, zoom_offset: int = 0):
    with Reader(str(cog)) as src:
        gb = src.get_geographic_bounds("EPSG:4326")
        lon = (gb[0] + gb[2]) / 2
        lat = (gb[1] + gb[3]) / 2
        z = src.maxzoom - zoom_offset
    t = morecantile.tms.get("WebMercatorQuad").tile(lon, lat, z)
    return t.z, t.x, t.y


def rgba(content: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(content)).convert("RGBA"))


def test_png_tile_matches_rio_tiler(team, client_for, ready_raster):
    raster_id, cog = ready_raster(DATA / "OSBS_029.tif")
    z, x, y = centre_tile(cog, zoom_offset=1)
    api = client_for(team.viewer)
    response = api.get(f"/api/rasters/{raster_id}/tiles/{z}/{x}/{y}.png?bands=1,2,3&rescale=0,255")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    with Reader(str(cog)) as src:
        img = src.tile(x, y, z, indexes=(1, 2, 3))
    img.rescale(in_range=((0, 255),))
    expected = img.render(img_format="PNG")
    assert np.array_equal(rgba(b"".join(response.streaming_content) if response.streaming else response.content),
                          rgba(expected))


def test_default_stretch_and_band_choice_match_rio_tiler(team, client_for, ready_raster, tmp_path):
    raster_id, cog = ready_raster(write_raster(tmp_path / "uint16.tif", count=4, dtype="uint16", width=800, height=600))
    stats = client_for(team.owner).get(f"/api/rasters/{raster_id}/").json()["statistics"]
    z, x, y = centre_tile(cog)
    response = client_for(team.owner).get(f"/api/rasters/{raster_id}/tiles/{z}/{x}/{y}.webp?bands=4,3,2")
    assert response.status_code == 200 and response["Content-Type"] == "image/webp"
    with Reader(str(cog)) as src:
        img = src.tile(x, y, z, indexes=(4, 3, 2))
    img.rescale(in_range=tuple((stats[b]["p2"], stats[b]["p98"]) for b in ("4", "3", "2")))
    expected = img.render(img_format="WEBP", lossless=False)
    got, want = rgba(response.content), rgba(expected)
    assert got.shape == want.shape
    assert np.array_equal(got[..., 3], want[..., 3])  # same footprint / nodata mask


def test_nodata_and_outside_footprint_are_transparent(team, client_for, ready_raster, tmp_path):
    raster_id, cog = ready_raster(write_raster(tmp_path / "nodata.tif", count=1, dtype="uint16", nodata=0))
    z, x, y = centre_tile(cog, zoom_offset=3)  # a tile larger than the raster: edges are outside
    image = rgba(client_for(team.owner).get(f"/api/rasters/{raster_id}/tiles/{z}/{x}/{y}.png").content)
    alpha = image[..., 3]
    assert (alpha == 0).any() and (alpha == 255).any()


def test_tile_outside_bounds_is_404_and_etag_revalidates(team, client_for, ready_raster):
    raster_id, cog = ready_raster(DATA / "OSBS_029.tif")
    api = client_for(team.owner)
    assert api.get(f"/api/rasters/{raster_id}/tiles/18/0/0.png").status_code == 404
    z, x, y = centre_tile(cog)
    first = api.get(f"/api/rasters/{raster_id}/tiles/{z}/{x}/{y}.jpg")
    assert first.status_code == 200 and first["Content-Type"] == "image/jpeg"
    assert "max-age" in first["Cache-Control"] and first["ETag"]
    again = api.get(f"/api/rasters/{raster_id}/tiles/{z}/{x}/{y}.jpg", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    other = api.get(f"/api/rasters/{raster_id}/tiles/{z}/{x}/{y}.jpg?bands=1")
    assert other["ETag"] != first["ETag"]


def test_tiles_check_membership_and_parameters(team, client_for, ready_raster, client):
    raster_id, cog = ready_raster(DATA / "OSBS_029.tif")
    z, x, y = centre_tile(cog)
    url = f"/api/rasters/{raster_id}/tiles/{z}/{x}/{y}.png"
    assert client.get(url).status_code == 401
    client.force_login(team.outsider)
    assert client.get(url).status_code == 404
    client.force_login(team.viewer)
    assert client.get(url).status_code == 200
    bad = client.get(url + "?bands=9")
    assert bad.status_code == 400 and "1..3" in bad.json()["detail"]
    assert client.get(url + "?bands=1,2").status_code == 400
    assert client.get(url + "?rescale=a,b").status_code == 400


def test_tilejson(team, client_for, ready_raster):
    raster_id, _ = ready_raster(DATA / "OSBS_029.tif")
    doc = client_for(team.viewer).get(f"/api/rasters/{raster_id}/tilejson.json?bands=3,2,1").json()
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"][0].endswith(f"/api/rasters/{raster_id}/tiles/{{z}}/{{x}}/{{y}}.png?bands=3,2,1")
    assert doc["minzoom"] <= doc["maxzoom"] and len(doc["bounds"]) == 4
    assert client_for(team.outsider).get(f"/api/rasters/{raster_id}/tilejson.json").status_code == 404
