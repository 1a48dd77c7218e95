"""Access keys on the identity actually used (issue 14): tile reads cached per credential, and
websockets of a member removed from a project closed at once, with nothing sent after."""
from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.jobs.events import broadcast_job
from apps.jobs.models import Job
from apps.labeling.api import tiles
from apps.labeling.models import Layer, Raster
from backend.asgi import application
from tests.conftest import DATA

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]

BOGUS = "Token " + "0" * 40


@pytest.fixture
def ready_raster(team, client_for, data_dir, run_jobs):
    with open(DATA / "OSBS_029.tif", "rb") as fh:
        body = client_for(team.owner).post("/api/rasters/", {"project": team.project.pk, "file": fh},
                                           format="multipart").json()
    run_jobs()
    raster = Raster.objects.get(pk=body["id"])
    assert raster.status == "ready", raster.error
    tiles._access_cache.clear()
    yield raster
    tiles._access_cache.clear()


def _tile_url(raster: Raster) -> str:
    return f"/api/rasters/{raster.pk}/tiles/21/{_tile_xy(raster)}.png"


def _tile_xy(raster: Raster) -> str:
    import morecantile

    west, south, east, north = raster.bounds
    tile = morecantile.tms.get("WebMercatorQuad").tile((west + east) / 2, (south + north) / 2, 21)
    return f"{tile.x}/{tile.y}"


def test_a_bogus_token_next_to_a_session_opens_nothing_afterwards(team, client_for, ready_raster):
    url = _tile_url(ready_raster)
    viewer = client_for(team.viewer)
    assert viewer.get(url, HTTP_AUTHORIZATION=BOGUS).status_code == 200  # the session is what counts
    # The same bogus header without the session: anonymous, whatever was cached a moment ago.
    assert APIClient().get(url, HTTP_AUTHORIZATION=BOGUS).status_code == 401
    assert APIClient().get(url).status_code == 401


def test_an_outsiders_token_never_reads_a_cached_tile(team, client_for, ready_raster):
    url = _tile_url(ready_raster)
    outsider_token = Token.objects.create(user=team.outsider).key
    member_token = Token.objects.create(user=team.viewer).key
    assert APIClient().get(url, HTTP_AUTHORIZATION=f"Token {member_token}").status_code == 200
    assert APIClient().get(url, HTTP_AUTHORIZATION=f"Token {outsider_token}").status_code == 404
    # The outsider's session with the member's token in the header: the session's user is used.
    outsider = client_for(team.outsider)
    assert outsider.get(url, HTTP_AUTHORIZATION=f"Token {member_token}").status_code == 404
    assert outsider.get(url).status_code == 404


def test_a_revoked_token_stops_reading_tiles_after_the_cache_time(team, ready_raster, monkeypatch):
    monkeypatch.setattr(tiles, "ACCESS_TTL", 0.0)
    url = _tile_url(ready_raster)
    token = Token.objects.create(user=team.viewer).key
    assert APIClient().get(url, HTTP_AUTHORIZATION=f"Token {token}").status_code == 200
    Token.objects.filter(key=token).delete()
    assert APIClient().get(url, HTTP_AUTHORIZATION=f"Token {token}").status_code == 401


# websockets ------------------------------------------------------------------------------------
async def _closed_with(ws: WebsocketCommunicator, timeout: float = 3.0) -> int:
    """Skip messages until the server closes; return the close code."""
    while True:
        message = await ws.receive_output(timeout=timeout)
        if message["type"] == "websocket.close":
            return message.get("code")


def _remove_viewer(team) -> None:
    response = client_for_owner(team).delete(f"/api/projects/{team.project.pk}/members/",
                                             {"username": "viewer"}, format="json")
    assert response.status_code == 204, response.content


def client_for_owner(team) -> APIClient:
    client = APIClient()
    client.force_login(team.owner)
    return client


@pytest.mark.parametrize("route", ["job", "project_jobs", "layer"])
def test_removed_member_sockets_close_at_once_and_hear_nothing_more(team, route):
    job = Job.objects.create(kind="test_count", project_id=team.project.pk, status="running",
                             params={"secret": "before"})
    layer = Layer.objects.filter(project=team.project).first()
    token = Token.objects.create(user=team.viewer).key
    path = {"job": f"/ws/jobs/{job.pk}/", "project_jobs": f"/ws/projects/{team.project.pk}/jobs/",
            "layer": f"/ws/layers/{layer.pk}/"}[route]

    async def scenario() -> None:
        ws = WebsocketCommunicator(application, f"{path}?token={token}")
        assert (await ws.connect())[0]
        if route == "job":
            assert (await ws.receive_json_from())["status"] == "running"
        elif route == "layer":
            assert (await ws.receive_json_from())["type"] == "hello"
        await sync_to_async(_remove_viewer)(team)
        # Closed within a few seconds: not at the 25 s layer heartbeat, not never (job sockets).
        assert await _closed_with(ws) == 4403
        job.params = {"secret": "after"}
        await sync_to_async(broadcast_job)(job)
        assert await ws.receive_nothing(timeout=0.5)
        await ws.disconnect()

    async_to_sync(scenario)()


def test_other_projects_sockets_stay_open_when_one_membership_goes(team):
    from apps.labeling.models import Membership

    Membership.objects.create(project=team.other_project, user=team.viewer, role="viewer")
    token = Token.objects.create(user=team.viewer).key

    async def scenario() -> None:
        kept = WebsocketCommunicator(application, f"/ws/projects/{team.other_project.pk}/jobs/?token={token}")
        lost = WebsocketCommunicator(application, f"/ws/projects/{team.project.pk}/jobs/?token={token}")
        assert (await kept.connect())[0] and (await lost.connect())[0]
        await sync_to_async(_remove_viewer)(team)
        assert await _closed_with(lost) == 4403
        job = await sync_to_async(Job.objects.create)(kind="test_count", project_id=team.other_project.pk)
        await sync_to_async(broadcast_job)(job)
        assert (await kept.receive_json_from(timeout=3))["job"]["id"] == job.pk
        await kept.disconnect()

    async_to_sync(scenario)()


def test_deleting_the_project_closes_its_sockets(team):
    token = Token.objects.create(user=team.editor).key
    owner = client_for_owner(team)

    async def scenario() -> None:
        ws = WebsocketCommunicator(application, f"/ws/projects/{team.project.pk}/jobs/?token={token}")
        assert (await ws.connect())[0]
        response = await sync_to_async(owner.delete)(f"/api/projects/{team.project.pk}/")
        assert response.status_code == 204
        assert await _closed_with(ws) == 4403

    async_to_sync(scenario)()
