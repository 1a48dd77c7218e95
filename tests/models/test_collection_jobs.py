"""Inference over several rasters and collections (issue 17): one job, one result; refusals name the
raster; change between dates (areas, matrix, matched detections)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from tests.conftest import DATA
from tests.labeling.test_collections import dated_copy
from tests.models.test_inference_jobs import corner_extent, far_extent, job_of, ready_raster, start, tiny_package

pytestmark = pytest.mark.django_db(transaction=True)
torch.set_num_threads(1)


@pytest.fixture
def series(team, client_for, data_dir, run_jobs, tmp_path):
    """Three dated rasters of one place (one at half the resolution) in a collection, and a detector."""
    api = client_for(team.owner)
    paths = [dated_copy(tmp_path / "y2022.tif", {"ACQUISITIONDATE": "2022-06-01"}),
             dated_copy(tmp_path / "y2020.tif", {"TIFFTAG_DATETIME": "2020:06:01 00:00:00"}),
             dated_copy(tmp_path / "y2021.tif", {"ACQUISITIONDATE": "2021-06-01"}, scale=0.5)]
    rasters = [ready_raster(api, team.project, run_jobs, p) for p in paths]
    collection = api.post("/api/collections/", {"project": team.project.pk, "name": "Series", "rasters": rasters},
                          format="json").json()["id"]
    model = tiny_package(team.project, team.owner, tmp_path / "ssd")
    return type("Series", (), {"api": api, "rasters": rasters, "collection": collection, "model": model,
                               "team": team})


def detect(s: Any, **inputs: Any) -> dict[str, Any]:
    return {"in_model": s.model, "processing_extent": corner_extent(128), "part_size": 64,
            "arguments": {"padding": 16, "batch_size": 8, "threshold": 0.0}, "run_nms": True,
            "max_overlap_ratio": 0.3, "out_name": "Trees", **inputs}


def test_detect_objects_over_a_collection_is_one_job_one_layer(series, run_jobs):
    from apps.jobs.models import Job
    from apps.labeling.models import Feature, Layer

    response = start(series.api, series.team.project, "detect_objects", detect(series, in_collection=series.collection))
    assert response.status_code == 201, response.content
    params = response.json()["params"]
    assert params["in_rasters"] == series.rasters and params["in_collection"] == series.collection
    assert params["planned_parts"] == 4 + 4 + 1  # 128 px windows in 64 px parts; the half-resolution one is 64 px
    run_jobs()
    job = job_of(series.api, response.json())
    assert job["status"] == "succeeded", job
    parts = Job.objects.filter(parent_id=job["id"])
    assert parts.count() == 9 and {p.params["in_raster"] for p in parts} == set(series.rasters)
    assert set(job["metrics"]["rasters"]) == {str(r) for r in series.rasters}
    assert all(r["progress"] == 1.0 for r in job["metrics"]["rasters"].values())
    layer = Layer.objects.get(pk=job["result"]["layer"])
    assert Layer.objects.filter(source_job_id=job["id"]).count() == 1
    per_raster = {r: Feature.objects.filter(layer=layer, raster_id=r).count() for r in series.rasters}
    assert all(n > 0 for n in per_raster.values()) and sum(per_raster.values()) == job["result"]["count"]
    body = series.api.get(f"/api/layers/{layer.pk}/features/?acquired=2020-06-01").json()
    assert {f["properties"]["raster"] for f in body["features"]} == {series.rasters[1]}
    assert {f["properties"]["acquired"] for f in body["features"]} == {"2020-06-01T00:00:00Z"}
    # change between the first and the last date (defaults), counted and marked
    change = series.api.get(f"/api/change/{job['id']}/detections/?min_iou=0.5")
    assert change.status_code == 200, change.content
    change = change.json()
    assert change["from"]["raster"] == series.rasters[1] and change["to"]["raster"] == series.rasters[0]
    counts = change["counts"]
    assert counts["persisted"] + counts["disappeared"] == per_raster[series.rasters[1]]
    assert counts["persisted"] + counts["appeared"] == per_raster[series.rasters[0]]
    assert counts["persisted"] > 0  # the same image on both dates: the same trees
    assert {f["properties"]["change"] for f in change["features"]} <= {"persisted", "appeared", "disappeared"}
    same = series.api.get(f"/api/change/{job['id']}/detections/?from={series.rasters[0]}&to={series.rasters[0]}")
    assert same.status_code == 400


def test_one_raster_list_equals_in_raster(series, run_jobs):
    from apps.labeling.models import Feature

    one = start(series.api, series.team.project, "detect_objects", detect(series, in_raster=series.rasters[0])).json()
    listed = start(series.api, series.team.project, "detect_objects",
                   detect(series, in_rasters=[series.rasters[0]])).json()
    run_jobs()
    a, b = job_of(series.api, one), job_of(series.api, listed)
    assert a["status"] == b["status"] == "succeeded"

    def rows(job: dict) -> list:
        return list(Feature.objects.filter(layer_id=job["result"]["layer"]).order_by("minx", "miny")
                    .values_list("geometry", "confidence", "raster_id"))

    assert rows(a) == rows(b)


def test_classify_pixels_writes_one_raster_per_input_and_change_tables(series, run_jobs, tmp_path):
    from apps.labeling.models import Raster

    model = tiny_package(series.team.project, series.team.owner, tmp_path / "unet", name="UnetClassifier",
                         model_type="ImageClassification", backbone="resnet18", classes=2)
    response = start(series.api, series.team.project, "classify_pixels", {
        "in_rasters": series.rasters, "in_model": model, "processing_extent": corner_extent(96),
        "arguments": {"padding": 16, "batch_size": 8}, "part_size": 64, "out_name": "Cover"})
    assert response.status_code == 201, response.content
    run_jobs()
    job = job_of(series.api, response.json())
    assert job["status"] == "succeeded", job
    outputs = list(Raster.objects.filter(source_job_id=job["id"]).order_by("pk"))
    assert [r.pk for r in outputs] == job["result"]["rasters"] and job["result"]["raster"] == outputs[0].pk
    assert job["result"]["sources"] == series.rasters
    assert all(r.kind == "classified" and r.status == "ready" for r in outputs)
    assert [r.acquired.year for r in outputs] == [2022, 2020, 2021]
    assert outputs[0].name.startswith("Cover - ")
    areas = series.api.get(f"/api/change/{job['id']}/areas/").json()
    assert [d["acquired"][:4] for d in areas["dates"]] == ["2020", "2021", "2022"]
    for date in areas["dates"]:
        total = sum(date["areas"].values())
        assert total == pytest.approx(96 * 0.1 * 96 * 0.1, rel=0.1)  # the extent, in m²
    matrix = series.api.get(f"/api/change/{job['id']}/matrix/").json()
    assert matrix["from"]["acquired"][:4] == "2020" and matrix["to"]["acquired"][:4] == "2022"
    size = len(matrix["class_values"])
    assert len(matrix["areas"]) == size and all(len(row) == size for row in matrix["areas"])
    assert sum(map(sum, matrix["pixels"])) > 0
    assert series.api.get(f"/api/change/{job['id']}/matrix/?from=999").status_code == 400
    assert series.api.get(f"/api/change/{job['id']}/detections/").status_code == 404  # not a detect_objects job
    outsider = series.api.__class__()
    outsider.force_login(series.team.outsider)
    assert outsider.get(f"/api/change/{job['id']}/areas/").status_code == 404


def test_bad_inputs_refused_before_queueing_naming_the_raster(series, team, client_for, run_jobs, tmp_path):
    from apps.jobs.models import Job

    four = ready_raster(series.api, team.project, run_jobs, DATA / "rgbn.tif")  # 4 bands, elsewhere
    wide = ready_raster(series.api, team.project, run_jobs, DATA / "cog.tif")  # uint16, 1 band
    theirs_api = client_for(team.outsider)
    theirs = ready_raster(theirs_api, team.other_project, run_jobs, DATA / "OSBS_029.tif")
    their_collection = theirs_api.post("/api/collections/", {"project": team.other_project.pk, "name": "Theirs",
                                                             "rasters": [theirs]}, format="json").json()["id"]
    one_band = tiny_package(team.project, team.owner, tmp_path / "one", bands=1)
    cases = [
        (detect(series, in_rasters=[series.rasters[0], series.rasters[0]]), "listed twice"),
        (detect(series, in_rasters=[series.rasters[0], theirs]), f"no raster {theirs}"),
        (detect(series, in_collection=their_collection), f"no collection {their_collection} in this project"),
        (detect(series, in_rasters=series.rasters, in_collection=series.collection), "one of"),
        (detect(series, in_rasters=[series.rasters[0], wide], processing_extent=None, in_model=one_band),
         "uint16"),
        (detect(series, in_rasters=[series.rasters[0], four], processing_extent=far_extent()), "'y2022.tif'"),
        (detect(series, in_rasters=[series.rasters[0], four]), "'rgbn.tif'"),  # outside the first's extent
    ]
    for params, word in cases:
        response = start(series.api, team.project, "detect_objects", params)
        assert response.status_code == 400, (word, response.content)
        assert word in response.json()["detail"], (word, response.json())
    four_band_model = tiny_package(team.project, team.owner, tmp_path / "four", bands=4)
    response = start(series.api, team.project, "detect_objects",
                     detect(series, in_collection=series.collection, in_model=four_band_model))
    assert response.status_code == 400 and "'y2022.tif' has 3 band(s)" in response.json()["detail"], response.content
    assert not Job.objects.filter(kind="detect_objects").exists()
