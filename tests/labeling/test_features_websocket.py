"""Live co-editing over /ws/layers/{id}/ with two real clients and the real Redis channel layer:
committed changes reach both, presence follows joins and leaves, and access is checked."""
import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework.authtoken.models import Token

from backend.asgi import application

from .test_layers_support import feature, feature_url, features_url, labels, square  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]


async def next_of(ws, kind, timeout=5):
    """The next message of type ``kind`` (others, e.g. presence updates, are skipped)."""
    while True:
        message = await ws.receive_json_from(timeout=timeout)
        if message["type"] == kind:
            return message


def test_two_clients_see_every_committed_change(team, client_for, labels):
    editor_token = Token.objects.create(user=team.editor).key
    viewer_token = Token.objects.create(user=team.viewer).key
    api = client_for(team.owner)
    path = f"/ws/layers/{labels.pk}/"

    async def scenario():
        a = WebsocketCommunicator(application, f"{path}?token={editor_token}")
        b = WebsocketCommunicator(application, f"{path}?token={viewer_token}")
        assert (await a.connect())[0]
        hello = await next_of(a, "hello")
        assert hello["seq"] == 0 and hello["user"]["username"] == "editor"
        assert (await b.connect())[0]
        await next_of(b, "hello")
        # a hears b arrive.
        while True:
            presence = await next_of(a, "presence")
            if len(presence["users"]) == 2:
                break
        assert [u["username"] for u in presence["users"]] == ["editor", "viewer"]

        created = await sync_to_async(api.post)(features_url(labels), feature(), format="json")
        assert created.status_code == 201
        fid = created.json()["id"]
        events = [await next_of(ws, "feature.created") for ws in (a, b)]
        for event in events:
            assert event["layer"] == labels.pk and event["seq"] == 1
            assert event["feature"]["id"] == fid and event["feature"]["properties"]["version"] == 1
            assert event["feature"]["geometry"]["type"] == "Polygon"
            assert event["user"]["username"] == "owner" and event["sent_at"] > 0

        await sync_to_async(api.patch)(feature_url(labels, fid), {"geometry": square(size=0.0002)}, format="json",
                                       HTTP_IF_MATCH="1")
        for ws in (a, b):
            updated = await next_of(ws, "feature.updated")
            assert updated["seq"] == 2 and updated["feature"]["properties"]["version"] == 2

        # A refused change (stale version) sends nothing; the next event is the delete.
        stale = await sync_to_async(api.patch)(feature_url(labels, fid), {"properties": {"class_value": 2}},
                                               format="json", HTTP_IF_MATCH="1")
        assert stale.status_code == 409
        await sync_to_async(api.delete)(feature_url(labels, fid), HTTP_IF_MATCH="2")
        for ws in (a, b):
            deleted = await next_of(ws, "feature.deleted")
            assert deleted["seq"] == 3 and deleted["feature"]["id"] == fid

        await a.send_json_to({"type": "ping"})
        assert (await next_of(a, "pong"))["seq"] == 3

        await b.disconnect()
        while True:
            presence = await next_of(a, "presence")
            if len(presence["users"]) == 1:
                break
        assert presence["users"][0]["username"] == "editor"
        await a.disconnect()

    async_to_sync(scenario)()


def test_layer_websocket_checks_access(team, labels):
    outsider = Token.objects.create(user=team.outsider).key

    async def attempt(path):
        ws = WebsocketCommunicator(application, path)
        connected, code = await ws.connect()
        await ws.disconnect()
        return connected, code

    assert async_to_sync(attempt)(f"/ws/layers/{labels.pk}/") == (False, 4401)
    assert async_to_sync(attempt)(f"/ws/layers/{labels.pk}/?token={outsider}") == (False, 4404)
    assert async_to_sync(attempt)(f"/ws/layers/999999/?token={outsider}") == (False, 4404)
