"""A package trained on resized chips (rasterlab_resized_from) is run on a raster read that much
coarser unless the user sets cell_size: the planned parts say so and the job runs on that grid."""
from __future__ import annotations

import pytest
import rasterio
import torch

from tests.conftest import DATA

from .test_inference_jobs import CHIP, corner_extent, ready_raster, register_package, rasterlab_emd, start

pytestmark = pytest.mark.django_db(transaction=True)


def test_resized_training_chips_mean_a_coarser_processing_grid(team, client_for, data_dir, run_jobs, tmp_path):
    from apps.jobs.models import Job
    from backend.engine.nets import build_model

    api = client_for(team.owner)
    raster = ready_raster(api, team.project, run_jobs)
    torch.manual_seed(0)
    model = build_model("SingleShotDetector", "mobilenet_v3_large", 1, 3, CHIP, pretrained_backbone=False)
    emd = rasterlab_emd("SingleShotDetector", "ObjectDetection", "mobilenet_v3_large")
    emd["ModelParameters"]["rasterlab_resized_from"] = 2 * CHIP  # 2x bigger chips shrunk to CHIP
    emd["resize_to"] = CHIP
    package = register_package(team.project, team.owner, tmp_path / "ssd", emd, model.state_dict(), "resized")
    params = {"in_raster": raster, "in_model": package, "processing_extent": corner_extent(128), "part_size": 64,
              "arguments": {"padding": 8, "threshold": 0.0}}
    coarse = start(api, team.project, "detect_objects", params)
    assert coarse.status_code == 201, coarse.content
    coarse_parts = coarse.json()["params"]["planned_parts"]
    with rasterio.open(DATA / "OSBS_029.tif") as src:
        native = abs(src.transform.a)
    chosen = start(api, team.project, "detect_objects", {**params, "cell_size": native})
    assert chosen.json()["params"]["planned_parts"] > coarse_parts  # the user's (finer) cell size wins
    run_jobs()
    job = Job.objects.get(pk=coarse.json()["id"])
    assert job.status == "succeeded", job.error
    parts = list(Job.objects.filter(parent_id=job.pk))
    assert len(parts) == coarse_parts > 1
    assert [p.params["part"]["cell_size"] for p in parts] == [pytest.approx(2 * native)] * len(parts)
