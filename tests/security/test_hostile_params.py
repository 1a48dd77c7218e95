"""Malformed ids, query values, boolean strings and oversize job parameters (issue 14): each is a
400 naming the field (never a 500), and no job is created."""
from __future__ import annotations

import pytest

from apps.jobs.models import Job
from apps.labeling.models import Layer
from tests.models.test_inference_jobs import corner_extent, far_extent, ready_raster, start, tiny_package

pytestmark = pytest.mark.django_db(transaction=True)

HUGE = "99999999999999999999"
PATHS = [
    ("get", "/api/layers/abc/", "id:"),
    ("post", "/api/jobs/abc/cancel/", "id:"),
    ("patch", "/api/projects/abc/", "id:"),
    ("get", f"/api/rasters/{HUGE}/", "id:"),
    ("get", "/api/projects/-1/", "id:"),
    ("get", "/api/projects/0x10/members/", "id:"),
    ("get", "/api/models/\u00b2/", "id:"),           # a digit to str.isdigit, not to int()
    ("get", f"/api/layers/{HUGE}/features/", "layer_id:"),
    ("get", f"/api/layers/{HUGE}/tiles/1/0/0.mvt", "layer_id:"),
    ("get", f"/api/rasters/{HUGE}/tiles/1/0/0.png", "raster_id:"),
    ("get", f"/api/rasters/{HUGE}/tilejson.json", "raster_id:"),
    ("get", "/api/jobs/?project=x", "project:"),
    ("get", "/api/rasters/?project=x", "project:"),
    ("get", f"/api/datasets/?project={HUGE}", "project:"),
    ("get", "/api/models/?project=%C2%B2", "project:"),
    ("get", "/api/layers/?project=1.5", "project:"),
    ("get", "/api/training/start/?model_type=FasterRCNN&pretrained_model=x", "pretrained_model:"),
]


@pytest.mark.parametrize("method, url, field", PATHS)
def test_malformed_ids_and_query_values_are_400_naming_the_field(team, client_for, method, url, field):
    response = getattr(client_for(team.owner), method)(url, {}, format="json") if method != "get" else \
        client_for(team.owner).get(url)
    assert response.status_code == 400, (url, response.status_code, response.content[:300])
    assert response.json()["detail"].startswith(field), response.json()


FEATURE_QUERIES = [("limit", HUGE), ("limit", "0"), ("since", HUGE), ("since", "-1"), ("class_value", HUGE),
                   ("min_confidence", "nan"), ("bbox", "1,2,3"), ("limit", "1e3")]


@pytest.mark.parametrize("name, value", FEATURE_QUERIES)
def test_feature_query_values_out_of_range_are_400(team, client_for, name, value):
    layer = Layer.objects.filter(project=team.project).first()
    response = client_for(team.owner).get(f"/api/layers/{layer.pk}/features/", {name: value})
    assert response.status_code == 400, response.content
    assert response.json()["detail"].startswith(f"{name}:")


# job params ----------------------------------------------------------------------------------------
@pytest.fixture
def detections_layer(team):
    from apps.labeling.layers.services import layer_create

    return layer_create(user=team.owner, project=team.project, name="raw", kind="detections")


@pytest.mark.parametrize("value, expected", [("false", False), ("true", True), ("0", False), (False, False),
                                             (True, True)])
def test_boolean_strings_mean_what_they_say(team, client_for, data_dir, detections_layer, value, expected):
    response = start(client_for(team.owner), team.project, "non_max_suppression",
                     {"in_layer": detections_layer.pk, "class_agnostic": value})
    assert response.status_code == 201, response.content
    assert response.json()["params"]["class_agnostic"] is expected


def test_a_boolean_that_is_not_one_is_400(team, client_for, data_dir, detections_layer):
    response = start(client_for(team.owner), team.project, "non_max_suppression",
                     {"in_layer": detections_layer.pk, "class_agnostic": "maybe"})
    assert response.status_code == 400 and response.json()["detail"].startswith("params.class_agnostic:")
    assert Job.objects.count() == 0


@pytest.fixture
def inference(team, client_for, data_dir, run_jobs, tmp_path):
    api = client_for(team.owner)
    raster = ready_raster(api, team.project, run_jobs)
    model = tiny_package(team.project, team.owner, tmp_path / "ssd")
    Job.objects.all().delete()
    return api, raster, model


def _detect(raster: int, model: int, **extra):
    return {"in_raster": raster, "in_model": model, "processing_extent": corner_extent(128),
            "arguments": {"padding": 16, "batch_size": 8, "threshold": 0.0}, **extra}


@pytest.mark.parametrize("change, field", [
    ({"arguments": {"batch_size": 1_000_000_000}}, "params.arguments: batch_size"),
    ({"arguments": {"padding": 10_000_000}}, "params.arguments: padding"),
    ({"run_nms": "perhaps"}, "params.run_nms"),
    ({"in_raster": int(HUGE)}, "params.in_raster"),
    ({"in_model": -5}, "params.in_model"),
    ({"processing_extent": far_extent()}, "params.processing_extent"),
])
def test_oversize_or_malformed_detect_params_are_400(team, inference, change, field):
    api, raster, model = inference
    response = start(api, team.project, "detect_objects", {**_detect(raster, model), **change})
    assert response.status_code == 400, response.content
    assert response.json()["detail"].startswith(field), response.json()["detail"]
    assert Job.objects.count() == 0


def test_run_nms_false_is_stored_false(team, inference):
    api, raster, model = inference
    response = start(api, team.project, "detect_objects", _detect(raster, model, run_nms="false"))
    assert response.status_code == 201, response.content
    assert response.json()["params"]["run_nms"] is False


@pytest.mark.parametrize("change, field", [
    ({"processing_extent": far_extent()}, "params.processing_extent"),
    ({"in_rasters": [int(HUGE)]}, "params.in_rasters"),
    ({"in_layer": int(HUGE)}, "params.in_layer"),
])
def test_export_params_off_the_raster_or_oversize_are_400(team, inference, change, field):
    api, raster, _ = inference
    layer = Layer.objects.filter(project=team.project, kind="labels").first()
    params = {"in_rasters": [raster], "in_layer": layer.pk, "metadata_format": "PASCAL_VOC_rectangles", **change}
    response = start(api, team.project, "export_training_data", params)
    assert response.status_code == 400, response.content
    assert response.json()["detail"].startswith(field), response.json()["detail"]
    assert Job.objects.count() == 0
