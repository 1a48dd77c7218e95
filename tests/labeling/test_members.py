"""Team management over the API (issue 16): owners add members by username or e-mail, invite an
e-mail that has no account (its one-time password answered once), change roles and remove members;
a user changes their own password."""
import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db


def members(api, project):
    return {m["username"]: m["role"] for m in api.get(f"/api/projects/{project.pk}/members/").json()}


def test_add_by_email_invite_change_role_and_remove(team, client_for, make_user):
    owner = client_for(team.owner)
    url = f"/api/projects/{team.project.pk}/members/"
    ana = make_user("ana")
    ana.email = "Ana@Example.org"
    ana.save()
    added = owner.post(url, {"username": "ana@example.org", "role": "editor"}, format="json")
    assert added.status_code == 201, added.content
    assert added.json() == {"username": "ana", "role": "editor", "email": "Ana@Example.org"}

    unknown = owner.post(url, {"username": "new.person@example.org", "role": "viewer"}, format="json")
    assert unknown.status_code == 400 and "invite" in unknown.json()["detail"]
    invited = owner.post(url, {"username": "new.person@example.org", "role": "viewer", "invite": True}, format="json")
    assert invited.status_code == 201, invited.content
    body = invited.json()
    assert body["username"] == "new.person" and body["role"] == "viewer" and len(body["password"]) >= 12
    assert client_for(None).post("/api/auth/token/", {"username": "new.person", "password": body["password"]},
                                 format="json").status_code == 200
    assert "password" not in owner.get(url).json()[0]

    assert owner.post(url, {"username": "ana", "role": "viewer"}, format="json").status_code == 201
    assert members(owner, team.project)["ana"] == "viewer"
    assert owner.delete(url, {"username": "ana"}, format="json").status_code == 204
    assert "ana" not in members(owner, team.project)
    # Only owners manage the team.
    assert client_for(team.editor).post(url, {"username": "ana", "role": "editor"}, format="json").status_code == 403
    assert client_for(team.editor).post(url, {"username": "x@example.org", "invite": True},
                                        format="json").status_code == 403
    assert not get_user_model().objects.filter(email="x@example.org").exists()


def test_change_own_password(team, client_for):
    api = client_for(team.viewer)
    wrong = api.post("/api/auth/password/", {"old_password": "nope", "new_password": "a-long-new-pass-1"}, format="json")
    assert wrong.status_code == 400 and "old_password" in wrong.json()["detail"]
    short = api.post("/api/auth/password/", {"old_password": "pw-viewer", "new_password": "x"}, format="json")
    assert short.status_code in (400,) and "new_password" in short.json()["detail"]
    ok = api.post("/api/auth/password/", {"old_password": "pw-viewer", "new_password": "a-long-new-pass-1"},
                  format="json")
    assert ok.status_code == 204
    team.viewer.refresh_from_db()
    assert team.viewer.check_password("a-long-new-pass-1")
    assert client_for(None).post("/api/auth/password/", {}, format="json").status_code in (401, 403)
