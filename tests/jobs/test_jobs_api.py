"""The job system: validation, permissions, queues, cancel, and throttled progress."""
import pytest

from apps.jobs.models import Job
from apps.jobs.progress import JobReporter

pytestmark = pytest.mark.django_db(transaction=True)


def start(api, project, kind="test_count", **params):
    return api.post("/api/jobs/", {"kind": kind, "project": project.pk, "params": params}, format="json")


def test_start_validates_params_naming_the_field(team, client_for):
    api = client_for(team.editor)
    bad = start(api, team.project, steps="many")
    assert bad.status_code == 400 and "params.steps" in bad.json()["detail"]
    unknown = api.post("/api/jobs/", {"kind": "make_coffee", "project": team.project.pk, "params": {}}, format="json")
    assert unknown.status_code == 400 and "unknown job kind" in unknown.json()["detail"]
    missing = api.post("/api/jobs/", {"project": team.project.pk}, format="json")
    assert missing.status_code == 400 and "kind" in missing.json()["detail"]
    assert Job.objects.count() == 0


def test_permissions(team, client_for):
    assert start(client_for(team.viewer), team.project).status_code == 403
    assert start(client_for(team.outsider), team.project).status_code == 404
    job = start(client_for(team.editor), team.project).json()
    assert client_for(team.outsider).get(f"/api/jobs/{job['id']}/").status_code == 404
    assert client_for(team.outsider).post(f"/api/jobs/{job['id']}/cancel/").status_code == 404
    assert client_for(team.viewer).post(f"/api/jobs/{job['id']}/cancel/").status_code == 403
    assert client_for(team.viewer).get(f"/api/jobs/{job['id']}/").json()["status"] == "queued"
    assert client_for(team.outsider).get("/api/jobs/").json()["results"] == []


def test_job_runs_and_can_be_filtered(team, client_for, run_jobs):
    api = client_for(team.editor)
    created = start(api, team.project, steps=3, delay=0)
    assert created.status_code == 201
    assert created.json()["status"] == "queued" and created.json()["queue"] == "default"
    run_jobs()
    job = api.get(f"/api/jobs/{created.json()['id']}/").json()
    assert job["status"] == "succeeded" and job["progress"] == 1.0 and job["result"] == {"counted": 3}
    assert job["started_at"] and job["finished_at"] and any("counted" in line for line in job["log"])
    assert [j["id"] for j in api.get(f"/api/jobs/?project={team.project.pk}&status=succeeded").json()["results"]] == [job["id"]]
    assert api.get("/api/jobs/?kind=ingest_raster").json()["results"] == []


def test_a_failing_job_reports_a_readable_error(team, client_for, run_jobs, tmp_path):
    api = client_for(team.editor)
    job_id = start(api, team.project, steps=5, delay=0, fail_at=2, marker_dir=str(tmp_path)).json()["id"]
    run_jobs()
    job = api.get(f"/api/jobs/{job_id}/").json()
    assert job["status"] == "failed" and "boom at step 2" in job["error"]
    assert not (tmp_path / f"partial-{job_id}").exists()  # partial output cleaned up


def test_cancelled_queued_job_never_starts(team, client_for, run_jobs, tmp_path):
    api = client_for(team.editor)
    job_id = start(api, team.project, marker_dir=str(tmp_path)).json()["id"]
    cancelled = api.post(f"/api/jobs/{job_id}/cancel/").json()
    assert cancelled["status"] == "cancelled"
    run_jobs()
    assert Job.objects.get(pk=job_id).status == "cancelled"
    assert not list(tmp_path.glob("started-*"))


def test_gpu_job_waits_for_a_gpu_worker_and_says_so(team, client_for):
    job = start(client_for(team.editor), team.project, processor_type="GPU").json()
    assert job["queue"] == "gpu" and job["status"] == "queued"
    assert "no" in job["message"].lower() or "none is running" in job["message"]
    assert "rqworker gpu" in job["message"]


def test_progress_writes_are_throttled(team, settings, django_assert_max_num_queries):
    settings.JOB_PROGRESS_MIN_INTERVAL = 10.0
    job = Job.objects.create(kind="test_count", project_id=team.project.pk, status="running")
    reporter = JobReporter(job)
    with django_assert_max_num_queries(2):
        for step in range(1000):
            reporter.progress(step, 1000, f"step {step}")
    reporter.flush()
    job.refresh_from_db()
    assert job.progress == pytest.approx(0.999) and job.message == "step 999"
