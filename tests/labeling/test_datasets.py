"""export_training_data through the API: the job, the dataset, its zip and previews, permissions,
and nothing left behind by a failed or cancelled export."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from apps.jobs.models import Job
from apps.labeling.layers.geometry import clean_geometry
from apps.labeling.layers.services import NewFeature, features_bulk_create
from apps.labeling.models import Dataset, Layer
from backend.engine.chips import read_boxes, read_training_folder
from tests.conftest import DATA
from tests.labeling.test_rasters_api import upload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def osbs(team, client_for, data_dir, run_jobs):
    """The team project with OSBS_029 ingested and its 61 trees in the "Labels" layer."""
    raster = upload(client_for(team.owner), team.project, DATA / "OSBS_029.tif").json()
    run_jobs()
    layer = Layer.objects.get(project=team.project, name="Labels")
    trees = json.loads((DATA / "OSBS_029.4326.geojson").read_text())["features"]
    features_bulk_create(layer=layer, features=[NewFeature(clean_geometry(f["geometry"]), class_value=1)
                                                for f in trees])
    return type("Osbs", (), {"raster": raster["id"], "layer": layer.pk, "trees": len(trees)})


def start(api, team, osbs, **params):
    body = {"in_rasters": [osbs.raster], "in_layer": osbs.layer, "metadata_format": "PASCAL_VOC_rectangles",
            "tile_size_x": 200, "stride_x": 200, "stride_y": 200, **params}
    return api.post("/api/jobs/", {"kind": "export_training_data", "project": team.project.pk, "params": body},
                    format="json")


def assert_nothing_left(data_dir: Path) -> None:
    assert Dataset.objects.count() == 0
    root = data_dir / "datasets"
    assert not root.exists() or list(root.iterdir()) == []


def test_export_download_and_preview(team, client_for, data_dir, run_jobs, osbs, tmp_path):
    api = client_for(team.editor)
    response = start(api, team, osbs, out_name="Trees VOC")
    assert response.status_code == 201, response.content
    job_id = response.json()["id"]
    run_jobs()
    job = api.get(f"/api/jobs/{job_id}/").json()
    assert job["status"] == "succeeded", job["error"]
    dataset_id = job["result"]["dataset"]

    viewer = client_for(team.viewer)
    listed = viewer.get(f"/api/datasets/?project={team.project.pk}").json()["results"]
    assert [d["id"] for d in listed] == [dataset_id]
    detail = viewer.get(f"/api/datasets/{dataset_id}/").json()
    assert detail["status"] == "ready" and detail["name"] == "Trees VOC" and detail["job"] == job_id
    assert detail["chip_count"] == 4  # 400 px raster, 200 px tiles, stride 200
    assert detail["tile_size"] == [200, 200] and detail["band_count"] == 3 and detail["dtype"] == "uint8"
    tree = detail["class_stats"][0]
    assert tree["name"] == "Tree" and tree["value"] == 1 and tree["features"] >= osbs.trees  # cut trees count twice
    assert detail["can_delete"] is False and len(detail["samples"]) == 4
    assert (data_dir / "datasets" / str(dataset_id) / "esri_model_definition.emd").exists()

    response = viewer.get(f"/api/datasets/{dataset_id}/download/")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert 'filename="Trees VOC.zip"' in response["Content-Disposition"]
    payload = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        assert archive.testzip() is None
        archive.extractall(tmp_path)
    folder = read_training_folder(tmp_path / "Trees VOC")
    assert folder.metadata_format == "PASCAL_VOC_rectangles" and len(folder.samples) == 4
    assert [c.name for c in folder.classes] == ["Tree"]
    boxes = sum(len(read_boxes(s, folder.metadata_format, folder.classes)) for s in folder.samples)
    assert boxes == tree["features"]

    preview = viewer.get(detail["samples"][0]["preview"])
    assert preview.status_code == 200 and preview["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(preview.content))
    assert image.size == (400, 400)  # 200 px chip enlarged to at least 256
    assert viewer.get(f"/api/datasets/{dataset_id}/preview/99.png").status_code == 404


@pytest.mark.parametrize("fmt", ["Classified_Tiles", "RCNN_Masks", "COCO", "Labeled_Tiles", "KITTI_rectangles"])
def test_other_formats_export_and_preview(team, client_for, data_dir, run_jobs, osbs, fmt):
    api = client_for(team.owner)
    assert start(api, team, osbs, metadata_format=fmt, image_chip_format="PNG",
                 tile_size_x=64, stride_x=400, stride_y=400).status_code == 201
    run_jobs()
    dataset = Dataset.objects.get()
    assert dataset.status == "ready" and dataset.metadata_format == fmt and dataset.chip_count >= 1
    detail = api.get(f"/api/datasets/{dataset.pk}/").json()
    assert api.get(detail["samples"][0]["preview"]).status_code == 200


@pytest.mark.parametrize(("change", "field"), [
    ({"metadata_format": "YOLO"}, "params.metadata_format"),
    ({"tile_size_x": 0}, "params.tile_size_x"),
    ({"stride_y": "a"}, "params.stride_y"),
    ({"min_polygon_overlap_ratio": 2}, "params.min_polygon_overlap_ratio"),
    ({"image_chip_format": "GIF"}, "params.image_chip_format"),
    ({"cell_size": -1}, "params.cell_size"),
    ({"rotation_angle": 400}, "params.rotation_angle"),
    ({"in_rasters": []}, "params.in_rasters"),
    ({"in_rasters": [999999]}, "params.in_rasters"),
    ({"in_layer": 999999}, "params.in_layer"),
    ({"processing_extent": {"type": "Point", "coordinates": [0, 0]}}, "params.processing_extent"),
    ({"colour": "red"}, "params.colour"),
])
def test_bad_params_are_400_naming_the_field(team, client_for, data_dir, run_jobs, osbs, change, field):
    response = start(client_for(team.editor), team, osbs, **change)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(field), response.json()
    assert Job.objects.filter(kind="export_training_data").count() == 0


def test_other_projects_layers_and_rasters_are_refused(team, client_for, data_dir, run_jobs, osbs):
    other_layer = Layer.objects.get(project=team.other_project)
    response = start(client_for(team.editor), team, osbs, in_layer=other_layer.pk)
    assert response.status_code == 400 and "params.in_layer" in response.json()["detail"]


def test_permissions(team, client_for, data_dir, run_jobs, osbs):
    assert start(client_for(team.viewer), team, osbs).status_code == 403
    assert start(client_for(team.outsider), team, osbs).status_code == 404
    assert start(client_for(team.owner), team, osbs).status_code == 201
    run_jobs()
    dataset = Dataset.objects.get()
    outsider = client_for(team.outsider)
    assert outsider.get(f"/api/datasets/?project={team.project.pk}").json()["results"] == []
    for url in ("", "download/", "preview/0.png"):
        assert outsider.get(f"/api/datasets/{dataset.pk}/{url}").status_code == 404
    assert outsider.delete(f"/api/datasets/{dataset.pk}/").status_code == 404
    assert client_for(team.viewer).delete(f"/api/datasets/{dataset.pk}/").status_code == 403
    assert client_for(None).get(f"/api/datasets/{dataset.pk}/").status_code in (401, 403)
    assert client_for(team.editor).delete(f"/api/datasets/{dataset.pk}/").status_code == 204
    assert_nothing_left(data_dir)


def test_failed_export_leaves_nothing(team, client_for, data_dir, run_jobs, osbs):
    # The raster's COG goes bad between validation and the run.
    api = client_for(team.editor)
    assert start(api, team, osbs).status_code == 201
    (data_dir / "rasters" / str(osbs.raster) / "cog.tif").write_bytes(b"not a tiff")
    run_jobs()
    job = Job.objects.get(kind="export_training_data")
    assert job.status == "failed" and job.error
    assert_nothing_left(data_dir)
    assert not any((data_dir / "jobs").iterdir())


def test_cancelled_export_leaves_nothing(team, client_for, data_dir, run_jobs, osbs, monkeypatch):
    from apps.jobs.progress import JobReporter

    api = client_for(team.editor)
    job_id = start(api, team, osbs, tile_size_x=64, stride_x=64).json()["id"]
    monkeypatch.setattr(JobReporter, "should_stop", lambda self: True)  # as if cancelled mid-export
    Job.objects.filter(pk=job_id).update(cancel_requested=True)
    run_jobs()
    assert Job.objects.get(pk=job_id).status == "cancelled"
    assert_nothing_left(data_dir)


def test_exporting_dataset_cannot_be_downloaded_or_deleted(team, client_for, data_dir, osbs):
    dataset = Dataset.objects.create(project=team.project, name="running", job_id=123456,
                                     metadata_format="COCO")
    api = client_for(team.owner)
    assert api.get(f"/api/datasets/{dataset.pk}/").json()["status"] == "exporting"
    assert api.get(f"/api/datasets/{dataset.pk}/download/").status_code == 409
    assert api.delete(f"/api/datasets/{dataset.pk}/").status_code == 409


def test_zip_streams_in_chunks_under_asgi_too(tmp_path):
    import asyncio

    from apps.labeling.api.datasets import ZipStreamResponse
    from apps.labeling.datasets.archive import zip_stream

    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.tif").write_bytes(bytes(range(256)) * 12000)  # 3 MB
    (tmp_path / "map.txt").write_text("images/a.tif labels/a.xml\n")
    chunks = list(zip_stream(tmp_path, prefix="ds"))
    assert len(chunks) > 2 and max(len(c) for c in chunks) < 2 * 1024 * 1024

    async def collect() -> list[bytes]:
        return [part async for part in ZipStreamResponse(zip_stream(tmp_path, prefix="ds"))]

    parts = asyncio.run(collect())
    assert len(parts) == len(chunks)
    with zipfile.ZipFile(io.BytesIO(b"".join(parts))) as archive:
        assert sorted(archive.namelist()) == ["ds/images/a.tif", "ds/map.txt"]
        assert archive.read("ds/images/a.tif") == bytes(range(256)) * 12000


def test_deleting_the_project_removes_dataset_folders(team, client_for, data_dir, run_jobs, osbs):
    from apps.labeling.services import project_delete

    assert start(client_for(team.owner), team, osbs).status_code == 201
    run_jobs()
    folder = data_dir / "datasets" / str(Dataset.objects.get().pk)
    assert folder.is_dir()
    project_delete(user=team.owner, project=team.project)
    assert_nothing_left(data_dir)
