"""Editing a package (PATCH rewrites the .emd in the stored file), downloading it, its images
and the inference arguments it takes."""
from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from apps.models.package_models import ModelPackage
from apps.models.packages import services
from tests.models.packages import PNG, feature_classifier, rasterlab_emd, rasterlab_package, read_emd

pytestmark = pytest.mark.django_db(transaction=True)


def upload(api, project, path: Path) -> dict:
    with open(path, "rb") as fh:
        response = api.post("/api/models/", {"file": fh, "project": project.pk}, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()


def patch(api, model_id: int, body: dict):
    return api.patch(f"/api/models/{model_id}/", body, format="json")


@pytest.fixture
def trees(team, client_for, data_dir, tmp_path) -> dict:
    return upload(client_for(team.owner), team.project, rasterlab_package(tmp_path / "trees.dlpk"))


def test_edit_then_download_carries_the_change(team, client_for, trees, data_dir):
    api = client_for(team.editor)
    response = patch(api, trees["id"], {
        "title": "Trees / 2024: final",
        "description": "Crowns of live trees",
        "tags": ["forest", "  OSBS ", "forest"],
        "classes": [{"value": 2, "name": "Dead tree", "color": [10, 20, 30]},
                    {"value": 1, "name": "Tree", "color": [0, 200, 0]}],
        "cell_size": {"min": 0.1, "max": 0.4},
        "argument_defaults": {"threshold": "0.3", "padding": 32},
    })
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["title"] == "Trees / 2024: final" and body["tags"] == ["forest", "OSBS"]
    assert body["classes"][1] == {"value": 2, "name": "Dead tree", "color": [10, 20, 30]}
    assert body["cell_size"] == {"min": 0.1, "max": 0.4, "wkid": 32617}
    assert body["argument_defaults"] == {"threshold": 0.3, "padding": 32}
    assert body["sha256"] != trees["sha256"]

    download = api.get(f"/api/models/{trees['id']}/download/")
    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="Trees _ 2024_ final.dlpk"'
    data = b"".join(download.streaming_content)
    emd = read_emd(data)
    assert emd["Classes"] == [{"Value": 1, "Name": "Tree", "Color": [0, 200, 0]},
                              {"Value": 2, "Name": "Dead tree", "Color": [10, 20, 30]}]
    assert emd["Description"] == "Crowns of live trees"
    assert emd["MinCellSize"] == {"x": 0.1, "y": 0.1, "spatialReference": {"wkid": 32617, "latestWkid": 32617}}
    assert emd["MaxCellSize"]["x"] == 0.4
    assert emd["ArgumentDefaults"] == {"threshold": 0.3, "padding": 32}
    # Unknown keys and untouched fields are kept as they were.
    assert emd["RasterlabTrainingRun"] == {"epochs": 2, "note": "unknown key kept on rewrite"}
    assert emd["ModelParameters"] == trees["emd"]["ModelParameters"]
    assert emd["average_precision_score"] == {"Tree": 0.61}
    # The file's key order is kept (new keys go after the old ones), on every database.
    original = list(rasterlab_emd())
    assert [k for k in emd if k in original] == original
    assert list(emd)[len(original):] == ["ArgumentDefaults", "Description"]  # engine FIELDS order
    # The download is the stored file; every other member is unchanged.
    assert ModelPackage.objects.get(pk=trees["id"]).size == len(data)
    with zipfile.ZipFile(data_dir / "models" / str(trees["id"]) / "package.dlpk") as archive:
        assert archive.read("ModelCharacteristics/loss_graph.png") == PNG
    # The extracted copy (inference reads it) follows the edit.
    extracted = data_dir / "models" / str(trees["id"]) / "extracted" / "trees.emd"
    assert json.loads(extracted.read_text())["Classes"][1]["Name"] == "Dead tree"
    # The info endpoint applies the new defaults.
    info = api.get(f"/api/models/{trees['id']}/info/").json()
    defaults = {a["name"]: a["default"] for a in info["arguments"]}
    assert defaults["threshold"] == 0.3 and defaults["padding"] == 32


def test_renaming_a_class_renames_its_metrics(team, client_for, trees):
    body = patch(client_for(team.owner), trees["id"], {"classes": [
        {"value": 1, "name": "Live tree"}, {"value": 2, "name": "Snag"}]}).json()
    assert body["metrics"]["average_precision_score"] == {"Live tree": 0.61}
    assert body["classes"][0]["color"] == [0, 200, 0]  # no color given: kept


@pytest.mark.parametrize(("body", "message"), [
    ({"classes": [{"value": 1, "name": "Tree"}]}, "this package has 2 classes and 1 were given"),
    ({"classes": [{"value": 1, "name": "A"}, {"value": 3, "name": "B"}]}, "value 3 is not a class of this package"),
    ({"classes": [{"value": 1, "name": "A"}, {"value": 2, "name": "a"}]}, "used twice"),
    ({"classes": [{"value": 1, "name": ""}, {"value": 2, "name": "B"}]}, "classes[0].name: must not be empty"),
    ({"classes": [{"value": 1, "name": "A", "color": [0, 0, 300]}, {"value": 2, "name": "B"}]},
     "classes[0].color: must be [r, g, b]"),
    ({"cell_size": {"min": 2, "max": 1}}, "min (2) must not be larger than max (1)"),
    ({"cell_size": {"min": -1}}, "cell_size.min: must be a number greater than 0"),
    ({"argument_defaults": {"threshold": 2}}, "argument_defaults: threshold must be between 0 and 1"),
    ({"argument_defaults": {"colour": 1}}, "unknown argument 'colour'"),
    ({"argument_defaults": {"padding": 500}}, "padding must be between 0 and 127"),
    ({"model_type": "ImageClassification"}, "model_type: cannot be edited"),
    ({"title": ""}, "title"),
])
def test_bad_edits_are_400_and_change_nothing(team, client_for, trees, data_dir, body, message):
    before = (data_dir / "models" / str(trees["id"]) / "package.dlpk").read_bytes()
    response = patch(client_for(team.owner), trees["id"], body)
    assert response.status_code == 400, response.content
    assert message in response.json()["detail"]
    assert (data_dir / "models" / str(trees["id"]) / "package.dlpk").read_bytes() == before
    assert ModelPackage.objects.get(pk=trees["id"]).emd == trees["emd"]
    assert sorted(p.name for p in (data_dir / "models" / str(trees["id"])).iterdir()) == ["extracted", "package.dlpk"]


def test_a_failed_rewrite_leaves_the_old_package_and_row(team, client_for, trees, data_dir, monkeypatch):
    real_replace = os.replace

    def crash(src, dst):  # the engine wrote the new package; moving it into place fails
        if Path(dst).name == "package.dlpk":
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash)
    path = data_dir / "models" / str(trees["id"]) / "package.dlpk"
    before = path.read_bytes()
    with pytest.raises(OSError):
        services.model_update(user=team.owner, package=ModelPackage.objects.get(pk=trees["id"]),
                              description="never saved")
    assert path.read_bytes() == before
    row = ModelPackage.objects.get(pk=trees["id"])
    assert row.description == "" and row.sha256 == trees["sha256"] and "Description" not in row.emd
    assert sorted(p.name for p in path.parent.iterdir()) == ["extracted", "package.dlpk"]


def test_title_tags_and_sharing_do_not_rewrite_the_file(team, client_for, trees, data_dir):
    path = data_dir / "models" / str(trees["id"]) / "package.dlpk"
    before = path.stat().st_mtime_ns, path.read_bytes()
    body = patch(client_for(team.owner), trees["id"], {"title": "T", "tags": ["a"], "shared": True}).json()
    assert body["shared"] is True and body["sha256"] == trees["sha256"]
    assert (path.stat().st_mtime_ns, path.read_bytes()) == before


def test_info_lists_arguments_with_arcgis_defaults(team, client_for, data_dir, tmp_path):
    api = client_for(team.owner)
    detector = upload(api, team.project, rasterlab_package(tmp_path / "d.dlpk"))
    info = api.get(f"/api/models/{detector['id']}/info/").json()
    assert info["family"] == "object_detection" and info["runnable"] is True
    args = {a["name"]: a for a in info["arguments"]}
    assert list(args) == ["padding", "threshold", "nms_overlap", "batch_size", "exclude_pad_detections",
                          "test_time_augmentation"]
    assert args["padding"]["default"] == 64 and args["padding"]["maximum"] == 127  # ImageHeight 256 // 4
    assert args["threshold"] == {"name": "threshold", "type": "float", "default": 0.5, "minimum": 0.0,
                                 "maximum": 1.0, "choices": None, "description": args["threshold"]["description"]}
    assert args["nms_overlap"]["default"] == 0.1 and args["batch_size"]["default"] == 64
    classifier = upload(api, team.project, feature_classifier(tmp_path / "c.dlpk"))
    info = api.get(f"/api/models/{classifier['id']}/info/").json()
    assert info["family"] == "object_classification"
    assert [a["name"] for a in info["arguments"]] == ["batch_size", "test_time_augmentation"]


def test_images_are_served_from_model_characteristics_only(team, client_for, data_dir, tmp_path):
    api = client_for(team.owner)
    body = upload(api, team.project, feature_classifier(tmp_path / "c.dlpk"))
    image = api.get(body["images"][0]["url"])
    assert image.status_code == 200 and image["Content-Type"] == "image/png" and image.content == PNG
    assert api.get(f"/api/models/{body['id']}/files/woolseyFire_600_50.pth").status_code == 404
    assert api.get(f"/api/models/{body['id']}/files/ArcGISObjectClassifier.py").status_code == 404
    assert api.get(f"/api/models/{body['id']}/files/ModelCharacteristics/../x.png").status_code == 404


def test_extracted_dir_is_made_on_demand_and_after_a_crash(team, client_for, data_dir, tmp_path):
    api = client_for(team.owner)
    body = upload(api, team.project, feature_classifier(tmp_path / "c.dlpk"))
    package = ModelPackage.objects.get(pk=body["id"])
    folder = data_dir / "models" / str(package.pk) / "extracted"
    shutil.rmtree(folder)
    (folder.parent / ".extracting-stale").mkdir()  # a crashed extraction elsewhere is ignored
    assert services.model_extracted_dir(package) == folder
    assert package.model_file == "woolseyFire_600_50.pth"
    assert (folder / package.model_file).is_file() and (folder / package.emd_name).is_file()
    assert services.model_extracted_dir(package) == folder  # second call: already there


def test_create_from_a_training_folder(team, data_dir, tmp_path):
    from tests.models.packages import rasterlab_folder

    folder = rasterlab_folder(tmp_path / "trees")
    (folder / "trees.dlpk").write_bytes(b"training's own zip of this folder")  # issue 15: never nested
    package = services.model_package_create_from_folder(project=team.project, user=team.editor, folder=folder,
                                                        title="Trees (trained)")
    assert package.source == "training" and package.runnable and package.title == "Trees (trained)"
    assert package.images == ["ModelCharacteristics/loss_graph.png"]
    stored = data_dir / "models" / str(package.pk) / "package.dlpk"
    with zipfile.ZipFile(stored) as archive:
        assert sorted(archive.namelist()) == ["ModelCharacteristics/loss_graph.png", "trees.emd", "trees.pth"]
    assert package.size == stored.stat().st_size  # the download size the API reports
    assert (folder / "trees.emd").is_file()  # the folder is left alone
    assert list((data_dir / "tmp").iterdir()) == []


def test_delete_removes_row_and_files(team, client_for, trees, data_dir):
    folder = data_dir / "models" / str(trees["id"])
    assert client_for(team.viewer).delete(f"/api/models/{trees['id']}/").status_code == 403
    assert folder.exists()
    assert client_for(team.editor).delete(f"/api/models/{trees['id']}/").status_code == 204
    assert not ModelPackage.objects.exists() and not folder.exists()


def test_deleting_the_project_removes_its_packages(team, client_for, trees, data_dir):
    assert client_for(team.owner).delete(f"/api/projects/{team.project.pk}/").status_code == 204
    assert not ModelPackage.objects.exists()
    assert not (data_dir / "models" / str(trees["id"])).exists()
