"""Layers over the REST API, the default "Labels" layer, and class-schema changes that would orphan
labels (refused, or remapped explicitly)."""
import pytest

from apps.labeling.models import Feature, Layer

from .test_layers_support import CLASSES, create, feature, labels  # noqa: F401

pytestmark = pytest.mark.django_db


def test_a_new_project_has_a_labels_layer(make_user, client_for):
    api = client_for(make_user("alice"))
    project = api.post("/api/projects/", {"name": "Forest"}, format="json").json()
    layers = api.get("/api/layers/", {"project": project["id"]}).json()["results"]
    assert [(l["name"], l["kind"], l["feature_count"], l["source_job"]) for l in layers] == [
        ("Labels", "labels", 0, None)]
    assert set(layers[0]) >= {"id", "project", "name", "kind", "source_job", "feature_count"}


def test_layer_crud_and_roles(team, client_for):
    editor, viewer = client_for(team.editor), client_for(team.viewer)
    created = editor.post("/api/layers/", {"project": team.project.pk, "name": "Buildings"}, format="json")
    assert created.status_code == 201, created.content
    layer = created.json()
    assert layer["kind"] == "labels" and layer["project"] == team.project.pk
    url = f"/api/layers/{layer['id']}/"
    assert viewer.post("/api/layers/", {"project": team.project.pk, "name": "x"}, format="json").status_code == 403
    assert viewer.patch(url, {"name": "mine"}, format="json").status_code == 403
    renamed = editor.patch(url, {"name": "Roofs"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Roofs"
    assert editor.patch(url, {"name": " "}, format="json").status_code == 400
    # Deleting people's labels is for owners; editors may delete model output.
    assert editor.delete(url).status_code == 403
    assert client_for(team.owner).delete(url).status_code == 204
    detections = editor.post("/api/layers/", {"project": team.project.pk, "name": "Model",
                                              "kind": "detections"}, format="json").json()
    assert editor.delete(f"/api/layers/{detections['id']}/").status_code == 204


def test_outsiders_see_no_layers(team, client_for):
    outsider = client_for(team.outsider)
    layer = Layer.objects.get(project=team.project)
    assert outsider.get(f"/api/layers/{layer.pk}/").status_code == 404
    assert outsider.get("/api/layers/", {"project": team.project.pk}).json()["results"] == []
    mine = outsider.get("/api/layers/").json()["results"]
    assert [l["project"] for l in mine] == [team.other_project.pk]
    assert outsider.post("/api/layers/", {"project": team.project.pk, "name": "x"}, format="json").status_code == 404
    assert outsider.post("/api/layers/", {"project": 99999, "name": "x"}, format="json").status_code == 404


def test_class_change_that_orphans_labels_is_refused(team, client_for, labels):
    api = client_for(team.owner)
    create(api, labels, feature(class_value=2))
    only_tree = [CLASSES[0]]
    refused = api.patch(f"/api/projects/{team.project.pk}/", {"classes": only_tree}, format="json")
    assert refused.status_code == 409
    assert refused.json()["in_use"] == {"2": 1}
    assert "Dead" in refused.json()["detail"] and "remap" in refused.json()["detail"]
    team.project.refresh_from_db()
    assert len(team.project.classes) == 2
    # Renaming and recolouring is fine; so is adding.
    renamed = [CLASSES[0], {"value": 2, "name": "Snag", "color": [1, 2, 3]}, {"value": 3, "name": "Shrub",
                                                                             "color": [9, 9, 9]}]
    assert api.patch(f"/api/projects/{team.project.pk}/", {"classes": renamed}, format="json").status_code == 200
    listed = api.get(f"/api/layers/{labels.pk}/features/").json()
    assert listed["features"][0]["properties"]["class_name"] == "Snag"


def test_class_change_with_remap_moves_the_labels(team, client_for, labels):
    api = client_for(team.editor)
    dead = create(api, labels, feature(class_value=2))
    tree = create(api, labels, feature(class_value=1))
    url = f"/api/projects/{team.project.pk}/classes/"
    bad = api.put(url, {"classes": [CLASSES[0]], "remap": {"2": 5}}, format="json")
    assert bad.status_code == 400 and "5 is not in the new classes" in bad.json()["detail"]
    forgot = api.put(url, {"classes": [CLASSES[0]]}, format="json")
    assert forgot.status_code == 409
    assert client_for(team.viewer).put(url, {"classes": [CLASSES[0]], "remap": {"2": 1}},
                                       format="json").status_code == 403
    done = api.put(url, {"classes": [CLASSES[0]], "remap": {"2": 1}}, format="json")
    assert done.status_code == 200, done.content
    assert done.json()["classes"] == [CLASSES[0]]
    moved = Feature.objects.get(pk=dead["id"])
    assert moved.class_value == 1 and moved.version == 2
    assert Feature.objects.get(pk=tree["id"]).version == 1
    assert Layer.objects.get(pk=labels.pk).seq == 3  # two creates, one remap
