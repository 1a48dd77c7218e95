import pytest

pytestmark = pytest.mark.django_db


def test_create_and_list_projects(make_user, client_for):
    alice = make_user("alice")
    api = client_for(alice)
    created = api.post("/api/projects/", {"name": "Forest", "description": "trees",
                                          "classes": [{"value": 1, "name": "Tree", "color": [0, 255, 0]}]}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["role"] == "owner"
    listed = api.get("/api/projects/").json()
    assert [p["name"] for p in listed["results"]] == ["Forest"]


def test_anonymous_requests_are_refused(client_for):
    assert client_for(None).get("/api/projects/").status_code in (401, 403)


def test_outsider_gets_404_for_another_teams_project(team, client_for):
    api = client_for(team.outsider)
    assert api.get(f"/api/projects/{team.project.pk}/").status_code == 404
    assert api.patch(f"/api/projects/{team.project.pk}/", {"name": "x"}, format="json").status_code == 404
    assert api.get(f"/api/projects/{team.project.pk}/members/").status_code == 404
    assert [p["name"] for p in api.get("/api/projects/").json()["results"]] == ["Other team"]


def test_viewer_cannot_write_editor_can(team, client_for):
    url = f"/api/projects/{team.project.pk}/"
    denied = client_for(team.viewer).patch(url, {"description": "mine"}, format="json")
    assert denied.status_code == 403
    assert "Viewers" in denied.json()["detail"]
    assert client_for(team.editor).patch(url, {"description": "ok"}, format="json").status_code == 200
    assert client_for(team.editor).delete(url).status_code == 403  # only owners delete


def test_members_roles(team, client_for, make_user):
    make_user("newbie")
    url = f"/api/projects/{team.project.pk}/members/"
    assert client_for(team.editor).post(url, {"username": "newbie", "role": "viewer"}, format="json").status_code == 403
    added = client_for(team.owner).post(url, {"username": "newbie", "role": "editor"}, format="json")
    assert added.status_code == 201
    members = {m["username"]: m["role"] for m in client_for(team.viewer).get(url).json()}
    assert members["newbie"] == "editor"
    bad = client_for(team.owner).post(url, {"username": "nobody", "role": "editor"}, format="json")
    assert bad.status_code == 400 and "nobody" in bad.json()["detail"]
    last_owner = client_for(team.owner).delete(url, {"username": "owner"}, format="json")
    assert last_owner.status_code == 409


@pytest.mark.parametrize("classes, message", [
    ([{"value": 0, "name": "Zero", "color": [1, 2, 3]}], "greater than 0"),
    ([{"value": 1, "name": "A", "color": [1, 2, 3]}, {"value": 1, "name": "B", "color": [1, 2, 3]}], "unique"),
    ([{"value": 1, "name": "A", "color": [1, 2, 3]}, {"value": 2, "name": "a", "color": [1, 2, 3]}], "unique"),
    ([{"value": 1, "name": "A", "color": [300, 2, 3]}], "color"),
])
def test_class_schema_is_validated(team, client_for, classes, message):
    response = client_for(team.owner).patch(f"/api/projects/{team.project.pk}/", {"classes": classes}, format="json")
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_token_auth(make_user, client):
    make_user("tok")
    response = client.post("/api/auth/token/", {"username": "tok", "password": "pw-tok"})
    assert response.status_code == 200
    token = response.json()["token"]
    listed = client.get("/api/projects/", HTTP_AUTHORIZATION=f"Token {token}")
    assert listed.status_code == 200
    assert client.post("/api/auth/token/", {"username": "tok", "password": "wrong"}).status_code == 400
