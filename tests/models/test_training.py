"""train_model through the API: a tiny dataset trained for one epoch becomes a downloadable model
package with metrics; bad params are 400s naming the field; permissions; cancel leaves no model."""
from __future__ import annotations

import pytest
import torch

from apps.jobs.models import Job
from apps.labeling.datasets.storage import dataset_dir
from apps.labeling.models import Dataset
from apps.models.models import ModelPackage
from tests.engine.training.exports import write_export

pytestmark = pytest.mark.django_db(transaction=True)
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def empty_torch_hub(tmp_path, monkeypatch):
    """No cached ImageNet checkpoint is ever used (training starts from scratch, fast and offline)."""
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))


def make_dataset(project, *, fmt: str = "PASCAL_VOC_rectangles", status: str = "ready") -> Dataset:
    """A ready dataset row with a tiny export (4 chips of 64 px) in its folder, as the export job leaves it."""
    raster = "SOAP_061" if fmt == "Labeled_Tiles" else "OSBS_029"
    dataset = Dataset.objects.create(project=project, name="Trees", status=status, metadata_format=fmt,
                                     chip_count=4, tile_size_x=64, tile_size_y=64, band_count=3, dtype="uint8",
                                     classes=[{"value": 1, "name": "Tree", "color": [0, 160, 0]}])
    if status == "ready":
        write_export(dataset_dir(dataset.pk), fmt=fmt, raster=raster, chip=64, max_chips=4)
    return dataset


def start(api, project, **params):
    return api.post("/api/jobs/", {"kind": "train_model", "project": project.pk, "params": params}, format="json")


def tiny(dataset: Dataset, **extra):
    return {"in_dataset": dataset.pk, "model_type": "FasterRCNN", "backbone_model": "mobilenet_v3_large",
            "max_epochs": 1, "batch_size": 2, "learning_rate": 1e-3, "validation_percentage": 25,
            "out_name": "Trees v1", **extra}


def test_feature_classifier_trains_one_epoch_into_a_model(team, client_for, data_dir, run_jobs):
    dataset = make_dataset(team.project, fmt="Labeled_Tiles")
    api = client_for(team.editor)
    response = start(api, team.project, **tiny(dataset, model_type="FeatureClassifier", backbone_model="resnet18",
                                                  out_name="Dead or alive"))
    assert response.status_code == 201, response.content
    job_id = response.json()["id"]
    run_jobs()
    job = api.get(f"/api/jobs/{job_id}/").json()
    assert job["status"] == "succeeded", (job["error"], job.get("log"))
    package = ModelPackage.objects.get(pk=job["result"]["model"])
    assert package.title == "Dead or alive" and package.model_type == "ObjectClassification"
    assert "accuracy" in job["result"]["metrics"], job["result"]
    assert "accuracy" in job["result"]["history"][0]["metrics"]
    assert client_for(team.viewer).get(f"/api/models/{package.pk}/download/").status_code == 200


@pytest.mark.slow
def test_train_one_epoch_makes_a_downloadable_model_with_metrics(team, client_for, data_dir, run_jobs):
    dataset = make_dataset(team.project)
    api = client_for(team.editor)
    response = start(api, team.project, **tiny(dataset))
    assert response.status_code == 201, response.content
    job_id = response.json()["id"]
    run_jobs()
    job = api.get(f"/api/jobs/{job_id}/").json()
    assert job["status"] == "succeeded", (job["error"], job.get("log"))
    result = job["result"]
    package = ModelPackage.objects.get(pk=result["model"])
    assert package.title == "Trees v1" and package.source == ModelPackage.Source.TRAINING
    assert package.project_id == team.project.pk and package.created_by == team.editor
    assert package.model_type == "ObjectDetection" and package.runnable
    assert isinstance(result["metrics"], dict) and result["epochs_run"] == 1
    assert [row["epoch"] for row in result["history"]] == [1]
    assert result["history"][0]["train_loss"] is not None
    stored = Job.objects.get(pk=job_id)
    assert stored.metrics["epoch"] == 1 and stored.metrics["history"][0]["epoch"] == 1
    download = client_for(team.viewer).get(f"/api/models/{package.pk}/download/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content)[:2] == b"PK"


@pytest.mark.parametrize(("change", "field"), [
    ({"in_dataset": 999999}, "params.in_dataset"),
    ({"in_dataset": "x"}, "params.in_dataset"),
    ({"model_type": "YOLO"}, "params.model_type"),
    ({"model_type": "UnetClassifier", "backbone_model": None}, "params.model_type"),  # VOC boxes, pixel model
    ({"backbone_model": "vgg16"}, "params.backbone_model"),
    ({"max_epochs": 0}, "params.max_epochs"),
    ({"batch_size": "4"}, "params.batch_size"),
    ({"learning_rate": -1}, "params.learning_rate"),
    ({"validation_percentage": 100}, "params.validation_percentage"),
    ({"stop_training": "yes"}, "params.stop_training"),
    ({"chip_size": 8}, "params.chip_size"),
    ({"processor_type": "TPU"}, "params.processor_type"),
    ({"schedule": "step"}, "params.schedule"),
    ({"pretrained_model": 999999}, "params.pretrained_model"),
    ({"colour": "red"}, "params.colour"),
])
def test_bad_params_are_400_naming_the_field(team, client_for, data_dir, change, field):
    dataset = make_dataset(team.project)
    response = start(client_for(team.editor), team.project, **tiny(dataset, **change))
    assert response.status_code == 400, response.content
    assert response.json()["detail"].startswith(field), response.json()
    assert Job.objects.count() == 0


def test_dataset_still_exporting_is_400(team, client_for, data_dir):
    dataset = make_dataset(team.project, status="exporting")
    response = start(client_for(team.editor), team.project, **tiny(dataset))
    assert response.status_code == 400 and "still being exported" in response.json()["detail"]


def test_incompatible_pretrained_model_is_400(team, client_for, data_dir, tmp_path):
    from tests.models.packages import feature_classifier

    path = feature_classifier(tmp_path / "fc.dlpk")
    with path.open("rb") as fh:
        uploaded = client_for(team.owner).post("/api/models/", {"file": fh, "project": team.project.pk})
    assert uploaded.status_code == 201, uploaded.content
    dataset = make_dataset(team.project)
    response = start(client_for(team.editor), team.project, **tiny(dataset, pretrained_model=uploaded.json()["id"]))
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail.startswith("params.pretrained_model") and "FeatureClassifier" in detail


def test_viewers_and_strangers_cannot_train(team, client_for, data_dir, make_user):
    dataset = make_dataset(team.project)
    assert start(client_for(team.viewer), team.project, **tiny(dataset)).status_code == 403
    assert start(client_for(make_user("stranger")), team.project, **tiny(dataset)).status_code in (403, 404)
    assert Job.objects.count() == 0


def test_gpu_without_a_gpu_fails_clearly(team, client_for, data_dir, run_jobs, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    dataset = make_dataset(team.project)
    api = client_for(team.editor)
    job_id = start(api, team.project, **tiny(dataset, processor_type="GPU")).json()["id"]
    assert Job.objects.get(pk=job_id).queue == "gpu"
    run_jobs("gpu")
    job = api.get(f"/api/jobs/{job_id}/").json()
    assert job["status"] == "failed" and "GPU" in job["error"]
    assert ModelPackage.objects.count() == 0


def test_cancel_mid_training_leaves_no_model(team, client_for, data_dir, run_jobs, monkeypatch):
    import backend.engine.training as training
    from apps.jobs.progress import JobReporter

    monkeypatch.setattr(JobReporter, "CANCEL_CHECK_INTERVAL", 0)
    real_train = training.train

    def train_then_cancel(config, folder, out_dir, progress, should_stop, **kwargs):
        def progress_and_cancel(done, total, message):
            progress(done, total, message)
            Job.objects.update(cancel_requested=True)  # the user presses Cancel after the first batch

        return real_train(config, folder, out_dir, progress_and_cancel, should_stop, **kwargs)

    monkeypatch.setattr(training, "train", train_then_cancel)
    dataset = make_dataset(team.project)
    api = client_for(team.editor)
    job_id = start(api, team.project, **tiny(dataset, max_epochs=3)).json()["id"]
    run_jobs()
    job = api.get(f"/api/jobs/{job_id}/").json()
    assert job["status"] == "cancelled", job
    assert ModelPackage.objects.count() == 0
    models = data_dir / "models"
    assert not models.exists() or not any(p.is_dir() and p.name.isdigit() for p in models.iterdir())
