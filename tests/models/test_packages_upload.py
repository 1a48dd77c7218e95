"""Uploading .dlpk packages: real Esri .emd files, validation, limits, untrusted content."""
from __future__ import annotations

import json
import os
import pickle
import zipfile
from pathlib import Path

import pytest

from apps.models.package_models import ModelPackage
from tests.models.packages import (
    EXPORT_EMDS,
    FEATURE_CLASSIFIER_EMD,
    MODEL_EMDS,
    Payload,
    esri_package,
    feature_classifier,
    rasterlab_emd,
    rasterlab_package,
    state_dict_bytes,
    write_zip,
)

pytestmark = pytest.mark.django_db(transaction=True)


def upload(api, project, path: Path, **fields):
    with open(path, "rb") as fh:
        data = {"file": fh, **fields}
        if project is not None:
            data["project"] = project.pk
        return api.post("/api/models/", data, format="multipart")


def assert_nothing_left(data_dir: Path) -> None:
    assert ModelPackage.objects.count() == 0
    models = data_dir / "models"
    assert not models.exists() or list(models.iterdir()) == []
    assert list((data_dir / "tmp").iterdir()) == []


def test_upload_an_esri_feature_classifier(team, client_for, data_dir, tmp_path):
    path = feature_classifier(tmp_path / "woolsey fire.dlpk")
    response = upload(client_for(team.editor), team.project, path)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["title"] == "woolsey fire" and body["project"] == team.project.pk and body["shared"] is False
    assert body["framework"] == "PyTorch" and body["model_type"] == "ObjectClassification"
    assert body["model_name"] == "WoolseyFire_FeatureClassifier" and body["architecture"] == "FeatureClassifier"
    assert body["backbone"] == "resnet34"
    assert body["family"] == "object_classification" and body["runnable"] is True
    assert body["classes"] == [{"value": 1, "name": "Damaged", "color": [17, 157, 34]},
                               {"value": 2, "name": "Undamaged", "color": [158, 187, 171]}]
    assert (body["image_height"], body["image_width"], body["extract_bands"]) == (600, 600, [0, 1, 2])
    assert body["emd"] == json.loads(FEATURE_CLASSIFIER_EMD.read_text())
    assert body["size"] == path.stat().st_size and len(body["sha256"]) == 64
    assert body["created_by"] == "editor" and body["can_edit"] is True
    assert [i["name"] for i in body["images"]] == ["ModelCharacteristics/loss_graph.png",
                                                   "ModelCharacteristics/show_results.png"]
    stored = data_dir / "models" / str(body["id"])
    assert (stored / "package.dlpk").read_bytes() == path.read_bytes()
    # Runnable packages had their weights checked, and keep that extraction for inference.
    assert (stored / "extracted" / "woolseyFire_600_50.pth").is_file()
    assert list((data_dir / "tmp").iterdir()) == []


def test_upload_a_rasterlab_package_with_metrics_and_cell_size(team, client_for, data_dir, tmp_path):
    body = upload(client_for(team.owner), team.project, rasterlab_package(tmp_path / "t.dlpk"), title="Trees v1").json()
    assert body["title"] == "Trees v1" and body["runnable"] is True and body["family"] == "object_detection"
    assert body["cell_size"] == {"min": 0.05, "max": 0.2, "wkid": 32617}
    assert body["metrics"] == {"average_precision_score": {"Tree": 0.61}}
    assert body["emd"]["RasterlabTrainingRun"] == {"epochs": 2, "note": "unknown key kept on rewrite"}


@pytest.mark.parametrize("emd_file", MODEL_EMDS, ids=lambda p: p.stem)
def test_every_real_esri_model_emd_is_accepted(emd_file, team, client_for, data_dir, tmp_path):
    response = upload(client_for(team.owner), team.project, esri_package(tmp_path / "m.dlpk", emd_file))
    assert response.status_code == 201, response.content
    body = response.json()
    package = ModelPackage.objects.get(pk=body["id"])
    assert body["emd"] == json.loads(emd_file.read_text(encoding="utf-8-sig"))
    assert package.model_type == body["model_type"] != ""
    if not body["runnable"]:
        # Stored and downloadable, with a reason a person understands; never extracted.
        assert body["runnable_reason"] and not (data_dir / "models" / str(body["id"]) / "extracted").exists()
    download = client_for(team.owner).get(f"/api/models/{body['id']}/download/")
    assert download.status_code == 200


@pytest.mark.parametrize("emd_file", EXPORT_EMDS, ids=lambda p: p.stem)
def test_export_tool_emds_are_not_model_packages(emd_file, team, client_for, data_dir, tmp_path):
    path = write_zip(tmp_path / "x.dlpk", {emd_file.name: emd_file.read_bytes()})
    response = upload(client_for(team.owner), team.project, path)
    assert response.status_code == 400
    assert "has no ModelType" in response.json()["detail"]
    assert_nothing_left(data_dir)


EMD = json.dumps(rasterlab_emd())


def _symlink(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("trees.emd", EMD)
        archive.writestr("trees.pth", state_dict_bytes())
        link = zipfile.ZipInfo("evil")
        link.create_system = 3
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "/etc/passwd")
    return path


def _bomb(path: Path) -> Path:
    return write_zip(path, {"trees.emd": EMD, "trees.pth": state_dict_bytes(), "pad.bin": b"\0" * (8 << 20)})


BAD = {
    "not a zip": (lambda p: (p.write_text("not a zip at all"), p)[1], "is not a .dlpk package (a zip"),
    "no emd": (lambda p: write_zip(p, {"trees.pth": state_dict_bytes()}), "no .emd file at its root"),
    "two emds": (lambda p: write_zip(p, {"a.emd": EMD, "b.emd": EMD, "trees.pth": b"w"}),
                 "more than one .emd file at its root: a.emd, b.emd"),
    "invalid json": (lambda p: write_zip(p, {"m.emd": '{"ModelType": "ObjectDetection",}'}),
                     "m.emd: the .emd is not valid JSON"),
    "missing model file": (lambda p: write_zip(p, {"m.emd": EMD, "other.pth": b"w"}),
                           "m.emd names ModelFile 'trees.pth', which is not in the package"),
    "unknown model type": (lambda p: write_zip(p, {"m.emd": json.dumps({"ModelType": "Magic"})}),
                           "unknown ModelType 'Magic'"),
    "zip slip": (lambda p: write_zip(p, {"trees.emd": EMD, "trees.pth": b"w", "../../evil.py": b"x"}),
                 "points outside the package"),
    "absolute path": (lambda p: write_zip(p, {"trees.emd": EMD, "trees.pth": b"w", "/etc/evil": b"x"}),
                      "has an absolute path"),
    "symlink": (_symlink, "'evil' is a symbolic link"),
    "zip bomb": (_bomb, "refusing a possible zip bomb"),
    "damaged weights": (lambda p: write_zip(p, {"trees.emd": EMD, "trees.pth": b"not torch"}),
                        "trees.pth: weights must be a plain state_dict"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_archives_are_refused_and_leave_nothing(case, team, client_for, data_dir, tmp_path):
    build, message = BAD[case]
    response = upload(client_for(team.owner), team.project, build(tmp_path / "bad.dlpk"))
    assert response.status_code == 400, response.content
    assert message in response.json()["detail"]
    assert_nothing_left(data_dir)


def test_too_many_members_is_refused(team, client_for, data_dir, tmp_path, monkeypatch):
    from apps.models.packages import services
    from backend.engine.dlpk import PackageLimits

    monkeypatch.setattr(services, "PACKAGE_LIMITS", PackageLimits(max_members=3))
    path = write_zip(tmp_path / "many.dlpk", {"trees.emd": EMD, "trees.pth": state_dict_bytes(),
                                              **{f"extra/{i}.txt": "x" for i in range(5)}})
    response = upload(client_for(team.owner), team.project, path)
    assert response.status_code == 400
    assert "package has 7 members, more than the limit of 3" in response.json()["detail"]
    assert_nothing_left(data_dir)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("how", ["torch.save", "pickle"])
def test_malicious_pickle_is_refused_and_nothing_runs(how, team, client_for, data_dir, tmp_path):
    marker = tmp_path / "pwned"
    payload = {"weight": Payload(marker)}
    weights = state_dict_bytes(payload) if how == "torch.save" else pickle.dumps(payload)
    path = feature_classifier(tmp_path / "evil.dlpk", weights=weights)
    response = upload(client_for(team.owner), team.project, path)
    assert response.status_code == 400, response.content
    assert "woolseyFire_600_50.pth: weights must be a plain state_dict" in response.json()["detail"]
    assert not marker.exists()
    assert_nothing_left(data_dir)
    # The payload is live: unpickling it the ordinary way would have created the marker.
    if how == "pickle":
        pickle.loads(weights)["weight"].close()
        assert marker.exists()


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_weights_of_packages_that_never_run_are_never_read(team, client_for, data_dir, tmp_path):
    marker = tmp_path / "pwned"
    emd = tmp_path / "ssd.emd"
    emd.write_text(json.dumps({**json.loads(FEATURE_CLASSIFIER_EMD.read_text()), "Framework": "Keras"}))
    path = esri_package(tmp_path / "keras.dlpk", emd, weights=pickle.dumps({"w": Payload(marker)}))
    body = upload(client_for(team.owner), team.project, path).json()
    assert body["runnable"] is False and "Keras" in body["runnable_reason"]
    assert not marker.exists()


def test_project_is_required_and_must_be_writable(team, client_for, data_dir, tmp_path):
    path = feature_classifier(tmp_path / "m.dlpk")
    missing = upload(client_for(team.owner), None, path)
    assert missing.status_code == 400 and "project" in missing.json()["detail"]
    assert upload(client_for(team.viewer), team.project, path).status_code == 403
    assert upload(client_for(team.outsider), team.project, path).status_code == 404
    assert_nothing_left(data_dir)


def test_upload_over_the_size_limit_is_413(team, client_for, data_dir, settings, tmp_path):
    settings.MAX_MODEL_UPLOAD_MB = 1
    path = feature_classifier(tmp_path / "big.dlpk", extra={"ModelCharacteristics/big.png": os.urandom(2_300_000)})
    assert path.stat().st_size > 2 * 1024 * 1024
    response = upload(client_for(team.owner), team.project, path)
    assert response.status_code == 413
    assert "upload limit of 1 MB" in response.json()["detail"]
    assert_nothing_left(data_dir)


def test_identical_reupload_is_409_with_the_existing_id(team, client_for, data_dir, tmp_path):
    api = client_for(team.owner)
    path = feature_classifier(tmp_path / "m.dlpk")
    first = upload(api, team.project, path).json()
    again = upload(api, team.project, path)
    assert again.status_code == 409
    assert again.json()["id"] == first["id"] and "already in the project" in again.json()["detail"]
    # Still detected after an edit changed the stored file.
    assert api.patch(f"/api/models/{first['id']}/", {"description": "edited"}, format="json").status_code == 200
    assert upload(api, team.project, path).json()["id"] == first["id"]
    # Another project may hold the same file.
    other = client_for(team.outsider)
    assert upload(other, team.other_project, path).status_code == 201
    assert ModelPackage.objects.count() == 2
    assert list((data_dir / "tmp").iterdir()) == []


def _browser_client(user):
    """A session client that, like a browser, passes Django's CSRF check (which reads the body)."""
    from django.middleware.csrf import _get_new_csrf_string
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    token = _get_new_csrf_string()
    client.cookies["csrftoken"] = token
    client.credentials(HTTP_X_CSRFTOKEN=token)
    return client


def test_browser_upload_with_csrf_check_and_its_size_limit(team, data_dir, settings, tmp_path):
    browser = _browser_client(team.owner)
    assert upload(browser, team.project, feature_classifier(tmp_path / "m.dlpk")).status_code == 201
    settings.MAX_MODEL_UPLOAD_MB = 1
    big = feature_classifier(tmp_path / "big.dlpk", extra={"ModelCharacteristics/big.png": os.urandom(2_300_000)})
    response = upload(browser, team.project, big)
    assert response.status_code == 413, response.content
    assert ModelPackage.objects.count() == 1
    assert list((data_dir / "tmp").iterdir()) == []
