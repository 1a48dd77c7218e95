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


def corrupt_geotiff(path):
    """A GeoTIFF whose header and first and last blocks read (the upload's checks pass) but whose
    middle block is garbage: its ingest job fails on the worker."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    with rasterio.open(path, "w", driver="GTiff", width=512, height=512, count=3, dtype="uint8", crs="EPSG:32617",
                       transform=from_origin(400000, 3300000, 0.1, 0.1), compress="deflate", tiled=True,
                       blockxsize=256, blockysize=256) as dst:
        dst.write(np.random.default_rng(0).integers(0, 255, (3, 512, 512), dtype="uint8"))
    with rasterio.open(path) as src:
        offset = int(src.get_tag_item("BLOCK_OFFSET_1_0", "TIFF", bidx=1))
        size = int(src.get_tag_item("BLOCK_SIZE_1_0", "TIFF", bidx=1))
    data = bytearray(path.read_bytes())
    data[offset:offset + size] = b"\xff" * size
    path.write_bytes(bytes(data))
    return path


def test_a_failed_job_raises_with_the_servers_error(rl, site, tmp_path):
    with pytest.raises(JobFailed) as caught:
        rl.upload_raster(corrupt_geotiff(tmp_path / "corrupt.tif"))
    job = caught.value.job
    assert job.kind == "ingest_raster" and job.status == "failed" and job.error
    assert job.error in str(caught.value) and job.error == rl.job(job.id).error
    # refused at upload (a 400 with the server's reason), not a job at all
    broken = tmp_path / "broken.tif"
    broken.write_bytes(b"II*\x00" + b"\x00" * 4096)
    with pytest.raises(RasterlabError) as refused:
        rl.upload_raster(broken)
    assert refused.value.status == 400 and "GeoTIFF" in refused.value.detail, refused.value


def test_progress_comes_from_the_jobs_websocket(rl, site, capfd):
    events = []
    job = rl.export_training_data(site[1], metadata_format="PASCAL_VOC_rectangles", tile_size_x=64, wait=False)
    job.wait(progress=True, on_event=lambda j: events.append((j.status, j.progress)))
    assert events[-1] == ("succeeded", 1.0) and len(events) >= 2
    err = capfd.readouterr().err
    assert f"export_training_data #{job.id}" in err and "100%" in err, err[-500:]


@pytest.fixture
def python_sigint():
    """A notebook or terminal session has Python's own SIGINT handler; an earlier test in this
    process may have left another one, so run with Python's and put the old one back."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_cancels_the_job_on_the_server(rl, site, python_sigint):
    # ~130k chips: minutes of work, cancelled within seconds
    job = rl.export_training_data(site[1], metadata_format="PASCAL_VOC_rectangles", tile_size_x=32, stride_x=1,
                                  stride_y=1, output_nofeature_tiles=True, wait=False)
    running = threading.Event()

    def interrupt() -> None:
        if running.wait(300):  # a busy CI machine may keep it queued a while
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
