"""Jobs that survive, with the real forking `manage.py rqworker` (its reaper thread included) on the
database the suite runs against. CI runs this file on PostgreSQL and on the embedded SQLite default."""
import os
import signal
import time

import pytest
from django.db import connection

from apps.jobs.models import Job
from tests.conftest import descendants, kill9_tree, wait_for
from tests.jobs.jobkinds.models import WrittenRow

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(300)]


def start(api, project, kind="test_rows", **params):
    response = api.post("/api/jobs/", {"kind": kind, "project": project.pk, "params": params}, format="json")
    assert response.status_code == 201, response.content
    connection.close()
    return response.json()["id"]


def job_of(job_id):
    """The job's row, read like the web server reads it: a connection per request (CONN_MAX_AGE=0).

    Holding a connection open in the test process would hide what happens to SQLite's WAL when the
    worker is the only process with the database open (the default install between requests)."""
    try:
        return Job.objects.get(pk=job_id)
    finally:
        connection.close()


def test_a_job_longer_than_three_stale_timeouts_succeeds_and_keeps_every_row(team, client_for, start_worker,
                                                                               settings):
    stale = settings.JOB_STALE_AFTER_SECONDS
    steps, delay = int(3.5 * stale / 0.25), 0.25  # > 3x the stale timeout of running time
    worker = start_worker("default")
    time.sleep(stale)  # a worker that has been up a while (its reaper has used the database) takes the job
    job_id = start(client_for(team.editor), team.project, steps=steps, delay=delay)
    # Keep this process off the database for a while, as the web server is between requests: then the
    # worker's own connections are the only ones (on SQLite, where a WAL deleted under the work horse
    # loses its writes).
    time.sleep(2 * stale)
    assert not [name for pid in descendants(worker.pid) for name in _open_files(pid) if "(deleted)" in name]
    job = wait_for(lambda: (j := job_of(job_id)).is_finished and j, timeout=steps * delay + 120,
                   interval=2, message="job finished")
    assert job.status == "succeeded", (job.status, job.error)
    assert job.result == {"rows": steps}
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=30)
    # After the worker is gone, everything its work horse wrote is in the database.
    assert sorted(WrittenRow.objects.filter(job_id=job_id).values_list("step", flat=True)) == list(range(1, steps + 1))
    job = job_of(job_id)
    assert [line.split(" ", 1)[1] for line in job.log if " row " in f" {line}"][-1] == f"row {steps}"
    assert job.heartbeat_at >= job.started_at


def test_a_job_declared_dead_has_its_work_horse_killed(team, client_for, start_worker, settings):
    job_id = start(client_for(team.editor), team.project, kind="test_count", steps=4000, delay=0.05)
    worker = start_worker("default")
    wait_for(lambda: job_of(job_id).progress > 0.001, timeout=120, message="job running")
    horses = descendants(worker.pid)
    assert horses, "the worker forked no work horse"
    # Declared dead (as a reaper would after a lost heartbeat): the horse must stop, the worker stays.
    Job.objects.filter(pk=job_id).update(status="failed", error="declared dead by the test")
    wait_for(lambda: not any(os.path.exists(f"/proc/{pid}") and _alive(pid) for pid in horses),
             timeout=settings.JOB_HEARTBEAT_SECONDS * 3 + 20, message="work horse killed")
    assert worker.poll() is None, "the worker itself should keep running"
    # ... and the worker is free for the next job.
    next_id = start(client_for(team.editor), team.project, kind="test_count", steps=3, delay=0.01)
    wait_for(lambda: job_of(next_id).status == "succeeded", timeout=60, message="next job ran")
    assert job_of(job_id).status == "failed"


def _open_files(pid: int) -> list[str]:
    names = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            names.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass
    return names


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_short_jobs_do_not_wait_behind_long_ones(team, client_for, start_worker):
    api = client_for(team.editor)
    long_id = start(api, team.project, kind="test_count_long", steps=4000, delay=0.05)
    start_worker("default")  # as `make run` starts them: one for short work ...
    start_worker("long", "default")  # ... and one for long work (that also helps with short work)
    wait_for(lambda: job_of(long_id).status == "running", timeout=120, message="long job running")
    short_id = start(api, team.project, kind="test_count", steps=2, delay=0.01)
    wait_for(lambda: job_of(short_id).status == "succeeded", timeout=30, message="short job done")
    assert job_of(long_id).status == "running"
    assert job_of(long_id).queue == "long" and job_of(short_id).queue == "default"


def test_queued_jobs_lost_by_redis_are_enqueued_again_when_a_worker_starts(team, client_for, start_worker):
    import django_rq

    job_id = start(client_for(team.editor), team.project, kind="test_count", steps=2, delay=0.01)
    django_rq.get_queue("default").empty()  # as after a restart of a Redis that kept nothing
    assert job_of(job_id).status == "queued"
    start_worker("default")
    wait_for(lambda: job_of(job_id).status == "succeeded", timeout=120, message="lost job ran")


def test_running_job_of_a_worker_that_left_is_retried_at_start(team, client_for, start_worker, tmp_path):
    job_id = start(client_for(team.editor), team.project, kind="test_rows", steps=20, delay=0.05,
                   marker_dir=str(tmp_path))
    # A row left "running" by a worker that no longer exists (its registration is gone from Redis).
    Job.objects.filter(pk=job_id).update(status="running", worker_id="gone-worker", attempts=1)
    import django_rq

    django_rq.get_queue("default").empty()
    start_worker("default")
    job = wait_for(lambda: (j := job_of(job_id)).status == "succeeded" and j, timeout=120, message="retried")
    assert job.attempts == 2


def test_a_retried_job_starts_from_a_clean_work_folder(team, client_for, start_worker, tmp_path, settings):
    job_id = start(client_for(team.editor), team.project, kind="test_rows", steps=60, delay=0.1,
                   marker_dir=str(tmp_path))
    first = start_worker("default")
    wait_for(lambda: (tmp_path / f"started-{job_id}-1").exists(), timeout=120, message="first attempt started")
    kill9_tree(first.pid)  # its partial file stays in the job's work folder
    start_worker("default")
    job = wait_for(lambda: (j := job_of(job_id)).is_finished and j,
                   timeout=settings.JOB_STALE_AFTER_SECONDS + 120, message="retried job finished")
    assert job.status == "succeeded", job.error
    assert job.attempts == 2


def test_a_worker_restart_mid_queue_loses_no_job(team, client_for, start_worker):
    api = client_for(team.editor)
    ids = [start(api, team.project, kind="test_count", steps=20, delay=0.1) for _ in range(4)]
    first = start_worker("default")
    wait_for(lambda: job_of(ids[0]).status == "running" and job_of(ids[0]).progress > 0.1, timeout=120,
             message="first job running")
    first.send_signal(signal.SIGTERM)  # stops within seconds: the running job is queued again
    assert first.wait(timeout=30) == 0
    interrupted = job_of(ids[0])
    assert interrupted.status == "queued" and "Interrupted" in interrupted.message, interrupted.message
    start_worker("default")
    for job_id in ids:
        wait_for(lambda: job_of(job_id).status == "succeeded", timeout=120, interval=0.5, message=f"job {job_id}")
