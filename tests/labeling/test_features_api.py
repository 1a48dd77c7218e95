"""Features over the REST API: create, read with filters, versioned edits, validation, resync."""
import pytest

from apps.labeling.models import Feature, Layer

from .test_layers_support import LAT, LON, create, feature, feature_url, features_url, labels, square  # noqa: F401

pytestmark = pytest.mark.django_db


def test_create_returns_the_feature_with_id_and_version(team, client_for, labels):
    created = create(client_for(team.editor), labels, feature(note="by the creek"))
    assert created["type"] == "Feature" and isinstance(created["id"], int)
    props = created["properties"]
    assert props["version"] == 1 and props["class_value"] == 1 and props["class_name"] == "Tree"
    assert props["author"] == "editor" and props["editor"] == "editor" and props["note"] == "by the creek"
    assert created["geometry"]["type"] == "Polygon"
    stored = Feature.objects.get(pk=created["id"])
    assert (stored.minx, stored.miny) == pytest.approx((LON, LAT)) and stored.maxx == pytest.approx(LON + 0.0001)
    layer = client_for(team.viewer).get(f"/api/layers/{labels.pk}/").json()
    assert layer["feature_count"] == 1 and layer["class_counts"] == {"1": 1} and layer["seq"] == 1


def test_list_filters_by_bbox_class_and_confidence(team, client_for, labels):
    api = client_for(team.editor)
    near = create(api, labels, feature(square(LON, LAT)))
    far = create(api, labels, feature(square(LON + 1, LAT + 1), class_value=2))
    point = create(api, labels, feature({"type": "Point", "coordinates": [LON + 0.5, LAT]}))

    def ids(**query):
        response = client_for(team.viewer).get(features_url(labels), query)
        assert response.status_code == 200, response.content
        assert response["Content-Type"] == "application/geo+json"
        body = response.json()
        assert body["type"] == "FeatureCollection" and body["seq"] == 3
        return sorted(f["id"] for f in body["features"])

    assert ids() == sorted([near["id"], far["id"], point["id"]])
    assert ids(bbox=f"{LON - 0.01},{LAT - 0.01},{LON + 0.01},{LAT + 0.01}") == [near["id"]]
    # A box that only overlaps the square's east part still finds it.
    assert ids(bbox=f"{LON + 0.00005},{LAT},{LON + 0.2},{LAT + 0.2}") == [near["id"]]
    assert ids(bbox=f"{LON + 0.4},{LAT - 0.1},{LON + 0.6},{LAT + 0.1}") == [point["id"]]
    assert ids(class_value="2") == [far["id"]]
    assert ids(class_value="1,2") == sorted([near["id"], far["id"], point["id"]])
    bad = client_for(team.viewer).get(features_url(labels), {"bbox": "1,2,3"})
    assert bad.status_code == 400 and "bbox" in bad.json()["detail"]


def test_min_confidence_filters_detections_and_keeps_hand_drawn(team, client_for):
    from apps.labeling.layers.geometry import clean_geometry
    from apps.labeling.layers.services import NewFeature, features_bulk_create, layer_create

    layer = layer_create(user=team.owner, project=team.project, name="Trees (model)", kind="detections",
                         classes=[{"value": 1, "name": "Tree", "color": [0, 255, 0]}])
    features_bulk_create(layer=layer, reason="detections", features=[
        NewFeature(clean_geometry(square(LON + i * 0.001, LAT)), class_value=1, class_name="Tree", confidence=c)
        for i, c in enumerate([0.2, 0.5, 0.9])
    ])
    api = client_for(team.editor)
    hand = create(api, layer, feature(square(LON, LAT + 0.01)))
    body = client_for(team.viewer).get(features_url(layer), {"min_confidence": "0.5"}).json()
    confidences = sorted((f["properties"]["confidence"] or 1.0) for f in body["features"])
    assert confidences == [0.5, 0.9, 1.0]
    assert hand["id"] in [f["id"] for f in body["features"]]
    assert body["features"][0]["properties"]["class_name"] == "Tree"
    assert Layer.objects.get(pk=layer.pk).feature_count == 4


def test_patch_and_delete_need_the_version(team, client_for, labels):
    api = client_for(team.editor)
    created = create(api, labels)
    url = feature_url(labels, created["id"])
    missing = api.patch(url, {"properties": {"class_value": 2}}, format="json")
    assert missing.status_code == 428 and "If-Match" in missing.json()["detail"]
    assert api.delete(url).status_code == 428

    moved = api.patch(url, {"geometry": square(LON + 0.001, LAT)}, format="json", HTTP_IF_MATCH='"1"')
    assert moved.status_code == 200, moved.content
    assert moved.json()["properties"]["version"] == 2 and moved["ETag"] == '"2"'
    assert moved.json()["geometry"]["coordinates"][0][0] == [LON + 0.001, LAT]

    by_body = client_for(team.owner).patch(url, {"properties": {"class_value": 2, "version": 2}}, format="json")
    assert by_body.status_code == 200
    assert by_body.json()["properties"]["class_name"] == "Dead"
    assert by_body.json()["properties"]["editor"] == "owner"
    assert by_body.json()["properties"]["author"] == "editor"

    stale = api.patch(url, {"properties": {"class_value": 1}}, format="json", HTTP_IF_MATCH="2")
    assert stale.status_code == 409
    assert stale.json()["feature"]["properties"]["version"] == 3
    assert stale.json()["feature"]["properties"]["class_value"] == 2
    assert "owner" in stale.json()["detail"] and "version 3" in stale.json()["detail"]

    assert api.delete(url, HTTP_IF_MATCH="2").status_code == 409
    assert api.delete(url, HTTP_IF_MATCH="3").status_code == 204
    assert api.get(url).status_code == 404
    assert api.delete(url, HTTP_IF_MATCH="3").status_code == 404
    assert Layer.objects.get(pk=labels.pk).feature_count == 0


@pytest.mark.parametrize("geometry, message", [
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}, "Self-intersection"),
    ({"type": "LineString", "coordinates": [[0, 0], [1, 1]]}, "not supported"),
    ({"type": "Polygon", "coordinates": []}, "empty"),
    ({"type": "Point", "coordinates": [404234.6, 3285133.9]}, "outside EPSG:4326"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}, "malformed"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [2, 0], [0, 0]]]}, "not valid"),
    ("not a geometry", "not valid JSON"),
    (None, "GeoJSON geometry"),
])
def test_invalid_geometry_is_refused_saying_why(team, client_for, labels, geometry, message):
    response = client_for(team.editor).post(features_url(labels), {"geometry": geometry,
                                                                   "properties": {"class_value": 1}}, format="json")
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert Feature.objects.count() == 0 and Layer.objects.get(pk=labels.pk).seq == 0


@pytest.mark.parametrize("properties, message", [
    ({"class_value": 7}, "7 is not in the class schema"),
    ({}, "required"),
    ({"class_value": "Tree"}, "integer class value"),
    ({"class_value": 1, "raster": 999}, "raster"),
    ({"class_value": 1, "confidence": 3}, "between 0 and 1"),
])
def test_bad_properties_are_refused(team, client_for, labels, properties, message):
    response = client_for(team.editor).post(features_url(labels), {"geometry": square(), "properties": properties},
                                            format="json")
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_permissions(team, client_for, labels):
    created = create(client_for(team.editor), labels)
    url = feature_url(labels, created["id"])
    viewer = client_for(team.viewer)
    assert viewer.get(features_url(labels)).status_code == 200
    assert viewer.post(features_url(labels), feature(), format="json").status_code == 403
    assert viewer.patch(url, {"properties": {"class_value": 2}}, format="json", HTTP_IF_MATCH="1").status_code == 403
    outsider = client_for(team.outsider)
    for response in (outsider.get(features_url(labels)), outsider.get(url),
                     outsider.post(features_url(labels), feature(), format="json"),
                     outsider.delete(url, HTTP_IF_MATCH="1"), outsider.get(f"/api/layers/{labels.pk}/")):
        assert response.status_code == 404
    assert client_for(None).get(features_url(labels)).status_code in (401, 403)


def test_since_returns_changes_and_deleted_ids(team, client_for, labels):
    api = client_for(team.editor)
    kept = create(api, labels)
    start = api.get(features_url(labels)).json()["seq"]
    assert start == 1
    gone = create(api, labels, feature(square(LON + 0.01, LAT)))
    changed = api.patch(feature_url(labels, kept["id"]), {"properties": {"class_value": 2}}, format="json",
                        HTTP_IF_MATCH="1").json()
    assert api.delete(feature_url(labels, gone["id"]), HTTP_IF_MATCH="1").status_code == 204
    fresh = create(api, labels, feature(square(LON + 0.02, LAT)))

    body = api.get(features_url(labels), {"since": start}).json()
    assert body["seq"] == 5
    assert [f["id"] for f in body["features"]] == [kept["id"], fresh["id"]]
    assert body["features"][0]["properties"]["version"] == changed["properties"]["version"] == 2
    assert body["deleted"] == [gone["id"]]
    assert api.get(features_url(labels), {"since": 5}).json()["features"] == []
    assert api.get(features_url(labels), {"since": "yesterday"}).status_code == 400


def test_limit_truncates(team, client_for, labels):
    api = client_for(team.editor)
    for i in range(3):
        create(api, labels, feature(square(LON + i * 0.001, LAT)))
    body = api.get(features_url(labels), {"limit": 2}).json()
    assert len(body["features"]) == 2 and body["truncated"] is True
