"""Who sees and changes model packages; the catalog's search and filters."""
from __future__ import annotations

from pathlib import Path

import pytest

from apps.models.packages.selectors import model_get_visible
from backend.api.exceptions import NotFound
from tests.models.packages import MODEL_EMDS, esri_package, feature_classifier, rasterlab_package

pytestmark = pytest.mark.django_db(transaction=True)


def upload(api, project, path: Path, **fields) -> dict:
    with open(path, "rb") as fh:
        response = api.post("/api/models/", {"file": fh, "project": project.pk, **fields}, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [m["id"] for m in response.json()["results"]]


def test_outsiders_cannot_see_unshared_models(team, client_for, data_dir, tmp_path):
    model = upload(client_for(team.owner), team.project, feature_classifier(tmp_path / "m.dlpk"))
    outsider = client_for(team.outsider)
    for url in ("", "download/", "info/", "files/ModelCharacteristics/loss_graph.png"):
        assert outsider.get(f"/api/models/{model['id']}/{url}").status_code == 404, url
    assert outsider.patch(f"/api/models/{model['id']}/", {"title": "x"}, format="json").status_code == 404
    assert outsider.delete(f"/api/models/{model['id']}/").status_code == 404
    assert ids(outsider.get("/api/models/")) == []
    assert ids(outsider.get(f"/api/models/?project={team.project.pk}")) == []
    with pytest.raises(NotFound):
        model_get_visible(team.outsider, model["id"])
    assert client_for(None).get("/api/models/").status_code in (401, 403)


def test_members_see_and_viewers_cannot_edit(team, client_for, data_dir, tmp_path):
    model = upload(client_for(team.editor), team.project, feature_classifier(tmp_path / "m.dlpk"))
    viewer = client_for(team.viewer)
    body = viewer.get(f"/api/models/{model['id']}/").json()
    assert body["can_edit"] is False and body["title"] == "m"
    assert viewer.get(f"/api/models/{model['id']}/download/").status_code == 200
    response = viewer.patch(f"/api/models/{model['id']}/", {"title": "x"}, format="json")
    assert response.status_code == 403 and "Viewers cannot change models" in response.json()["detail"]
    assert viewer.delete(f"/api/models/{model['id']}/").status_code == 403
    assert client_for(team.owner).patch(f"/api/models/{model['id']}/", {"title": "x"},
                                        format="json").status_code == 200


def test_shared_models_are_visible_to_everyone_and_read_only(team, client_for, data_dir, tmp_path):
    owner = client_for(team.owner)
    model = upload(owner, team.project, feature_classifier(tmp_path / "m.dlpk"), shared="true")
    assert model["shared"] is True
    outsider = client_for(team.outsider)
    body = outsider.get(f"/api/models/{model['id']}/").json()
    assert body["can_edit"] is False and body["project_name"] == "Team"
    assert ids(outsider.get("/api/models/")) == [model["id"]]
    assert outsider.get(f"/api/models/{model['id']}/download/").status_code == 200
    assert outsider.get(f"/api/models/{model['id']}/info/").status_code == 200
    assert model_get_visible(team.outsider, model["id"]).pk == model["id"]
    for response in (outsider.patch(f"/api/models/{model['id']}/", {"shared": False}, format="json"),
                     outsider.delete(f"/api/models/{model['id']}/")):
        assert response.status_code == 403
        assert "shared read-only" in response.json()["detail"]
    # Unsharing hides it again.
    assert owner.patch(f"/api/models/{model['id']}/", {"shared": False}, format="json").status_code == 200
    assert outsider.get(f"/api/models/{model['id']}/").status_code == 404


def test_search_and_filters(team, client_for, data_dir, tmp_path):
    api = client_for(team.owner)
    trees = upload(api, team.project, rasterlab_package(tmp_path / "trees.dlpk"), title="Tree crowns")
    fire = upload(api, team.project, feature_classifier(tmp_path / "fire.dlpk"), title="Fire damage")
    keras = upload(api, team.project, esri_package(tmp_path / "k.dlpk", next(p for p in MODEL_EMDS if "KerasObjectClassifier" in p.name)))
    api.patch(f"/api/models/{fire['id']}/", {"tags": ["Woolsey", "wildfire"]}, format="json")
    other = upload(client_for(team.outsider), team.other_project, rasterlab_package(tmp_path / "o.dlpk"))

    assert ids(api.get("/api/models/")) == [keras["id"], fire["id"], trees["id"]]  # newest first
    assert ids(api.get("/api/models/?search=crowns")) == [trees["id"]]
    assert ids(api.get("/api/models/?search=WILDFIRE")) == [fire["id"]]  # tags
    assert ids(api.get("/api/models/?search=resnet34")) == [fire["id"]]  # backbone
    assert ids(api.get("/api/models/?search=fire damage")) == [fire["id"]]  # every word
    assert ids(api.get("/api/models/?model_type=ObjectClassification")) == [keras["id"], fire["id"]]
    assert ids(api.get("/api/models/?model_type=ObjectDetection")) == [trees["id"]]
    assert ids(api.get("/api/models/?runnable=false")) == [keras["id"]]
    assert ids(api.get("/api/models/?family=object_detection")) == [trees["id"]]
    assert ids(api.get(f"/api/models/?project={team.project.pk}&search=tree")) == [trees["id"]]
    assert other["id"] not in ids(api.get("/api/models/"))
    assert api.get("/api/models/?project=abc").status_code == 400
