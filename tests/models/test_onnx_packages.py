"""ONNX and TorchScript packages through the API (issue 18): upload (inputs/outputs shown, shapes
that do not fit the .emd refused with 400 naming both sides), TorchScript behind an admin setting,
export of a Rasterlab model to ONNX (job + endpoint), and a real Detect Objects job on ONNX."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.engine.runtimes.helpers import torch_emd, torch_package
from tests.models.test_inference_jobs import corner_extent, ready_raster, start

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
torch.set_num_threads(1)


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def onnx_unet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from backend.engine.runtimes.export import export_onnx_package

    root = tmp_path_factory.mktemp("unet")
    emd = torch_package(root / "torch", "UnetClassifier")
    export_onnx_package(root / "torch", emd, root / "onnx", "unet")
    return root / "onnx"


def _upload(api: Any, project: Any, data: bytes, name: str = "m.dlpk") -> Any:
    return api.post("/api/models/", {"project": project.pk, "file": io.BytesIO(data), "title": name},
                    format="multipart")


def _package_bytes(folder: Path, **emd_changes: Any) -> bytes:
    emd = json.loads((folder / "unet.emd").read_text())
    emd.update(emd_changes)
    return _zip({"unet.emd": json.dumps(emd).encode(), "unet.onnx": (folder / "unet.onnx").read_bytes()})


def test_onnx_upload_shows_inputs_and_outputs(team, client_for, data_dir, onnx_unet):
    api = client_for(team.owner)
    response = _upload(api, team.project, _package_bytes(onnx_unet))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["framework"] == "ONNX" and body["runnable"] and body["family"] == "pixel_classification"
    io_ = body["model_io"]
    assert io_["runtime"] == "onnx" and io_["opset"] == 17
    assert io_["inputs"] == [{"name": "images", "shape": ["batch", 3, 64, 64], "type": "tensor(float)"}]
    assert io_["outputs"][0]["name"] == "logits" and io_["outputs"][0]["shape"][:2] == ["batch", 3]
    assert io_["io"]["outputs"] == {"logits": "logits"} and io_["io"]["scaling"] == "normalized"


@pytest.mark.parametrize("changes, words", [
    ({"ExtractBands": [0, 1, 2, 3]}, ["takes 3 bands", "ExtractBands lists 4"]),
    ({"ImageHeight": 96, "ImageWidth": 96}, ["height 64", "ImageHeight/ImageWidth is 96"]),
    ({"Classes": [{"Value": 1, "Name": "only"}]}, ["3 class channels", "lists 1 Classes"]),
])
def test_onnx_upload_that_does_not_fit_its_emd_is_400(team, client_for, data_dir, onnx_unet, changes, words):
    from apps.models.package_models import ModelPackage

    api = client_for(team.owner)
    response = _upload(api, team.project, _package_bytes(onnx_unet, **changes))
    assert response.status_code == 400
    for word in words:
        assert word in response.json()["detail"]
    assert not ModelPackage.objects.exists()


def test_onnx_with_custom_operators_is_400(team, client_for, data_dir):
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 64, 64])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 64, 64])
    model = helper.make_model(helper.make_graph([helper.make_node("Evil", ["x"], ["y"], domain="my.ops")], "g", [x], [y]),
                              opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("my.ops", 1)])
    emd = {**torch_emd("UnetClassifier", 1), "Framework": "ONNX", "ModelFile": "evil.onnx"}
    emd.pop("ModelParameters")
    response = _upload(client_for(team.owner), team.project,
                       _zip({"evil.emd": json.dumps(emd).encode(), "evil.onnx": model.SerializeToString()}))
    assert response.status_code == 400 and "custom operators (my.ops)" in response.json()["detail"]


def _torchscript_package(tmp_path: Path) -> bytes:
    from backend.engine.nets import build_model

    torch.manual_seed(0)
    model = build_model("FeatureClassifier", "resnet18", 2, 3, 64, pretrained_backbone=False).eval()
    traced = torch.jit.trace(model, torch.rand(1, 3, 64, 64))
    torch.jit.save(traced, str(tmp_path / "fc.pt"))
    emd = {**torch_emd("FeatureClassifier"), "Framework": "TorchScript", "ModelFile": "fc.pt"}
    emd.pop("ModelParameters")
    return _zip({"fc.emd": json.dumps(emd).encode(), "fc.pt": (tmp_path / "fc.pt").read_bytes()})


def test_torchscript_is_refused_unless_an_admin_allows_it(team, client_for, data_dir, tmp_path, settings):
    api = client_for(team.owner)
    data = _torchscript_package(tmp_path)
    settings.ALLOW_TORCHSCRIPT = False
    body = _upload(api, team.project, data, "off.dlpk").json()
    assert body["runnable"] is False and "RASTERLAB_ALLOW_TORCHSCRIPT" in body["runnable_reason"]
    assert body["model_io"] == {}  # never opened
    info = api.get(f"/api/models/{body['id']}/info/").json()
    assert info["runnable"] is False and "can run code" in info["runnable_reason"]

    from apps.labeling.models import Layer

    layer = Layer.objects.create(project=team.project, name="houses")
    job = {"kind": "classify_objects", "project": team.project.pk, "params": {"in_model": body["id"], "in_layer": layer.pk}}
    refused = api.post("/api/jobs/", job, format="json")
    assert refused.status_code == 400 and "cannot run" in refused.json()["detail"]

    settings.ALLOW_TORCHSCRIPT = True
    assert api.get(f"/api/models/{body['id']}/").json()["runnable"] is True  # the setting as it is now
    later = api.post("/api/jobs/", job, format="json")  # jobs follow the setting as it is now too
    assert "cannot run" not in later.json().get("detail", ""), later.content
    api.delete(f"/api/models/{body['id']}/")
    body = _upload(api, team.project, data, "on.dlpk").json()
    assert body["runnable"] is True, body
    assert body["model_io"]["runtime"] == "torchscript"
    assert body["model_io"]["outputs"] == [{"name": "output", "shape": [1, 2], "type": "tensor(float32)"}]


def test_export_to_onnx_then_detect_objects_with_it(team, client_for, data_dir, run_jobs, tmp_path):
    from apps.models.packages.services import model_package_create_from_folder
    from apps.labeling.models import Feature

    api = client_for(team.owner)
    raster = ready_raster(api, team.project, run_jobs)
    torch_package(tmp_path / "frcnn", "FasterRCNN", classes=1)
    source = model_package_create_from_folder(project=team.project, user=team.owner, folder=tmp_path / "frcnn",
                                              title="Trees")
    assert client_for(team.viewer).post(f"/api/models/{source.pk}/export-onnx/", {}, format="json").status_code == 403
    response = api.post(f"/api/models/{source.pk}/export-onnx/", {}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["kind"] == "export_onnx"
    run_jobs()
    job = api.get(f"/api/jobs/{response.json()['id']}/").json()
    assert job["status"] == "succeeded", job
    result = job["result"]
    assert result["max_difference"] <= result["tolerance"]["probability"]
    assert result["max_box_difference"] <= result["tolerance"]["box_px"]
    exported = api.get(f"/api/models/{result['model']}/").json()
    assert exported["framework"] == "ONNX" and exported["title"] == "Trees (ONNX)" and exported["source"] == "export"
    assert exported["runnable"] and [o["name"] for o in exported["model_io"]["outputs"]] == ["boxes", "scores", "labels"]
    again = start(api, team.project, "export_onnx", {"in_model": result["model"]})
    assert again.status_code == 400 and "already a ONNX model" in again.json()["detail"]

    counts = {}
    for model in (source.pk, result["model"]):
        params = {"in_raster": raster, "in_model": model, "processing_extent": corner_extent(128),
                  "arguments": {"padding": 16, "batch_size": 4, "threshold": 0.05}, "run_nms": True,
                  "max_overlap_ratio": 0.3, "out_name": f"m{model}"}
        body = start(api, team.project, "detect_objects", params).json()
        run_jobs()
        job = api.get(f"/api/jobs/{body['id']}/").json()
        assert job["status"] == "succeeded", job
        counts[model] = Feature.objects.filter(layer_id=job["result"]["layer"]).count()
    assert counts[source.pk] == counts[result["model"]] > 0
