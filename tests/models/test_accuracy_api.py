"""compute_accuracy through the API on a real worker queue: detections and pixels, the report as
CSV/JSON, TP/FP outcomes, the model's list of runs, permissions and the 400s."""
from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from tests.models.packages import rasterlab_package
from tests.models.test_packages_edit import upload

pytestmark = pytest.mark.django_db(transaction=True)

X0, Y0, S = -82.0, 29.69, 0.0001  # squares of 0.0001 degrees, far apart


def square(i: float, shift: float = 0.0, size: float = S) -> dict:
    x, y = X0 + i * 10 * S + shift, Y0
    return {"type": "Polygon", "coordinates": [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]]}


def layer(project, user, name, rows, kind="labels", source_job=None):
    from apps.labeling.layers.geometry import clean_geometry
    from apps.labeling.layers.services import NewFeature, features_bulk_create, layer_create

    made = layer_create(user=user, project=project, name=name, kind=kind, source_job_id=source_job)
    features_bulk_create(layer=made, features=[
        NewFeature(geometry=clean_geometry(geom), class_value=c, class_name="", confidence=conf)
        for geom, c, conf in rows])
    return made


def classified_raster(project, name, data, cell, source_job=None):
    from apps.labeling.models import Raster
    from apps.labeling.storage import raster_cog_path

    raster = Raster.objects.create(project=project, name=name, kind="classified", status="ready", count=1,
                                   classes=[{"value": 1, "name": "Tree", "color": [0, 200, 0]},
                                            {"value": 2, "name": "Grass", "color": [200, 200, 0]}],
                                   source_job_id=source_job, west=X0, north=Y0, east=X0 + data.shape[1] * cell,
                                   south=Y0 - data.shape[0] * cell)
    path = raster_cog_path(raster.pk)
    path.parent.mkdir(parents=True)
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0], count=1, dtype="uint8",
                       crs="EPSG:4326", transform=from_origin(X0, Y0, cell, cell), nodata=0) as dst:
        dst.write(data, 1)
    return raster


def start(api, project, params: dict):
    return api.post("/api/jobs/", {"kind": "compute_accuracy", "project": project.pk, "params": params}, format="json")


@pytest.fixture
def scene(team, client_for, data_dir, tmp_path):
    """A model, a detect_objects job that 'made' a detections layer with it, and ground truth:
    4 labelled squares; detections hit 0 (0.9) and 1 (0.8, shifted 10%), a false one between (0.7), and
    a duplicate of 0 (0.6). Squares 2 and 3 are missed."""
    from apps.jobs.models import Job

    api = client_for(team.owner)
    model = upload(api, team.project, rasterlab_package(tmp_path / "trees.dlpk"))["id"]
    detect = Job.objects.create(kind="detect_objects", project_id=team.project.pk, status="succeeded",
                                params={"in_model": model, "in_raster": None})
    truth = layer(team.project, team.owner, "Truth", [(square(i), 1, None) for i in range(4)])
    found = layer(team.project, team.owner, "Found", [
        (square(0), 1, 0.9), (square(1, shift=S / 10), 1, 0.8), (square(1.5), 1, 0.7), (square(0, shift=S / 20), 1, 0.6),
    ], kind="detections", source_job=detect.pk)
    return type("Scene", (), {"api": api, "model": model, "truth": truth, "found": found, "team": team})


def test_detections_scored_through_the_api(scene, run_jobs):
    body = start(scene.api, scene.team.project, {"in_detected_features": scene.found.pk,
                                                 "in_ground_truth_features": scene.truth.pk})
    assert body.status_code == 201, body.content
    run_jobs("default")
    job = scene.api.get(f"/api/jobs/{body.json()['id']}/").json()
    assert job["status"] == "succeeded", job
    result = job["result"]
    overall = result["overall"]
    assert (overall["true_positives"], overall["false_positives"], overall["false_negatives"]) == (2, 2, 2)
    assert overall["precision"] == 0.5 and overall["recall"] == 0.5
    # Envelope: recall 0.25 @ 1, 0.5 @ 1 -> all-point AP 0.5.
    assert overall["ap"] == pytest.approx(0.5)
    assert result["classes"][0]["class_name"] == "Tree" and result["classes"][0]["curve"]["recall"][-1] == 0.5
    assert result["outcomes"] == {"true_positives": 2, "false_positives": 2, "missed": 2}

    # Per-feature outcomes for the map.
    outcomes = scene.api.get(f"/api/accuracy/{job['id']}/outcomes/").json()
    ids = list(scene.found.features.order_by("pk").values_list("pk", flat=True))
    truth_ids = list(scene.truth.features.order_by("pk").values_list("pk", flat=True))
    assert sorted(outcomes["true_positives"]) == [ids[0], ids[1]]
    assert sorted(outcomes["false_positives"]) == [ids[2], ids[3]]
    assert sorted(outcomes["missed"]) == truth_ids[2:]

    # CSV and JSON downloads.
    response = scene.api.get(f"/api/accuracy/{job['id']}/report.csv")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    header = rows[1]
    all_row = dict(zip(header, rows[3]))
    assert all_row["class_value"] == "all" and all_row["true_positives"] == "2" and all_row["precision"] == "0.5"
    report = json.loads(scene.api.get(f"/api/accuracy/{job['id']}/report.json").content)
    assert report["result"]["overall"]["f1"] == 0.5 and report["params"]["min_iou"] == 0.5

    # The model's page lists the run with its headline numbers; a stricter IoU is another run.
    strict = start(scene.api, scene.team.project, {"in_detected_features": scene.found.pk,
                                                   "in_ground_truth_features": scene.truth.pk, "min_iou": 0.95})
    run_jobs("default")
    runs = scene.api.get(f"/api/models/{scene.model}/accuracy/").json()["results"]
    assert [r["job"] for r in runs] == [strict.json()["id"], job["id"]]
    assert runs[1]["result"] == "Found" and runs[1]["ground_truth"] == "Truth" and runs[1]["headline"]["f1"] == 0.5
    assert runs[0]["headline"]["precision"] == 0.25 and runs[0]["min_iou"] == 0.95


def test_no_confidence_skips_ap_with_a_note(scene, run_jobs):
    plain = layer(scene.team.project, scene.team.owner, "Drawn", [(square(0), 1, None), (square(3), 1, None)])
    body = start(scene.api, scene.team.project, {"in_detected_features": plain.pk,
                                                 "in_ground_truth_features": scene.truth.pk}).json()
    run_jobs("default")
    result = scene.api.get(f"/api/jobs/{body['id']}/").json()["result"]
    assert result["overall"]["ap"] is None and result["overall"]["true_positives"] == 2
    assert any("AP skipped" in n for n in result["notes"])


def test_bad_input_is_refused_naming_the_field(scene, client_for):
    team = scene.team
    other = layer(team.other_project, team.outsider, "Theirs", [(square(0), 1, None)])
    wrong_class = layer(team.project, team.owner, "Snags", [(square(0), 7, 0.5)], kind="detections")
    points = layer(team.project, team.owner, "Points", [({"type": "Point", "coordinates": [X0, Y0]}, 1, None)])
    cases = [
        ({"in_ground_truth_features": scene.truth.pk}, "in_detected_features"),
        ({"in_detected_features": other.pk, "in_ground_truth_features": scene.truth.pk}, "in_detected_features"),
        ({"in_detected_features": scene.found.pk, "in_ground_truth_features": other.pk}, "in_ground_truth_features"),
        ({"in_detected_features": wrong_class.pk, "in_ground_truth_features": scene.truth.pk}, "in_ground_truth_features"),
        ({"in_detected_features": scene.found.pk, "in_ground_truth_features": scene.truth.pk, "min_iou": 0}, "min_iou"),
        ({"in_detected_features": scene.found.pk, "in_ground_truth_features": scene.found.pk}, "in_ground_truth_features"),
        ({"in_detected_features": scene.found.pk, "in_ground_truth_features": points.pk}, "in_ground_truth_features"),
        ({"in_detected_features": scene.found.pk, "in_ground_truth_features": scene.truth.pk,
          "processing_extent": {"type": "Polygon", "coordinates": []}}, "processing_extent"),
        ({"in_detected_features": scene.found.pk, "in_ground_truth_features": scene.truth.pk,
          "processing_extent": square(500)}, "processing_extent"),  # nowhere near the ground truth
    ]
    for params, field in cases:
        response = start(scene.api, team.project, params)
        assert response.status_code == 400 and f"params.{field}" in response.json()["detail"], (params, response.json())
    # Classes that do not match are named in the message.
    detail = start(scene.api, team.project, cases[3][0]).json()["detail"]
    assert "[7]" in detail and "[1]" in detail
    # A viewer cannot start it; an outsider cannot read the report or the model's runs.
    assert start(client_for(team.viewer), team.project, cases[1][0] | {"in_detected_features": scene.found.pk}
                 ).status_code == 403


def test_reports_are_private_to_the_project(scene, client_for, run_jobs):
    body = start(scene.api, scene.team.project, {"in_detected_features": scene.found.pk,
                                                 "in_ground_truth_features": scene.truth.pk}).json()
    outsider = client_for(scene.team.outsider)
    assert outsider.get(f"/api/accuracy/{body['id']}/report.csv").status_code == 404
    assert scene.api.get(f"/api/accuracy/{body['id']}/report.csv").status_code == 409  # not run yet
    run_jobs("default")
    assert outsider.get(f"/api/accuracy/{body['id']}/outcomes/").status_code == 404
    assert outsider.get(f"/api/models/{scene.model}/accuracy/").status_code == 404
    viewer = client_for(scene.team.viewer)
    assert viewer.get(f"/api/accuracy/{body['id']}/report.json").status_code == 200
    assert len(viewer.get(f"/api/models/{scene.model}/accuracy/").json()["results"]) == 1
    # Not an accuracy job, or not an id at all.
    other_kind = scene.api.get(f"/api/accuracy/{scene.found.source_job_id}/report.csv")
    assert other_kind.status_code == 404 and "detect_objects" in other_kind.json()["detail"]
    for bad in ("abc", "99999999999999999999999", "-1"):
        assert scene.api.get(f"/api/accuracy/{bad}/outcomes/").status_code == 400
        assert scene.api.get(f"/api/models/{bad}/accuracy/").status_code == 400


def test_classified_raster_against_polygons(team, client_for, data_dir, run_jobs):
    from apps.jobs.models import Job

    api = client_for(team.owner)
    made = Job.objects.create(kind="classify_pixels", project_id=team.project.pk, status="succeeded",
                              params={"in_model": 12345, "in_raster": None})
    data = np.ones((100, 100), dtype=np.uint8)
    data[:, 50:] = 2
    raster = classified_raster(team.project, "Classified", data, S / 10, source_job=made.pk)
    # Reference: class 1 over the 60 left columns of the top 20 rows (the last 10 predicted 2).
    w, e, n, s = X0, X0 + 60 * S / 10, Y0, Y0 - 20 * S / 10
    truth = layer(team.project, team.owner, "Land cover",
                  [({"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}, 1, None)])
    body = start(api, team.project, {"in_classified_raster": raster.pk, "in_ground_truth_features": truth.pk})
    assert body.status_code == 201, body.content
    run_jobs("default")
    job = api.get(f"/api/jobs/{body.json()['id']}/").json()
    assert job["status"] == "succeeded", job
    result = job["result"]
    assert result["class_names"] == ["Tree", "Grass"] and result["confusion"] == [[1000, 200], [0, 0]]
    assert result["overall_accuracy"] == pytest.approx(1000 / 1200)
    assert result["classes"][0]["producers_accuracy"] == pytest.approx(1000 / 1200)
    rows = list(csv.reader(io.StringIO(api.get(f"/api/accuracy/{job['id']}/report.csv").content.decode())))
    assert ["Tree", "1000", "200"] in rows and ["overall_accuracy", str(result["overall_accuracy"])] in rows
    assert api.get(f"/api/accuracy/{job['id']}/outcomes/").status_code == 404
    both = start(api, team.project, {"in_classified_raster": raster.pk, "in_ground_truth_features": truth.pk,
                                     "in_reference_raster": raster.pk})
    assert both.status_code == 400 and "params.in_reference_raster" in both.json()["detail"]
    elsewhere = layer(team.project, team.owner, "Elsewhere", [(square(500), 1, None)])
    off = start(api, team.project, {"in_classified_raster": raster.pk, "in_ground_truth_features": elsewhere.pk})
    assert off.status_code == 400 and "lies outside" in off.json()["detail"], off.json()
    from apps.jobs.models import Job as Jobs
    assert Jobs.objects.get(pk=job["id"]).params["model"] == 12345


def test_classified_raster_against_a_reference_raster(team, client_for, data_dir, run_jobs):
    api = client_for(team.owner)
    data = np.ones((100, 100), dtype=np.uint8)
    data[:, 50:] = 2
    result = classified_raster(team.project, "Classified", data, S / 10)
    reference = classified_raster(team.project, "Reference", np.full((50, 50), 2, dtype=np.uint8), S / 5)
    body = start(api, team.project, {"in_classified_raster": result.pk, "in_reference_raster": reference.pk}).json()
    run_jobs("default")
    job = api.get(f"/api/jobs/{body['id']}/").json()
    assert job["status"] == "succeeded", job
    assert job["result"]["confusion"] == [[0, 0], [5000, 5000]] and job["result"]["kappa"] == 0.0
    other = classified_raster(team.other_project, "Theirs", data, S / 10)
    refused = start(api, team.project, {"in_classified_raster": result.pk, "in_reference_raster": other.pk})
    assert refused.status_code == 400 and "params.in_reference_raster" in refused.json()["detail"]


def test_extent_limits_what_is_scored(scene, run_jobs):
    x0, y0 = X0 - S, Y0 - S  # around squares 0 and 1 only (the false detection at 1.5 is outside)
    extent = {"type": "Polygon", "coordinates": [[[x0, y0], [X0 + 12 * S, y0], [X0 + 12 * S, Y0 + 2 * S],
                                                  [x0, Y0 + 2 * S], [x0, y0]]]}
    body = start(scene.api, scene.team.project, {"in_detected_features": scene.found.pk, "processing_extent": extent,
                                                 "in_ground_truth_features": scene.truth.pk}).json()
    run_jobs("default")
    overall = scene.api.get(f"/api/jobs/{body['id']}/").json()["result"]["overall"]
    assert (overall["true_positives"], overall["false_positives"], overall["false_negatives"]) == (2, 1, 0)
