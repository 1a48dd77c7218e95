"""Vector tiles of a layer: features in the tile with their class, tiny features collapsed at small
zooms, versioned by the layer's seq (ETag), filters and access checks."""
import mapbox_vector_tile
import morecantile
import pytest

from apps.labeling.layers.geometry import clean_geometry
from apps.labeling.layers.services import NewFeature, features_bulk_create, layer_create

from .test_layers_support import LAT, LON, create, feature, labels, square  # noqa: F401

pytestmark = pytest.mark.django_db
TMS = morecantile.tms.get("WebMercatorQuad")


def tile_url(layer, z, lon=LON, lat=LAT):
    t = TMS.tile(lon, lat, z)
    return f"/api/layers/{layer.pk}/tiles/{t.z}/{t.x}/{t.y}.mvt"


def decode(response):
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/vnd.mapbox-vector-tile"
    layers = mapbox_vector_tile.decode(response.content)
    return layers["features"]["features"] if "features" in layers else []


def test_tile_holds_the_features_with_their_class(team, client_for, labels):
    api = client_for(team.editor)
    a = create(api, labels, feature(square(size=0.0005)))
    b = create(api, labels, feature(square(LON + 0.0006, LAT, size=0.0005), class_value=2))
    create(api, labels, feature(square(LON + 1, LAT + 1)))  # elsewhere
    found = decode(client_for(team.viewer).get(tile_url(labels, 14)))
    assert sorted((f["id"], f["properties"]["class_value"]) for f in found) == [(a["id"], 1), (b["id"], 2)]
    assert all(f["geometry"]["type"] == "Polygon" for f in found)
    x, y = found[0]["geometry"]["coordinates"][0][0]
    assert -64 <= x <= 4096 + 64 and -64 <= y <= 4096 + 64
    assert decode(client_for(team.viewer).get(tile_url(labels, 14, LON + 3, LAT))) == []


def test_tiny_features_become_one_point_per_pixel_at_small_zoom(team, client_for):
    layer = layer_create(user=team.owner, project=team.project, name="Trees", kind="detections",
                         classes=[{"value": 1, "name": "Tree", "color": [0, 255, 0]}])
    features_bulk_create(layer=layer, features=[
        NewFeature(clean_geometry(square(LON + (i % 50) * 0.00003, LAT + (i // 50) * 0.00003, 0.00002)),
                   class_value=1, confidence=i / 2000) for i in range(2000)
    ])
    api = client_for(team.viewer)
    far = decode(api.get(tile_url(layer, 12)))
    assert 0 < len(far) < 50 and all(f["geometry"]["type"] == "Point" for f in far)
    close = decode(api.get(tile_url(layer, 22, LON + 0.00001, LAT + 0.00001)))
    assert close and all(f["geometry"]["type"] == "Polygon" for f in close)
    top_right = (LON + 49 * 0.00003, LAT + 39 * 0.00003)  # where the most confident ones are
    confident = decode(api.get(tile_url(layer, 20, *top_right), {"min_confidence": "0.9"}))
    assert confident and all(f["properties"]["confidence"] >= 0.9 for f in confident)
    assert len(decode(api.get(tile_url(layer, 20, *top_right)))) > len(confident)


def test_tiles_are_versioned_by_the_layer_seq(team, client_for, labels):
    api = client_for(team.editor)
    created = create(api, labels)
    first = api.get(tile_url(labels, 18))
    etag = first["ETag"]
    assert api.get(tile_url(labels, 18), HTTP_IF_NONE_MATCH=etag).status_code == 304
    api.delete(f"/api/layers/{labels.pk}/features/{created['id']}/", HTTP_IF_MATCH="1")
    after = api.get(tile_url(labels, 18), HTTP_IF_NONE_MATCH=etag)
    assert after.status_code == 200 and after["ETag"] != etag
    assert decode(after) == []


def test_tile_access(team, client_for, labels):
    assert client_for(team.outsider).get(tile_url(labels, 10)).status_code == 404
    assert client_for(None).get(tile_url(labels, 10)).status_code == 401
    assert client_for(team.viewer).get(f"/api/layers/{labels.pk}/tiles/3/9/1.mvt").status_code == 404
