"""No lost updates: many clients PATCH the same feature at once with the version they read; exactly
one wins each round (the others get 409), and a read-modify-write counter loses no increment."""
import threading

import pytest
from django.db import connection

from apps.labeling.models import Feature

from .test_layers_support import create, feature_url, labels  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

CLIENTS = 8
ROUNDS = 4


def _in_threads(count, work):
    barrier = threading.Barrier(count)
    results, errors = [None] * count, []

    def run(i):
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    return results


def test_exactly_one_of_many_concurrent_patches_wins_each_round(team, client_for, labels):
    created = create(client_for(team.editor), labels)
    url = feature_url(labels, created["id"])
    clients = [client_for(team.editor if i % 2 else team.owner) for i in range(CLIENTS)]
    for round_ in range(ROUNDS):
        version = clients[0].get(url).json()["properties"]["version"]
        assert version == round_ + 1

        def patch(i, version=version):
            response = clients[i].patch(url, {"properties": {"writer": i, "class_value": 1 + i % 2}},
                                        format="json", HTTP_IF_MATCH=str(version))
            return response.status_code, response.json()

        results = _in_threads(CLIENTS, patch)
        codes = sorted(code for code, _ in results)
        assert codes == [200] + [409] * (CLIENTS - 1), codes
        winner = next(i for i, (code, _) in enumerate(results) if code == 200)
        stored = Feature.objects.get(pk=created["id"])
        assert stored.version == version + 1
        assert stored.attributes["writer"] == winner  # the winner's change is the one kept
        assert stored.class_value == 1 + winner % 2
        for code, body in results:
            if code == 409:
                assert body["feature"]["properties"]["version"] == version + 1


def test_retrying_clients_lose_no_increment(team, client_for, labels):
    created = create(client_for(team.editor), labels, {"geometry": {"type": "Point", "coordinates": [1, 2]},
                                                       "properties": {"class_value": 1, "count": 0}})
    url = feature_url(labels, created["id"])
    per_client = 3

    def increment(i):
        api = client_for(team.editor)
        conflicts = 0
        for _ in range(per_client):
            while True:
                current = api.get(url).json()["properties"]
                response = api.patch(url, {"properties": {"count": current["count"] + 1}}, format="json",
                                     HTTP_IF_MATCH=str(current["version"]))
                if response.status_code == 200:
                    break
                assert response.status_code == 409, response.content
                conflicts += 1
        return conflicts

    conflicts = _in_threads(4, increment)
    stored = Feature.objects.get(pk=created["id"])
    assert stored.attributes["count"] == 4 * per_client
    assert stored.version == 1 + 4 * per_client
    assert sum(conflicts) >= 0
