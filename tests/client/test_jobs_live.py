"""The client's jobs against the real server and workers: progress from the websocket, Ctrl-C
cancels the job on the server, failures and refusals raise with the server's message (issue 19)."""
from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from rasterlab_client import JobCancelled, JobFailed, Rasterlab, RasterlabError

from tests.conftest import DATA


@pytest.fixture
def site(rl):
    project = rl.create_project("Client jobs", classes=[{"value": 1, "name": "Tree", "color": [0, 160, 0]}])
    raster = rl.upload_raster(DATA / "OSBS_029.tif")
    rl.import_labels(DATA / "OSBS_029.4326.geojson", class_field="label")
    return project, raster


def test_a_bad_parameter_is_refused_naming_it(rl, site):
    with pytest.raises(RasterlabError) as caught:
        rl.export_training_data(site[1], metadata_format="YOLO")
    assert caught.value.status == 400 and caught.value.detail.startswith("params.metadata_format"), caught.value
    with pytest.raises(RasterlabError) as caught:
        rl.train_model(999999, "FasterRCNN")
    assert caught.value.status == 400 and caught.value.detail.startswith("params.in_dataset"), caught.value


def test_a_failed_job_raises_with_the_servers_error(rl, site, tmp_path):
    broken = tmp_path / "broken.tif"
    broken.write_bytes(b"II*\x00" + b"\x00" * 4096)  # a TIFF header and nothing of an image
    with pytest.raises(RasterlabError) as caught:
        rl.upload_raster(broken)
    if isinstance(caught.value, JobFailed):
        assert caught.value.job.status == "failed" and caught.value.job.error in str(caught.value)
    else:  # refused at upload: the server's 400 says why
        assert caught.value.status == 400 and caught.value.detail


def test_progress_comes_from_the_jobs_websocket(rl, site, capfd):
    events = []
    job = rl.export_training_data(site[1], metadata_format="PASCAL_VOC_rectangles", tile_size_x=64, wait=False)
    job.wait(progress=True, on_event=lambda j: events.append((j.status, j.progress)))
    assert events[-1] == ("succeeded", 1.0) and len(events) >= 2
    err = capfd.readouterr().err
    assert f"export_training_data #{job.id}" in err and "100%" in err, err[-500:]


def test_ctrl_c_cancels_the_job_on_the_server(rl, site):
    # ~130k chips: minutes of work, cancelled within seconds
    job = rl.export_training_data(site[1], metadata_format="PASCAL_VOC_rectangles", tile_size_x=32, stride_x=1,
                                  stride_y=1, output_nofeature_tiles=True, wait=False)
    running = threading.Event()

    def interrupt() -> None:
        if running.wait(120):
            time.sleep(0.5)
            os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C in a terminal or Jupyter's interrupt sends

    threading.Thread(target=interrupt, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        job.wait(progress=False, on_event=lambda j: j.status == "running" and running.set())
    deadline = time.monotonic() + 60
    while job.refresh().status != "cancelled" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert job.status == "cancelled", job
    with pytest.raises(JobCancelled):
        job.wait(progress=False)


def test_another_users_view(server, rl, site):
    other = Rasterlab(server.url, username=server.other.username, password=server.other.password, progress=False)
    assert other.projects() == []
    with pytest.raises(RasterlabError) as caught:
        other.raster(site[1])
    assert caught.value.status == 404
