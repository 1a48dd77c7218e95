"""Import GeoJSON / GeoPackage / zipped Shapefile in any CRS (all or nothing), as a job when large;
export GeoJSON and GeoPackage that GDAL reads back."""
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pyogrio
import pyogrio.raw
import pytest
import shapely
from pyproj import Transformer

from apps.labeling.models import Feature, Layer

from .test_layers_support import create, feature, labels, square  # noqa: F401

DATA = Path(__file__).resolve().parents[1] / "data"
pytestmark = pytest.mark.django_db


def upload(api, layer, path: Path, name: str | None = None, **fields):
    with open(path, "rb") as handle:
        content = io.BytesIO(handle.read())
    content.name = name or path.name
    return api.post(f"/api/layers/{layer.pk}/import/", {"file": content, **fields}, format="multipart")


def write_vector(path: Path, driver: str, crs: str, geoms, **columns) -> Path:
    names = list(columns)
    pyogrio.raw.write(str(path), np.array(shapely.to_wkb(geoms), dtype=object), [np.asarray(v) for v in columns.values()],
                      names, driver=driver, crs=crs, geometry_type="Polygon")
    return path


def utm_boxes(n: int = 3, x0: float = 404230.0, y0: float = 3285130.0):
    return [shapely.box(x0 + 5 * i, y0, x0 + 5 * i + 2, y0 + 2) for i in range(n)]


def test_geojson_in_utm_with_class_names_is_reprojected(team, client_for, labels, data_dir):
    response = upload(client_for(team.editor), labels, DATA / "OSBS_029.geojson", class_field="label")
    assert response.status_code == 201, response.content
    assert response.json()["count"] == 61
    assert Layer.objects.get(pk=labels.pk).feature_count == 61
    source = json.loads((DATA / "OSBS_029.geojson").read_text())["features"][0]
    to_4326 = Transformer.from_crs(32617, 4326, always_xy=True)
    xs, ys = zip(*source["geometry"]["coordinates"][0])
    lons, lats = to_4326.transform(xs, ys)
    lon, lat = min(lons), min(lats)
    first = Feature.objects.filter(layer=labels).order_by("id").first()
    assert (first.minx, first.miny) == pytest.approx((lon, lat), abs=1e-7)
    assert first.class_value == 1 and first.created_by == team.editor
    assert first.attributes["image"] == "OSBS_029.tif"


def test_geopackage_with_class_values_in_web_mercator(team, client_for, labels, data_dir, tmp_path):
    to_3857 = Transformer.from_crs(32617, 3857, always_xy=True)
    geoms = [shapely.transform(g, lambda xy: np.column_stack(to_3857.transform(xy[:, 0], xy[:, 1])))
             for g in utm_boxes()]
    path = write_vector(tmp_path / "samples.gpkg", "GPKG", "EPSG:3857", geoms, cls=np.array([1, 2, 2]),
                        note=np.array(["a", "b", "c"], dtype=object))
    response = upload(client_for(team.editor), labels, path, class_field="cls")
    assert response.status_code == 201, response.content
    values = sorted(Feature.objects.filter(layer=labels).values_list("class_value", flat=True))
    assert values == [1, 2, 2]
    assert all(-82 < f.minx < -81.9 and 29.6 < f.miny < 29.7 for f in Feature.objects.filter(layer=labels))


def test_zipped_shapefile(team, client_for, labels, data_dir, tmp_path):
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    write_vector(shp_dir / "trees.shp", "ESRI Shapefile", "EPSG:32617", utm_boxes(4),
                 kind=np.array(["tree", "Dead", "TREE", "dead"], dtype=object))
    archive = tmp_path / "trees.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in shp_dir.iterdir():
            z.write(part, f"trees/{part.name}")
    response = upload(client_for(team.editor), labels, archive, class_field="kind")
    assert response.status_code == 201, response.content
    assert response.json()["count"] == 4
    assert sorted(Feature.objects.values_list("class_value", flat=True)) == [1, 1, 2, 2]


@pytest.mark.parametrize("content, name, fields, message", [
    (b"hello, not a layer", "notes.txt", {}, "is not a GeoJSON"),
    (b"PK\x05\x06" + b"\0" * 18, "empty.zip", {}, "exactly one .shp"),
    (b'{"type": "FeatureCollection", "features": []}', "empty.geojson", {}, "no features"),
    (None, "OSBS_029.geojson", {"class_field": "image"}, "'OSBS_029.tif' (61)"),
    (None, "OSBS_029.geojson", {"class_field": "species"}, "has no attribute 'species'"),
    (b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"kind": "Tree"}, '
     b'"geometry": {"type": "Point", "coordinates": [1, 2]}}]}', "kind.geojson", {}, "class_field: name the attribute"),
    (b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"label": "Tree"}, '
     b'"geometry": {"type": "LineString", "coordinates": [[1, 2], [2, 3]]}}]}', "line.geojson", {}, "LineString"),
])
def test_bad_files_are_refused_and_nothing_is_imported(team, client_for, labels, data_dir, content, name, fields,
                                                       message):
    api = client_for(team.editor)
    if content is None:
        response = upload(api, labels, DATA / name, **fields)
    else:
        handle = io.BytesIO(content)
        handle.name = name
        response = api.post(f"/api/layers/{labels.pk}/import/", {"file": handle, **fields}, format="multipart")
    assert response.status_code == 400, response.content
    assert message in response.json()["detail"]
    assert Feature.objects.count() == 0 and Layer.objects.get(pk=labels.pk).seq == 0


def test_class_field_is_guessed_when_it_has_a_usual_name(team, client_for, labels, data_dir):
    response = upload(client_for(team.editor), labels, DATA / "SOAP_061.geojson")  # field "label": Dead/Alive
    assert response.status_code == 400  # "Alive" is not in the schema: the guessed field was used
    assert "'Alive'" in response.json()["detail"] and "'label'" in response.json()["detail"]


def test_one_invalid_geometry_fails_the_whole_import_unless_repaired(team, client_for, labels, data_dir, tmp_path):
    bowtie = shapely.Polygon([(404230, 3285130), (404232, 3285132), (404232, 3285130), (404230, 3285132)])
    path = write_vector(tmp_path / "bad.gpkg", "GPKG", "EPSG:32617", [*utm_boxes(2), bowtie], cls=np.array([1, 1, 2]))
    api = client_for(team.editor)
    refused = upload(api, labels, path, class_field="cls")
    assert refused.status_code == 400
    detail = refused.json()["detail"]
    assert "feature 3" in detail and "Self-intersection" in detail and "repair=true" in detail
    assert Feature.objects.count() == 0
    repaired = upload(api, labels, path, class_field="cls", repair="true")
    assert repaired.status_code == 201, repaired.content
    assert repaired.json()["count"] == 3
    assert all(shapely.from_geojson(f.geometry).is_valid for f in Feature.objects.all())


def test_viewers_cannot_import(team, client_for, labels, data_dir):
    assert upload(client_for(team.viewer), labels, DATA / "OSBS_029.geojson", class_field="label").status_code == 403
    assert upload(client_for(team.outsider), labels, DATA / "OSBS_029.geojson").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_large_files_are_imported_by_a_job(team, client_for, labels, data_dir, run_jobs, monkeypatch):
    from apps.labeling.layers import importing

    monkeypatch.setattr(importing, "INLINE_MAX_FEATURES", 10)
    api = client_for(team.editor)
    response = upload(api, labels, DATA / "OSBS_029.geojson", class_field="label")
    assert response.status_code == 202, response.content
    job_id = response.json()["job"]
    run_jobs("default")
    job = api.get(f"/api/jobs/{job_id}/").json()
    assert job["kind"] == "import_features" and job["status"] == "succeeded", job
    assert job["result"] == {"layer": labels.pk, "count": 61}
    assert Feature.objects.filter(layer=labels).count() == 61
    assert not any((data_dir / "imports").iterdir())  # the stored upload is removed
    # The job's upload parameter cannot be pointed at an arbitrary file.
    forged = api.post("/api/jobs/", {"kind": "import_features", "project": team.project.pk,
                                     "params": {"layer": labels.pk, "upload": "../../etc/passwd"}}, format="json")
    assert forged.status_code == 400


def test_export_geojson_and_geopackage_read_back_with_gdal(team, client_for, labels, data_dir, tmp_path):
    api = client_for(team.editor)
    create(api, labels, feature(square(), note="north"))
    create(api, labels, feature({"type": "Point", "coordinates": [-81.99, 29.69]}, class_value=2))
    for fmt in ("geojson", "gpkg"):
        response = client_for(team.viewer).get(f"/api/layers/{labels.pk}/export/", {"format": fmt})
        assert response.status_code == 200
        assert f'filename="Labels.{fmt}"' in response["Content-Disposition"]
        path = tmp_path / f"out.{fmt}"
        path.write_bytes(b"".join(response.streaming_content))
        info = pyogrio.read_info(path)
        assert info["features"] == 2 and info["crs"] == "EPSG:4326"
        _, _, wkb, fields = pyogrio.raw.read(path)
        columns = dict(zip(info["fields"], fields))
        assert sorted(columns["class_name"]) == ["Dead", "Tree"]
        assert sorted(shapely.from_wkb(wkb[i]).geom_type for i in range(2)) == ["Point", "Polygon"]
        assert sorted(int(v) for v in columns["class_value"]) == [1, 2]
        assert "north" in list(columns["note"])
    assert api.get(f"/api/layers/{labels.pk}/export/", {"format": "kml"}).status_code == 400
    assert client_for(team.outsider).get(f"/api/layers/{labels.pk}/export/").status_code == 404


def test_browser_style_import_with_session_and_csrf(team, labels, data_dir):
    """Session auth reads the multipart body for its CSRF check before the view runs: the
    size-limited upload handler must be installed before that (regression: 500 in browsers)."""
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(team.editor)
    browser.get("/")  # the page shell sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    with open(DATA / "OSBS_029.geojson", "rb") as fh:
        response = browser.post(f"/api/layers/{labels.pk}/import/", {"file": fh, "class_field": "label"},
                                HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201, response.content
    assert response.json()["count"] == 61
