"""Real RQ worker processes and the real channel layer over Redis: live progress, cancel of a
running job, and a worker killed with SIGKILL."""
import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from rest_framework.authtoken.models import Token

from apps.jobs.models import Job
from backend.asgi import application
from tests.conftest import kill9_tree, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]


def start(api, project, kind="test_count", **params):
    response = api.post("/api/jobs/", {"kind": kind, "project": project.pk, "params": params}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def status_of(api, job_id):
    return api.get(f"/api/jobs/{job_id}/").json()  # GETs also reap jobs of dead workers


def test_progress_events_arrive_in_order_over_websocket(team, client_for, start_worker):
    api = client_for(team.editor)
    token = Token.objects.create(user=team.viewer).key
    job_id = start(api, team.project, steps=20, delay=0.1)

    async def listen():
        job_ws = WebsocketCommunicator(application, f"/ws/jobs/{job_id}/?token={token}")
        project_ws = WebsocketCommunicator(application, f"/ws/projects/{team.project.pk}/jobs/?token={token}")
        assert (await job_ws.connect())[0] and (await project_ws.connect())[0]
        first = await job_ws.receive_json_from(timeout=5)  # the current state, on connect
        events = [first]
        start_worker("default")
        while events[-1]["status"] not in ("succeeded", "failed", "cancelled"):
            # generous: a worker on a loaded 2-core CI machine needs time to start and preload torch
            events.append(await job_ws.receive_json_from(timeout=120))
        project_event = await project_ws.receive_json_from(timeout=5)
        await job_ws.disconnect()
        await project_ws.disconnect()
        return events, project_event

    events, project_event = async_to_sync(listen)()
    assert events[0]["type"] == "job.progress" and events[0]["status"] == "queued"
    assert events[-1]["status"] == "succeeded" and events[-1]["progress"] == 1.0
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress), "progress went backwards"
    assert len({p for p in progress if 0 < p < 1}) >= 3, "expected intermediate progress events"
    statuses = [e["status"] for e in events]
    assert statuses.index("running") < statuses.index("succeeded")
    assert project_event["type"] == "job.progress" and project_event["job"]["id"] == job_id


def test_websockets_check_permissions(team, client_for):
    job_id = start(client_for(team.editor), team.project)
    outsider_token = Token.objects.create(user=team.outsider).key

    async def attempt(path):
        ws = WebsocketCommunicator(application, path)
        connected, code = await ws.connect()
        await ws.disconnect()
        return connected, code

    assert async_to_sync(attempt)(f"/ws/jobs/{job_id}/") == (False, 4401)
    assert async_to_sync(attempt)(f"/ws/jobs/{job_id}/?token={outsider_token}") == (False, 4404)
    assert async_to_sync(attempt)(f"/ws/projects/{team.project.pk}/jobs/?token={outsider_token}") == (False, 4404)
    assert async_to_sync(attempt)(f"/ws/jobs/{job_id}/?token=not-a-token") == (False, 4401)


def test_cancel_a_running_job(team, client_for, start_worker, tmp_path):
    api = client_for(team.editor)
    job_id = start(api, team.project, steps=400, delay=0.05, marker_dir=str(tmp_path))
    start_worker("default")
    wait_for(lambda: status_of(api, job_id)["progress"] > 0.02, timeout=120, message="job running")
    assert api.post(f"/api/jobs/{job_id}/cancel/").json()["status"] == "running"  # stops at next check
    job = wait_for(lambda: (j := status_of(api, job_id))["status"] == "cancelled" and j, timeout=20,
                   message="cancelled")
    assert job["progress"] < 0.5
    assert not (tmp_path / f"partial-{job_id}").exists()


def test_killed_worker_fails_its_job_within_bounded_time(team, client_for, start_worker, tmp_path, settings):
    api = client_for(team.editor)
    job_id = start(api, team.project, steps=2000, delay=0.05, marker_dir=str(tmp_path))
    worker = start_worker("default")
    wait_for(lambda: status_of(api, job_id)["status"] == "running", timeout=120, message="job running")
    kill9_tree(worker.pid)  # the worker and its work horse die at once
    job = wait_for(lambda: (j := status_of(api, job_id))["status"] == "failed" and j,
                   timeout=settings.JOB_STALE_AFTER_SECONDS + 20, message="job failed after worker death")
    assert "stopped responding" in job["error"]
    assert not (tmp_path / f"partial-{job_id}").exists()  # partial output never left as a result


def test_retryable_job_is_retried_once_after_a_worker_dies(team, client_for, start_worker, tmp_path, settings):
    api = client_for(team.editor)
    job_id = start(api, team.project, kind="test_count_retry", steps=40, delay=0.1, marker_dir=str(tmp_path))
    first = start_worker("default")
    wait_for(lambda: status_of(api, job_id)["status"] == "running", timeout=120, message="job running")
    # "running" is set when the job is claimed, a moment before the handler starts: wait for it.
    wait_for(lambda: (tmp_path / f"started-{job_id}-1").exists(), timeout=60, message="first attempt started")
    kill9_tree(first.pid)
    start_worker("default")
    try:
        job = wait_for(lambda: (j := status_of(api, job_id))["status"] == "succeeded" and j,
                       timeout=settings.JOB_STALE_AFTER_SECONDS + 120, message="retried job succeeded")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the job: {status_of(api, job_id)}") from None
    assert job["attempts"] == 2
    assert Job.objects.get(pk=job_id).attempts == 2
    assert sorted(p.name for p in tmp_path.glob("started-*")) == [f"started-{job_id}-1", f"started-{job_id}-2"]
