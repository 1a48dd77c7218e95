"""Packages as ArcGIS sees them (issue 15): a ModelExtension package keeps the ModelName ArcGIS
needs while the catalog names its architecture; one .emd, nothing stale, and the size the API
reports is the size of the download, before and after an edit."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from backend.engine.dlpk.interchange import MODEL_CONFIGURATION_FILE, arcgis_fields
from tests.models.packages import PNG, rasterlab_emd, state_dict_bytes, write_zip
from tests.models.test_packages_edit import upload as _upload

pytestmark = pytest.mark.django_db(transaction=True)


def _retinanet(path: Path, extra: dict[str, bytes] | None = None) -> Path:
    """A RetinaNet package as training writes it: arcgis.learn has no RetinaNet, so ArcGIS runs
    it as a ModelExtension (ModelName "ModelExtension", as arcgis.learn's own ModelExtension.save
    writes it, and our ModelConfiguration.py)."""
    fields = arcgis_fields(arch="RetinaNet", backbone="resnet50", model_type="ObjectDetection", bands=3,
                           imagenet=True)
    emd = rasterlab_emd(ModelParameters={"backbone": "resnet50", "rasterlab_arch": "RetinaNet"}, **fields)
    return write_zip(path, {"trees.emd": json.dumps(emd, indent=4), "trees.pth": state_dict_bytes(),
                            MODEL_CONFIGURATION_FILE: "class RasterlabModelConfiguration: pass\n",
                            "ModelCharacteristics/loss_graph.png": PNG, **(extra or {})})


def test_model_extension_package_names_its_architecture(team, client_for, data_dir, tmp_path):
    body = _upload(client_for(team.owner), team.project, _retinanet(tmp_path / "r.dlpk"))
    # model_name is the .emd's ModelName, which ArcGIS needs as "ModelExtension"
    # (arcgis.learn.ModelExtension.from_model); the catalog's architecture says what it is.
    assert body["model_name"] == "ModelExtension" and body["emd"]["ModelName"] == "ModelExtension"
    assert body["architecture"] == "RetinaNet" and body["backbone"] == "resnet50"
    assert body["runnable"] is True and body["family"] == "object_detection"
    listed = client_for(team.owner).get("/api/models/", {"search": "RetinaNet"}).json()
    assert [m["id"] for m in listed["results"]] == [body["id"]]


def test_size_is_the_download_and_an_edit_rewrites_the_one_emd(team, client_for, data_dir, tmp_path):
    api = client_for(team.owner)
    # An old Rasterlab package with a stale inner copy of itself (before issue 15).
    body = _upload(api, team.project, _retinanet(tmp_path / "r.dlpk", {"trees.dlpk": b"stale inner copy"}))
    download = b"".join(api.get(f"/api/models/{body['id']}/download/").streaming_content)
    assert body["size"] == len(download)

    edited = api.patch(f"/api/models/{body['id']}/", {"description": "edited"}, format="json")
    assert edited.status_code == 200, edited.content
    download = b"".join(api.get(f"/api/models/{body['id']}/download/").streaming_content)
    assert edited.json()["size"] == len(download) < body["size"]
    stored = data_dir / "models" / str(body["id"]) / "package.dlpk"
    with zipfile.ZipFile(stored) as archive:
        names = archive.namelist()
        assert sorted(names) == ["ModelCharacteristics/loss_graph.png", MODEL_CONFIGURATION_FILE,
                                 "trees.emd", "trees.pth"]
        assert json.loads(archive.read("trees.emd"))["Description"] == "edited"
