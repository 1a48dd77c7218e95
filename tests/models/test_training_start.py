"""Which start a model will get (GET /api/training/start/), the weights cache (/api/weights/) and
the air-gapped commands (import_weights, fetch_weights). Offline: nothing is ever downloaded."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.files.uploadedfile import SimpleUploadedFile

from backend.engine.nets import weights

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    monkeypatch.setenv("RASTERLAB_OFFLINE", "1")
    return tmp_path / "hub" / "checkpoints"


def _lite0_file() -> Path:
    path = weights.resolve("efficientnet_lite0").path
    assert path is not None
    return path


def test_default_faster_rcnn_starts_pretrained_from_the_registry_package(team, client_for):
    api = client_for(team.viewer)
    start = api.get("/api/training/start/", {"model_type": "FasterRCNN"}).json()
    assert start["backbone"] == "efficientnet_lite0" and start["pretrained"] and start["kind"] == "package"
    assert start["can_import_weights"] is False  # the Train panel offers "Add weights file" to staff only


def test_offline_random_start_says_what_to_do(team, client_for):
    api = client_for(team.viewer)
    start = api.get("/api/training/start/", {"model_type": "FasterRCNN", "backbone_model": "resnet50"}).json()
    assert start["kind"] == "random" and not start["pretrained"]
    assert "import_weights" in start["advice"] and "efficientnet_lite0" in start["advice"]
    assert "--backbone fasterrcnn_resnet50_fpn" in start["advice"]  # a COCO-trained start fits RGB data
    four = api.get("/api/training/start/", {"model_type": "FasterRCNN", "backbone_model": "resnet50", "bands": "4"}).json()
    assert "fasterrcnn_resnet50_fpn" not in four["advice"] and four["scope"] == "backbone"
    assert api.get("/api/training/start/", {"model_type": "FasterRCNN", "bands": "0"}).status_code == 400
    tuned = api.get("/api/training/start/", {"model_type": "FasterRCNN", "pretrained_model": "7"}).json()
    assert tuned["kind"] == "package" and "fine-tunes model package 7" in tuned["summary"]
    bad = api.get("/api/training/start/", {"model_type": "FasterRCNN", "backbone_model": "vgg"})
    assert bad.status_code == 400 and "does not support backbone" in bad.json()["detail"]
    assert api.get("/api/training/start/").status_code == 400
    assert client_for(None).get("/api/training/start/", {"model_type": "FasterRCNN"}).status_code in (401, 403)


def test_admin_uploads_a_weights_file(team, client_for, data_dir, empty_cache, django_user_model):
    admin = django_user_model.objects.create_user(username="admin", password="pw", is_staff=True)
    listing = client_for(team.viewer).get("/api/weights/").json()
    assert {row["backbone"] for row in listing} >= {"resnet50", "efficientnet_lite0"}
    upload = SimpleUploadedFile("lite0.pth", _lite0_file().read_bytes())
    assert client_for(team.owner).post("/api/weights/", {"file": upload}).status_code == 403
    junk = client_for(admin).post("/api/weights/", {"file": SimpleUploadedFile("x.pth", b"junk")})
    assert junk.status_code == 400 and "none of the checkpoints" in junk.json()["detail"]
    upload = SimpleUploadedFile("lite0.pth", _lite0_file().read_bytes())
    response = client_for(admin).post("/api/weights/", {"file": upload})
    assert response.status_code == 201, response.content
    assert (empty_cache / "efficientnet-lite0-57934424.pth").is_file()
    start = client_for(team.viewer).get("/api/training/start/", {"model_type": "FasterRCNN"}).json()
    assert start["kind"] == "cache"
    assert client_for(admin).get("/api/training/start/", {"model_type": "FasterRCNN"}).json()["can_import_weights"] is True
    assert list((data_dir / "tmp").iterdir()) == []  # the upload's temporary file is gone


def test_import_and_fetch_weights_commands(tmp_path, empty_cache, capsys):
    carried = tmp_path / "carry"
    call_command("fetch_weights", str(carried), "--backbone", "efficientnet_lite0")
    assert (carried / "efficientnet-lite0-57934424.pth").is_file()
    with pytest.raises(CommandError, match="RASTERLAB_OFFLINE=1 forbids"):
        call_command("fetch_weights", str(carried), "--backbone", "resnet18")
    call_command("import_weights", str(carried / "efficientnet-lite0-57934424.pth"))
    assert (empty_cache / "efficientnet-lite0-57934424.pth").is_file()
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"junk")
    with pytest.raises(CommandError, match="none of the checkpoints"):
        call_command("import_weights", str(junk))
