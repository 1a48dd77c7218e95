"""Inference jobs: parts on two real workers, NMS and classify_objects layers, an Esri MaskRCNN."""
from __future__ import annotations

import pytest
import torch

from tests.conftest import wait_for
from tests.models.test_inference_jobs import (
    corner_extent,
    detect_params,
    esri_maskrcnn_emd,
    job_of,
    layer_rows,
    ready_raster,
    register_package,
    start,
    tiny_package,
)

pytestmark = pytest.mark.django_db(transaction=True)
torch.set_num_threads(1)


def square(x: float, y: float, size: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]]}


def make_layer(project, user, boxes):
    from apps.labeling.layers.geometry import clean_geometry
    from apps.labeling.layers.services import NewFeature, features_bulk_create, layer_create

    layer = layer_create(user=user, project=project, name="raw", kind="detections")
    features_bulk_create(layer=layer, features=[
        NewFeature(geometry=clean_geometry(square(x, y, s)), class_value=c, class_name=f"c{c}", confidence=conf)
        for x, y, s, c, conf in boxes])
    return layer


def test_non_max_suppression_makes_a_new_layer(team, client_for, data_dir, run_jobs):
    from apps.labeling.models import Layer

    api = client_for(team.owner)
    layer = make_layer(team.project, team.owner, [
        (-82.0, 29.69, 0.0001, 1, 0.9), (-82.0, 29.69001, 0.0001, 1, 0.8),  # overlap: one goes
        (-82.0, 29.69001, 0.0001, 2, 0.7),  # other class: kept unless class-agnostic
        (-81.99, 29.69, 0.0001, 1, 0.5),  # far away: kept
    ])
    aware = start(api, team.project, "non_max_suppression", {"in_layer": layer.pk, "max_overlap_ratio": 0.5}).json()
    agnostic = start(api, team.project, "non_max_suppression",
                     {"in_layer": layer.pk, "max_overlap_ratio": 0.5, "class_agnostic": True}).json()
    run_jobs()
    a, b = job_of(api, aware), job_of(api, agnostic)
    assert a["status"] == b["status"] == "succeeded", (a, b)
    assert sorted(r[3] for r in layer_rows(a["result"]["layer"])) == [0.5, 0.7, 0.9]
    assert sorted(r[3] for r in layer_rows(b["result"]["layer"])) == [0.5, 0.9]
    assert Layer.objects.get(pk=a["result"]["layer"]).kind == "detections"
    bad = start(api, team.project, "non_max_suppression", {"in_layer": layer.pk, "max_overlap_ratio": 3})
    assert bad.status_code == 400 and "max_overlap_ratio" in bad.json()["detail"]


def test_classify_objects_copies_features_with_classes(team, client_for, data_dir, run_jobs, tmp_path,
                                                       monkeypatch):
    from django.db import connection

    from apps.models.inference import services

    classify = services.classify_objects
    in_transaction: list[bool] = []

    def watched(*args, **kwargs):
        for found in classify(*args, **kwargs):
            in_transaction.append(connection.in_atomic_block)
            yield found

    # The model must never run while the job holds a write transaction (on SQLite: the whole file).
    monkeypatch.setattr(services, "classify_objects", watched)
    api = client_for(team.owner)
    raster = ready_raster(api, team.project, run_jobs)
    model = tiny_package(team.project, team.owner, tmp_path / "fc", name="FeatureClassifier",
                         model_type="ObjectClassification", backbone="resnet18", classes=2)
    extent = corner_extent(40)
    layer = make_layer(team.project, team.owner, [])
    from apps.labeling.layers.geometry import clean_geometry
    from apps.labeling.layers.services import NewFeature, features_bulk_create

    features_bulk_create(layer=layer, features=[NewFeature(geometry=clean_geometry(extent), attributes={"id": 7})])
    response = start(api, team.project, "classify_objects",
                     {"in_raster": raster, "in_layer": layer.pk, "in_model": model})
    assert response.status_code == 201, response.content
    run_jobs()
    job = job_of(api, response.json())
    assert job["status"] == "succeeded", job
    from apps.labeling.models import Feature

    (feature,) = Feature.objects.filter(layer_id=job["result"]["layer"])
    assert feature.class_name in ("Tree", "Dead") and 0 <= feature.confidence <= 1
    assert feature.attributes == {"id": 7}
    assert in_transaction == [False]


@pytest.mark.slow
def test_parts_on_two_real_workers_merge_to_the_one_worker_result(team, client_for, data_dir, run_jobs,
                                                                   start_worker, tmp_path):
    from apps.jobs.models import Job

    api = client_for(team.owner)
    setup = type("S", (), {"raster": ready_raster(api, team.project, run_jobs),
                           "model": tiny_package(team.project, team.owner, tmp_path / "ssd")})
    one = start(api, team.project, "detect_objects", detect_params(setup)).json()
    run_jobs()
    many = start(api, team.project, "detect_objects", detect_params(setup, part_size=64)).json()
    start_worker("long", name="w1")
    start_worker("long", name="w2")
    wait_for(lambda: job_of(api, many)["status"] in ("succeeded", "failed", "cancelled"), timeout=120,
             message="the job on two workers")
    job = job_of(api, many)
    assert job["status"] == "succeeded", job
    assert layer_rows(job_of(api, one)["result"]["layer"]) == layer_rows(job["result"]["layer"])
    workers = set(Job.objects.filter(parent_id=many["id"]).values_list("worker_id", flat=True))
    assert len(workers) >= 2, workers  # the parts were shared


@pytest.mark.slow
def test_esri_maskrcnn_package_runs_end_to_end(team, client_for, data_dir, run_jobs, tmp_path):
    from torchvision.models.detection import maskrcnn_resnet50_fpn

    from apps.labeling.models import Layer

    api = client_for(team.owner)
    raster = ready_raster(api, team.project, run_jobs)
    torch.manual_seed(0)
    reference = maskrcnn_resnet50_fpn(weights=None, weights_backbone=None, num_classes=2)
    state = {k: v for k, v in reference.state_dict().items() if not k.endswith("num_batches_tracked")}
    model = register_package(team.project, team.owner, tmp_path / "mrcnn", esri_maskrcnn_emd(), state, "Esri trees")
    response = start(api, team.project, "detect_objects", {
        "in_raster": raster, "in_model": model, "processing_extent": corner_extent(96),
        "arguments": {"padding": 16, "batch_size": 4, "threshold": 0.0}})
    assert response.status_code == 201, response.content
    run_jobs()
    job = job_of(api, response.json())
    assert job["status"] == "succeeded", job
    layer = Layer.objects.get(pk=job["result"]["layer"])
    assert layer.kind == "detections" and layer.classes[0]["name"] == "Tree"
    assert all(r[2] == "Tree" for r in layer_rows(layer.pk))
