"""Inference job kinds through the jobs API: detect objects, classify pixels, parts, cancel, 400s."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import rasterio
import torch
from pyproj import Transformer

from tests.conftest import DATA

pytestmark = pytest.mark.django_db(transaction=True)
torch.set_num_threads(1)
CHIP = 64


def ready_raster(client: Any, project: Any, run_jobs: Any, path: Path = DATA / "OSBS_029.tif") -> int:
    """Upload through the API and ingest (in this process); returns the raster id."""
    with path.open("rb") as fh:
        body = client.post("/api/rasters/", {"project": project.pk, "file": fh, "name": path.name},
                           format="multipart").json()
    run_jobs()
    return int(body["id"])


def rasterlab_emd(name: str, model_type: str, backbone: str, classes: int = 1, bands: int = 3) -> dict[str, Any]:
    names = ["Tree", "Dead", "Alive"]
    return {
        "Framework": "PyTorch", "ModelConfiguration": f"rasterlab.{name}", "ModelType": model_type,
        "ModelFile": "model.pth", "ModelName": name, "ImageHeight": CHIP, "ImageWidth": CHIP,
        "ExtractBands": list(range(bands)),
        "Classes": [{"Value": v + 1, "Name": names[v], "Color": [0, 200, 40 * v]} for v in range(classes)],
        "ModelParameters": {"backbone": backbone, "rasterlab_arch": name},
    }


def esri_maskrcnn_emd() -> dict[str, Any]:
    return {
        "Framework": "arcgis.learn.models._inferencing", "ModelConfiguration": "_maskrcnn_inferencing",
        "InferenceFunction": "ArcGISInstanceDetector.py", "ModelType": "InstanceDetection",
        "ModelFile": "model.pth", "ModelName": "MaskRCNN", "ImageHeight": CHIP, "ImageWidth": CHIP,
        "ExtractBands": [0, 1, 2], "Classes": [{"Value": 1, "Name": "Tree", "Color": [255, 0, 0]}],
        "ModelParameters": {"backbone": "resnet50"}, "MaskRCNNkwargs": {},
    }


def register_package(project: Any, user: Any, folder: Path, emd: dict[str, Any], state: dict[str, Any],
                     title: str) -> int:
    from apps.models.packages.services import model_package_create_from_folder

    folder.mkdir(parents=True, exist_ok=True)
    torch.save(state, folder / "model.pth")
    (folder / "model.emd").write_text(json.dumps(emd))
    package = model_package_create_from_folder(project=project, user=user, folder=folder, title=title)
    assert package.runnable, package.runnable_reason
    return int(package.pk)


def tiny_package(project: Any, user: Any, folder: Path, name: str = "SingleShotDetector",
                 model_type: str = "ObjectDetection", backbone: str = "mobilenet_v3_large",
                 classes: int = 1, bands: int = 3) -> int:
    from backend.engine.nets import build_model

    torch.manual_seed(0)
    model = build_model(name, backbone, classes, bands, CHIP, pretrained_backbone=False)
    emd = rasterlab_emd(name, model_type, backbone, classes, bands)
    return register_package(project, user, folder, emd, model.state_dict(), f"{name} test")


def corner_extent(size: int = 128, offset: int = 0, path: Path = DATA / "OSBS_029.tif") -> dict[str, Any]:
    """A size x size pixel square of the raster (from pixel (offset, offset)) as EPSG:4326 GeoJSON."""
    with rasterio.open(path) as src:
        x0, y1 = src.transform @ (offset, offset)
        x1, y0 = src.transform @ (offset + size, offset + size)
        to4326 = Transformer.from_crs(src.crs, "EPSG:4326", always_xy=True)
    xs, ys = to4326.transform([x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0])
    return {"type": "Polygon", "coordinates": [[[x, y] for x, y in zip(xs, ys)]]}


def far_extent() -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[10, 10], [10.01, 10], [10.01, 10.01], [10, 10.01], [10, 10]]]}



@pytest.fixture
def setup(team, client_for, data_dir, run_jobs, tmp_path):
    api = client_for(team.owner)
    raster = ready_raster(api, team.project, run_jobs)
    model = tiny_package(team.project, team.owner, tmp_path / "ssd")
    return type("Setup", (), {"api": api, "raster": raster, "model": model, "team": team})


def start(api, project, kind: str, params: dict):
    return api.post("/api/jobs/", {"kind": kind, "project": project.pk, "params": params}, format="json")


def detect_params(s, **extra) -> dict:
    params = {"in_raster": s.raster, "in_model": s.model, "processing_extent": corner_extent(128),
              "arguments": {"padding": 16, "batch_size": 8, "threshold": 0.0}, "run_nms": True,
              "max_overlap_ratio": 0.3, "out_name": "Trees"}
    params.update(extra)
    return params


def job_of(api, body: dict) -> dict:
    return api.get(f"/api/jobs/{body['id']}/").json()


def layer_rows(layer_id: int) -> list[tuple]:
    from apps.labeling.models import Feature

    return list(Feature.objects.filter(layer_id=layer_id).order_by("minx", "miny", "class_value")
                .values_list("geometry", "class_value", "class_name", "confidence"))


def test_detect_objects_makes_a_detections_layer(setup, run_jobs):
    from apps.labeling.models import Layer

    response = start(setup.api, setup.team.project, "detect_objects", detect_params(setup))
    assert response.status_code == 201, response.content
    arguments = response.json()["params"]["arguments"]
    assert arguments["padding"] == 16 and arguments["threshold"] == 0.0 and "batch_size" in arguments
    run_jobs()
    job = job_of(setup.api, response.json())
    assert job["status"] == "succeeded", job
    layer = Layer.objects.get(pk=job["result"]["layer"])
    assert layer.kind == "detections" and layer.source_job_id == job["id"] and layer.name == "Trees"
    assert layer.feature_count == job["result"]["count"] > 0
    assert layer.classes[0]["name"] == "Tree"
    rows = layer_rows(layer.pk)
    assert {r[2] for r in rows} == {"Tree"} and all(0 <= r[3] <= 1 for r in rows)
    # served like any layer, with the confidence filter
    top = setup.api.get(f"/api/layers/{layer.pk}/features/?min_confidence=0.99")
    assert top.status_code == 200


def test_parts_run_by_one_worker_merge_to_the_single_part_result(setup, run_jobs):
    from apps.jobs.models import Job

    one = start(setup.api, setup.team.project, "detect_objects", detect_params(setup)).json()
    many = start(setup.api, setup.team.project, "detect_objects", detect_params(setup, part_size=64)).json()
    assert many["params"]["planned_parts"] == 4 and one["params"]["planned_parts"] == 1
    run_jobs()  # one in-process worker: the parent runs its own queued parts (no deadlock)
    a, b = job_of(setup.api, one), job_of(setup.api, many)
    assert a["status"] == b["status"] == "succeeded", (a, b)
    parts = Job.objects.filter(parent_id=b["id"])
    assert parts.count() == 4 and {p.status for p in parts} == {"succeeded"}
    assert layer_rows(a["result"]["layer"]) == layer_rows(b["result"]["layer"])


def test_classify_pixels_makes_a_classified_raster(team, client_for, data_dir, run_jobs, tmp_path):
    from apps.labeling.models import Raster
    from apps.labeling.storage import raster_cog_path

    api = client_for(team.owner)
    raster = ready_raster(api, team.project, run_jobs)
    model = tiny_package(team.project, team.owner, tmp_path / "unet", name="UnetClassifier",
                         model_type="ImageClassification", backbone="resnet18", classes=2)
    response = start(api, team.project, "classify_pixels", {
        "in_raster": raster, "in_model": model, "processing_extent": corner_extent(96),
        "arguments": {"padding": 16, "batch_size": 8}, "part_size": 64})
    assert response.status_code == 201, response.content
    run_jobs()
    job = job_of(api, response.json())
    assert job["status"] == "succeeded", job
    out = Raster.objects.get(pk=job["result"]["raster"])
    assert out.kind == "classified" and out.status == "ready" and out.count == 1
    assert [c["name"] for c in out.classes] == ["Tree", "Dead"]
    with rasterio.open(raster_cog_path(out.pk)) as src:
        assert (src.width, src.height) == (96, 96)
        assert set(map(int, src.read(1).ravel())) <= {0, 1, 2}
    assert api.get(f"/api/rasters/{out.pk}/").json()["kind"] == "classified"


def test_bad_params_are_refused_before_queueing(setup, tmp_path):
    from apps.jobs.models import Job

    four_bands = tiny_package(setup.team.project, setup.team.owner, tmp_path / "four", bands=4)
    cases = [
        (detect_params(setup, in_model=four_bands), "band"),
        (detect_params(setup, processing_extent=far_extent()), "processing_extent"),
        (detect_params(setup, arguments={"threshold": 2}), "threshold"),
        (detect_params(setup, arguments={"nonsense": 1}), "nonsense"),
        (detect_params(setup, in_raster=999999), "in_raster"),
        (detect_params(setup, processor_type="TPU"), "processor_type"),
    ]
    for params, word in cases:
        response = start(setup.api, setup.team.project, "detect_objects", params)
        assert response.status_code == 400, (word, response.content)
        assert word in response.json()["detail"], (word, response.json())
    # a detector is not a pixel classifier
    wrong = start(setup.api, setup.team.project, "classify_pixels",
                  {"in_raster": setup.raster, "in_model": setup.model})
    assert wrong.status_code == 400 and "pixel_classification" in wrong.json()["detail"]
    assert not Job.objects.filter(kind__in=["detect_objects", "classify_pixels"]).exists()


def test_viewer_and_outsider_cannot_run(setup, client_for):
    for user, code in ((setup.team.viewer, 403), (setup.team.outsider, 404)):
        assert start(client_for(user), setup.team.project, "detect_objects", detect_params(setup)).status_code == code


def test_cancel_stops_the_parts_and_leaves_no_layer(setup, run_jobs, monkeypatch):
    from apps.jobs.models import Job
    from apps.labeling.models import Layer
    from apps.models.inference import parts

    body = start(setup.api, setup.team.project, "detect_objects", detect_params(setup, part_size=64)).json()
    real = parts.run_part_work

    def cancel_after_first(params, progress, should_stop):
        result = real(params, progress, should_stop)
        setup.api.post(f"/api/jobs/{body['id']}/cancel/")
        return result

    monkeypatch.setattr(parts, "run_part_work", cancel_after_first)
    run_jobs()
    assert job_of(setup.api, body)["status"] == "cancelled"
    statuses = list(Job.objects.filter(parent_id=body["id"]).values_list("status", flat=True))
    assert statuses.count("succeeded") == 1 and statuses.count("cancelled") == 3
    assert not Layer.objects.filter(source_job_id=body["id"]).exists()
    assert not (Path(parts.settings.DATA_DIR) / "jobs" / str(body["id"])).exists()


def test_a_failed_part_fails_the_job_with_its_error(setup, run_jobs, monkeypatch):
    from apps.labeling.models import Layer
    from apps.models.inference import parts

    body = start(setup.api, setup.team.project, "detect_objects", detect_params(setup, part_size=64)).json()
    real = parts.run_part_work

    def fail_part_two(params, progress, should_stop):
        if params["part"]["index"] == 1:
            raise RuntimeError("disk full")
        return real(params, progress, should_stop)

    monkeypatch.setattr(parts, "run_part_work", fail_part_two)
    run_jobs()
    job = job_of(setup.api, body)
    assert job["status"] == "failed" and "part 2 of 4 failed" in job["error"] and "disk full" in job["error"]
    assert not Layer.objects.filter(source_job_id=body["id"]).exists()


def test_cancel_while_queued(setup):
    body = start(setup.api, setup.team.project, "detect_objects", detect_params(setup)).json()
    assert setup.api.post(f"/api/jobs/{body['id']}/cancel/").json()["status"] == "cancelled"


def test_parts_cannot_be_started_through_the_api(setup):
    params = {"parent_kind": "detect_objects", "in_raster": setup.raster, "in_model": setup.model, "arguments": {},
              "part": {}, "out": "jobs/1/parts/part-00000.ndjson"}
    response = start(setup.api, setup.team.project, "inference_part", params)
    assert response.status_code == 400 and "params.out" in response.json()["detail"]
    assert start(setup.api, setup.team.project, "inference_part",
                 {**params, "out": "../../etc/passwd"}).status_code == 400
