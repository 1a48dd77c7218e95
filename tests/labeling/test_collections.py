"""Raster collections and acquisition dates through the API (issue 17)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from rasterio.enums import Resampling

from tests.conftest import DATA

pytestmark = pytest.mark.django_db(transaction=True)


def dated_copy(path: Path, tags: dict[str, str], scale: float = 1.0, source: Path = DATA / "OSBS_029.tif") -> Path:
    """``source`` with ``tags`` (and resampled by ``scale``: another resolution, the same place)."""
    with rasterio.open(source) as src:
        height, width = int(src.height * scale), int(src.width * scale)
        data = src.read(out_shape=(src.count, height, width), resampling=Resampling.nearest)
        profile = src.profile | {"width": width, "height": height,
                                 "transform": src.transform @ src.transform.scale(1 / scale, 1 / scale)}
    profile.pop("blockxsize", None), profile.pop("blockysize", None), profile.update(tiled=False)
    with rasterio.open(path, "w", **profile) as out:
        out.write(data)
        out.update_tags(**tags)
    return path


def upload(api: Any, project: Any, path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        response = api.post("/api/rasters/", {"project": project.pk, "file": fh, "name": path.stem},
                            format="multipart")
    assert response.status_code == 201, response.content
    return dict(response.json())


def test_acquisition_date_read_at_upload_and_editable(team, client_for, data_dir, tmp_path):
    api = client_for(team.editor)
    tagged = upload(api, team.project, dated_copy(tmp_path / "june.tif", {"ACQUISITIONDATE": "2021-06-03"}))
    assert tagged["acquired"] == "2021-06-03T00:00:00Z"
    tiff = upload(api, team.project, dated_copy(tmp_path / "tiff.tif", {"TIFFTAG_DATETIME": "2022:07:01 10:30:00"}))
    assert tiff["acquired"] == "2022-07-01T10:30:00Z"
    plain = upload(api, team.project, DATA / "OSBS_029.tif")
    assert plain["acquired"] is None
    changed = api.patch(f"/api/rasters/{plain['id']}/", {"acquired": "2020-05-01T00:00:00Z", "name": "May"},
                        format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json()["acquired"] == "2020-05-01T00:00:00Z" and changed.json()["name"] == "May"
    assert api.patch(f"/api/rasters/{plain['id']}/", {"acquired": "last spring"}, format="json").status_code == 400
    assert api.patch(f"/api/rasters/{plain['id']}/", {"acquired": None}, format="json").json()["acquired"] is None
    viewer = client_for(team.viewer)
    assert viewer.patch(f"/api/rasters/{plain['id']}/", {"name": "x"}, format="json").status_code == 403
    assert client_for(team.outsider).patch(f"/api/rasters/{plain['id']}/", {"name": "x"},
                                           format="json").status_code == 404


def test_collection_crud_order_and_refusals(team, client_for, data_dir, tmp_path):
    api = client_for(team.editor)
    a = upload(api, team.project, dated_copy(tmp_path / "a.tif", {"ACQUISITIONDATE": "2021-06-03"}))
    b = upload(api, team.project, dated_copy(tmp_path / "b.tif", {"ACQUISITIONDATE": "2020-06-03"}, scale=0.5))
    c = upload(api, team.project, DATA / "rgbn.tif")  # another CRS, resolution and band count
    theirs = upload(client_for(team.outsider), team.other_project, DATA / "OSBS_029.tif")
    made = api.post("/api/collections/", {"project": team.project.pk, "name": "Series",
                                          "rasters": [b["id"], a["id"], c["id"]]}, format="json")
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["rasters"] == [b["id"], a["id"], c["id"]]
    assert [i["acquired"] for i in body["items"]] == ["2020-06-03T00:00:00Z", "2021-06-03T00:00:00Z", None]
    assert {i["crs"] for i in body["items"]} == {"EPSG:32617", "EPSG:32618"}
    pk = body["id"]
    for rasters, word in (([a["id"], a["id"]], "twice"), ([a["id"], theirs["id"]], str(theirs["id"])),
                          ([], "list")):
        refused = api.patch(f"/api/collections/{pk}/", {"rasters": rasters}, format="json")
        assert refused.status_code == 400 and word in refused.json()["detail"], refused.content
    reordered = api.patch(f"/api/collections/{pk}/", {"rasters": [a["id"], b["id"]], "name": "Two"}, format="json")
    assert reordered.json()["rasters"] == [a["id"], b["id"]] and reordered.json()["name"] == "Two"
    listed = api.get(f"/api/collections/?project={team.project.pk}").json()
    assert [c["id"] for c in listed["results"]] == [pk]
    assert client_for(team.outsider).get(f"/api/collections/{pk}/").status_code == 404
    assert client_for(team.viewer).get(f"/api/collections/{pk}/").status_code == 200
    assert client_for(team.viewer).delete(f"/api/collections/{pk}/").status_code == 403
    assert client_for(team.outsider).post("/api/collections/", {"project": team.project.pk, "name": "x",
                                          "rasters": [a["id"]]}, format="json").status_code == 404
    assert api.delete(f"/api/collections/{pk}/").status_code == 204
    assert api.get(f"/api/rasters/{a['id']}/").status_code == 200  # the rasters stay


def test_features_filter_by_raster_and_date(team, client_for, data_dir, tmp_path):
    from apps.labeling.models import Layer, Raster

    api = client_for(team.editor)
    a = upload(api, team.project, dated_copy(tmp_path / "a.tif", {"ACQUISITIONDATE": "2021-06-03"}))
    b = upload(api, team.project, dated_copy(tmp_path / "b.tif", {"ACQUISITIONDATE": "2020-06-03"}))
    layer = Layer.objects.get(project=team.project, kind="labels")
    square = {"type": "Polygon", "coordinates": [[[-82.0, 29.7], [-81.99, 29.7], [-81.99, 29.71], [-82.0, 29.7]]]}
    for raster in (a, b, b):
        posted = api.post(f"/api/layers/{layer.pk}/features/", {"type": "Feature", "geometry": square,
                          "properties": {"class_value": 1, "raster": raster["id"]}}, format="json")
        assert posted.status_code == 201, posted.content
    url = f"/api/layers/{layer.pk}/features/"
    assert len(api.get(f"{url}?raster={b['id']}").json()["features"]) == 2
    assert len(api.get(f"{url}?raster={a['id']},{b['id']}").json()["features"]) == 3
    assert len(api.get(f"{url}?acquired=2021-06-03").json()["features"]) == 1
    assert api.get(f"{url}?acquired=June").status_code == 400
    assert api.get(f"{url}?raster=x").status_code == 400
    assert Raster.objects.filter(acquired__isnull=False).count() == 2


def test_export_training_data_takes_a_collection(team, client_for, data_dir, run_jobs, tmp_path):
    import json

    from apps.labeling.layers.geometry import clean_geometry
    from apps.labeling.layers.services import NewFeature, features_bulk_create
    from apps.labeling.models import Layer

    api = client_for(team.editor)
    a = upload(api, team.project, dated_copy(tmp_path / "a.tif", {"ACQUISITIONDATE": "2021-06-03"}))
    b = upload(api, team.project, dated_copy(tmp_path / "b.tif", {"ACQUISITIONDATE": "2020-06-03"}, scale=0.5))
    run_jobs()
    layer = Layer.objects.get(project=team.project, name="Labels")
    trees = json.loads((DATA / "OSBS_029.4326.geojson").read_text())["features"]
    features_bulk_create(layer=layer, features=[NewFeature(clean_geometry(f["geometry"]), class_value=1)
                                                for f in trees])
    collection = api.post("/api/collections/", {"project": team.project.pk, "name": "Both",
                                                "rasters": [a["id"], b["id"]]}, format="json").json()["id"]
    theirs = client_for(team.outsider).post("/api/collections/", {"project": team.other_project.pk, "name": "x",
                                            "rasters": [upload(client_for(team.outsider), team.other_project,
                                                               DATA / "OSBS_029.tif")["id"]]}, format="json")

    def start(**inputs: Any) -> Any:
        body = {"in_layer": layer.pk, "metadata_format": "PASCAL_VOC_rectangles", "tile_size_x": 200,
                "stride_x": 200, "stride_y": 200, **inputs}
        return api.post("/api/jobs/", {"kind": "export_training_data", "project": team.project.pk, "params": body},
                        format="json")

    refused = start(in_collection=theirs.json()["id"])
    assert refused.status_code == 400 and "in this project" in refused.json()["detail"]
    both = start(in_collection=collection, in_rasters=[a["id"]])
    assert both.status_code == 400 and "one of the two" in both.json()["detail"]
    response = start(in_collection=collection)
    assert response.status_code == 201, response.content
    assert response.json()["params"]["in_rasters"] == [a["id"], b["id"]]
    run_jobs()
    job = api.get(f"/api/jobs/{response.json()['id']}/").json()
    assert job["status"] == "succeeded", job["error"]
