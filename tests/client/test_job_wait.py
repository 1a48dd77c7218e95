"""Job.wait without a websocket (polling), Ctrl-C and failures, with a stand-in for the server."""
from __future__ import annotations

import pytest
from rasterlab_client import JobFailed, jobs
from rasterlab_client.jobs import Job


class FakeHttp:
    url, token = "http://rasterlab.invalid", None

    def __init__(self, *states):
        self.states = iter(states)
        self.posted: list[str] = []

    def get(self, path, **params):
        return next(self.states)

    def post(self, path, json=None):
        self.posted.append(path)
        return {"id": 1, "status": "running", "message": "Cancelling…"}


@pytest.fixture(autouse=True)
def no_websocket(monkeypatch):
    def refuse(http, job_id):
        raise OSError("no websocket here")

    monkeypatch.setattr(jobs, "_connect", refuse)
    monkeypatch.setattr(jobs, "POLL_SECONDS", 0)


def test_without_a_websocket_the_state_is_polled_until_the_end(capsys):
    http = FakeHttp({"id": 1, "kind": "k", "status": "running", "progress": 0.5},
                    {"id": 1, "status": "succeeded", "progress": 1.0, "result": {"layer": 3}})
    job = Job(http, {"id": 1, "kind": "k", "status": "queued"}).wait(progress=True)
    assert job.status == "succeeded" and job.result == {"layer": 3}
    assert "k #1" in capsys.readouterr().err


def test_a_failed_job_raises_its_error():
    http = FakeHttp({"id": 1, "kind": "k", "status": "failed", "error": "disk full"})
    with pytest.raises(JobFailed, match="disk full") as caught:
        Job(http, {"id": 1, "kind": "k"}).wait(progress=False)
    assert caught.value.job.error == "disk full"


def test_ctrl_c_while_waiting_cancels_on_the_server_and_propagates():
    http = FakeHttp({"id": 1, "kind": "k", "status": "running", "progress": 0.1})

    def interrupt(job):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Job(http, {"id": 1, "kind": "k"}).wait(progress=True, on_event=interrupt)
    assert http.posted == ["/api/jobs/1/cancel/"]
