"""Review workflow (issue 16): a reviewer accepts or rejects a feature through the versioned PATCH,
the layer counts features per review status and per user, exports can take only accepted features,
and the layer's extent is given for "Zoom to labels"."""
import json

import pytest

from .test_layers_support import LAT, LON, create, feature, feature_url, features_url, labels, square  # noqa: F401

pytestmark = pytest.mark.django_db


def review(api, layer, f, status, version):
    return api.patch(feature_url(layer, f["id"]), {"properties": {"review_status": status, "version": version}},
                     format="json")


def test_review_counts_and_accepted_only_export(team, client_for, labels):
    editor, owner = client_for(team.editor), client_for(team.owner)
    a = create(editor, labels, feature(square(LON, LAT)))
    b = create(editor, labels, feature(square(LON + 0.01, LAT + 0.02)))
    c = create(owner, labels, feature(square(LON - 0.01, LAT)))

    accepted = review(owner, labels, a, "accepted", 1)
    assert accepted.status_code == 200, accepted.content
    props = accepted.json()["properties"]
    assert props["review_status"] == "accepted" and props["reviewer"] == "owner" and props["version"] == 2
    assert review(owner, labels, b, "rejected", 1).status_code == 200
    stale = review(owner, labels, b, "accepted", 1)
    assert stale.status_code == 409
    bad = review(owner, labels, c, "maybe", 1)
    assert bad.status_code == 400 and "review_status" in bad.json()["detail"]
    assert review(client_for(team.viewer), labels, c, "accepted", 1).status_code == 403

    layer = client_for(team.viewer).get(f"/api/layers/{labels.pk}/").json()
    assert layer["review_counts"] == {"unreviewed": 1, "accepted": 1, "rejected": 1}
    users = {u["user"]: u for u in layer["user_counts"]}
    assert users["editor"] == {"user": "editor", "labels": 2, "accepted": 1, "rejected": 1, "reviewed": 0}
    assert users["owner"] == {"user": "owner", "labels": 1, "accepted": 0, "rejected": 0, "reviewed": 2}
    assert layer["extent"] == pytest.approx([LON - 0.01, LAT, LON + 0.01 + 0.0001, LAT + 0.02 + 0.0001])

    only = client_for(team.viewer).get(features_url(labels), {"review_status": "accepted"}).json()
    assert [f["id"] for f in only["features"]] == [a["id"]]
    export = client_for(team.viewer).get(f"/api/layers/{labels.pk}/export/",
                                         {"format": "geojson", "review_status": "accepted"})
    assert export.status_code == 200
    assert [f["id"] for f in json.loads(b"".join(export.streaming_content))["features"]] == [a["id"]]
    unreviewed = client_for(team.viewer).get(features_url(labels), {"review_status": "unreviewed"}).json()
    assert [f["id"] for f in unreviewed["features"]] == [c["id"]]
    assert client_for(team.viewer).get(features_url(labels), {"review_status": "good"}).status_code == 400

    # Clearing a review.
    cleared = review(owner, labels, a, "", 2).json()["properties"]
    assert cleared["review_status"] == "" and cleared["reviewer"] is None


def test_empty_layer_has_no_extent(team, client_for, labels):
    layer = client_for(team.owner).get(f"/api/layers/{labels.pk}/").json()
    assert layer["extent"] is None and layer["review_counts"] == {"unreviewed": 0, "accepted": 0, "rejected": 0}


def test_training_export_can_take_only_accepted(team, client_for, labels):
    from apps.labeling.datasets.export import _features

    editor = client_for(team.editor)
    a = create(editor, labels, feature(square(LON, LAT)))
    create(editor, labels, feature(square(LON + 0.01, LAT)))
    assert review(client_for(team.owner), labels, a, "accepted", 1).status_code == 200
    logged: list[str] = []
    assert [f.feature_id for f in _features(labels.pk, {1, 2}, logged.append, only_accepted=True)] == [a["id"]]
    assert len(_features(labels.pk, {1, 2}, logged.append)) == 2


def test_a_reviewer_reviews_and_changes_nothing_else(team, client_for, labels, make_user):
    from apps.labeling.models import Membership

    reviewer = make_user("rita")
    Membership.objects.create(project=team.project, user=reviewer, role="reviewer")
    a = create(client_for(team.editor), labels, feature(square(LON, LAT)))
    api = client_for(reviewer)
    done = review(api, labels, a, "accepted", 1)
    assert done.status_code == 200 and done.json()["properties"]["reviewer"] == "rita"
    moved = api.patch(feature_url(labels, a["id"]), {"geometry": square(LON + 1, LAT), "properties": {"version": 2}},
                      format="json")
    assert moved.status_code == 403
    both = api.patch(feature_url(labels, a["id"]), {"properties": {"version": 2, "review_status": "rejected",
                                                                      "class_value": 2}}, format="json")
    assert both.status_code == 403
    assert api.post(features_url(labels), feature(square(LON, LAT)), format="json").status_code == 403
    project = api.get(f"/api/projects/{team.project.pk}/").json()
    assert project["role"] == "reviewer"
