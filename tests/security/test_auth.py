"""Sign-in brute force is throttled (429) on the token endpoint and the login page; tokens can be
rotated, revoked and given a lifetime (issue 14)."""
from __future__ import annotations

import datetime as dt

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.core.cache import cache
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from backend.api import login_throttle

pytestmark = pytest.mark.django_db

MAX = 10  # settings.LOGIN_MAX_FAILURES default


@pytest.fixture(autouse=True)
def clean_counts():
    """The counters live in the shared Redis for 15 minutes: each test starts (and ends) clean."""
    class Request:
        META = {"REMOTE_ADDR": "127.0.0.1"}

    def clear() -> None:
        for name in ("owner", "viewer", "nobody"):
            cache.delete_many(list(login_throttle._keys(Request(), name)))

    clear()
    yield
    clear()


def obtain(username: str, password: str):
    return APIClient().post("/api/auth/token/", {"username": username, "password": password}, format="json")


def test_token_endpoint_locks_out_after_repeated_failures_even_the_right_password(team):
    for _ in range(MAX):
        assert obtain("owner", "wrong").status_code == 400
    locked = obtain("owner", "pw-owner")
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.json()["detail"] and int(locked["Retry-After"]) > 0
    # Another account from elsewhere is not locked by this one.
    assert obtain("viewer", "pw-viewer").status_code == 200


def test_a_success_clears_the_count(team):
    for _ in range(MAX - 1):
        obtain("owner", "wrong")
    assert obtain("owner", "pw-owner").status_code == 200
    for _ in range(MAX - 1):
        assert obtain("owner", "wrong").status_code == 400
    assert obtain("owner", "pw-owner").status_code == 200


def test_unknown_usernames_are_counted_too(team):
    for _ in range(MAX):
        obtain("nobody", "guess")
    assert obtain("nobody", "guess").status_code == 429


def test_login_page_locks_out_with_429(team):
    browser = Client()
    for _ in range(MAX):
        page = browser.post("/accounts/login/", {"username": "owner", "password": "wrong"})
        assert page.status_code == 200 and b"didn't match" in page.content
    page = browser.post("/accounts/login/", {"username": "owner", "password": "pw-owner"})
    assert page.status_code == 429 and b"Too many failed sign-ins" in page.content
    assert "_auth_user_id" not in browser.session
    # The admin's sign-in is the same view, so the same lock.
    assert browser.post("/admin/login/", {"username": "owner", "password": "pw-owner"}).status_code == 429


def test_login_page_still_signs_in(team):
    page = Client().post("/accounts/login/", {"username": "owner", "password": "pw-owner"})
    assert page.status_code == 302


def test_rotate_gives_a_new_token_and_the_old_one_stops_working(team):
    old = obtain("owner", "pw-owner").json()["token"]
    assert obtain("owner", "pw-owner").json()["token"] == old  # the same token until rotated
    api = APIClient(HTTP_AUTHORIZATION=f"Token {old}")
    rotated = api.post("/api/auth/token/rotate/")
    assert rotated.status_code == 200
    new = rotated.json()["token"]
    assert new != old and rotated.json()["expires"] is None
    assert api.get("/api/projects/").status_code in (401, 403)  # DRF: 403 as session auth comes first
    assert APIClient(HTTP_AUTHORIZATION=f"Token {new}").get("/api/projects/").status_code == 200
    assert Token.objects.filter(user=team.owner).count() == 1


def test_delete_revokes_the_token(team):
    token = obtain("owner", "pw-owner").json()["token"]
    api = APIClient(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.delete("/api/auth/token/").status_code == 204
    assert api.get("/api/projects/").status_code in (401, 403)
    assert not Token.objects.filter(user=team.owner).exists()
    assert APIClient().delete("/api/auth/token/").status_code in (401, 403)
    assert APIClient().post("/api/auth/token/rotate/").status_code in (401, 403)
    assert obtain("owner", "pw-owner").json()["token"] != token


@pytest.mark.django_db(transaction=True)
def test_expired_tokens_are_refused_everywhere_and_replaced_at_sign_in(team, settings):
    settings.TOKEN_TTL_HOURS = 1
    body = obtain("owner", "pw-owner").json()
    assert body["expires"]
    Token.objects.filter(key=body["token"]).update(created=dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2))
    refused = APIClient(HTTP_AUTHORIZATION=f"Token {body['token']}").get("/api/projects/")
    assert refused.status_code in (401, 403) and "expired" in refused.json()["detail"]

    from backend.asgi import application

    async def socket() -> None:
        ws = WebsocketCommunicator(application, f"/ws/projects/{team.project.pk}/jobs/?token={body['token']}")
        connected, code = await ws.connect()
        assert not connected and code == 4401

    async_to_sync(socket)()
    fresh = obtain("owner", "pw-owner").json()["token"]
    assert fresh != body["token"]
    assert APIClient(HTTP_AUTHORIZATION=f"Token {fresh}").get("/api/projects/").status_code == 200


def test_guessing_the_old_password_is_locked_out_too(team, client_for):
    api = client_for(team.owner)
    for _ in range(MAX):
        response = api.post("/api/auth/password/", {"old_password": "guess", "new_password": "a-new-pass-1"},
                            format="json")
        assert response.status_code == 400
    response = api.post("/api/auth/password/", {"old_password": "pw-owner", "new_password": "a-new-pass-1"},
                        format="json")
    assert response.status_code == 429
    team.owner.refresh_from_db()
    assert team.owner.check_password("pw-owner")
