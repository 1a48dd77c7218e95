from pathlib import Path

import numpy as np
import pytest
import rasterio

from apps.labeling.models import Raster
from tests.conftest import DATA
from tests.labeling.rasters import write_raster

pytestmark = pytest.mark.django_db(transaction=True)


def upload(api, project, path: Path, name: str | None = None):
    with open(path, "rb") as fh:
        data = {"project": project.pk, "file": fh}
        if name:
            data["name"] = name
        return api.post("/api/rasters/", data, format="multipart")


def assert_nothing_left(data_dir: Path) -> None:
    assert Raster.objects.count() == 0
    assert not any((data_dir / "rasters").glob("*")) if (data_dir / "rasters").exists() else True
    assert list((data_dir / "tmp").iterdir()) == []


def test_upload_ingests_to_a_cog_with_statistics(team, client_for, data_dir, run_jobs):
    api = client_for(team.editor)
    response = upload(api, team.project, DATA / "OSBS_029.tif")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "processing" and body["job"]
    assert body["crs"] == "EPSG:32617" and body["count"] == 3 and body["dtype"] == "uint8"
    assert body["nodata"] == 255
    run_jobs()
    raster = api.get(f"/api/rasters/{body['id']}/").json()
    assert raster["status"] == "ready", raster["error"]
    west, south, east, north = raster["bounds"]
    assert -82.1 < west < east < -81.9 and 29.6 < south < north < 29.8
    assert raster["resolution"] == pytest.approx([0.1, 0.1])
    assert set(raster["statistics"]) == {"1", "2", "3"}
    assert raster["statistics"]["1"]["p2"] < raster["statistics"]["1"]["p98"]
    cog = data_dir / "rasters" / str(body["id"]) / "cog.tif"
    with rasterio.open(cog) as ds:
        assert ds.profile["tiled"] and ds.overviews(1) or ds.width <= 512
        assert ds.nodata == 255
    job = api.get(f"/api/jobs/{body['job']}/").json()
    assert job["kind"] == "ingest_raster" and job["status"] == "succeeded" and job["progress"] == 1.0


def test_multiband_uint16_raster_is_ingested(team, client_for, data_dir, run_jobs, tmp_path):
    path = write_raster(tmp_path / "four.tif", count=4, dtype="uint16", width=1200, height=900)
    body = upload(client_for(team.owner), team.project, path, name="four bands").json()
    run_jobs()
    raster = Raster.objects.get(pk=body["id"])
    assert raster.status == "ready" and raster.count == 4 and raster.dtype == "uint16" and raster.name == "four bands"
    assert raster.statistics["4"]["max"] <= 4000 and raster.statistics["4"]["min"] >= 1  # nodata 0 excluded
    with rasterio.open(data_dir / "rasters" / str(raster.pk) / "cog.tif") as ds:
        assert ds.count == 4 and ds.dtypes[0] == "uint16" and ds.overviews(1)


def test_viewer_and_outsider_cannot_upload(team, client_for, data_dir):
    assert upload(client_for(team.viewer), team.project, DATA / "OSBS_029.tif").status_code == 403
    assert upload(client_for(team.outsider), team.project, DATA / "OSBS_029.tif").status_code == 404
    assert_nothing_left(data_dir)


def test_outsider_cannot_see_rasters(team, client_for, data_dir, run_jobs):
    body = upload(client_for(team.owner), team.project, DATA / "SOAP_061.tif").json()
    outsider = client_for(team.outsider)
    assert outsider.get(f"/api/rasters/{body['id']}/").status_code == 404
    assert outsider.get(f"/api/rasters/?project={team.project.pk}").json()["results"] == []
    assert outsider.delete(f"/api/rasters/{body['id']}/").status_code == 404
    assert client_for(team.viewer).delete(f"/api/rasters/{body['id']}/").status_code == 403


def _not_a_raster(tmp_path: Path) -> Path:
    path = tmp_path / "notes.tif"
    path.write_text("these are not pixels\n" * 50)
    return path


def _truncated(tmp_path: Path) -> Path:
    source = write_raster(tmp_path / "whole.tif", count=3, dtype="uint8", width=1024, height=1024)
    data = source.read_bytes()
    path = tmp_path / "truncated.tif"
    path.write_bytes(data[: len(data) // 2])
    return path


def _no_georeference(tmp_path: Path) -> Path:
    return write_raster(tmp_path / "plain.tif", count=3, dtype="uint8", georef=False, nodata=None)


def _zero_bands(tmp_path: Path) -> Path:
    path = tmp_path / "empty.vrt"
    path.write_text('<VRTDataset rasterXSize="10" rasterYSize="10"><SRS>EPSG:4326</SRS>'
                    "<GeoTransform>0, 1, 0, 10, 0, -1</GeoTransform></VRTDataset>")
    return path


@pytest.mark.parametrize("make, message", [
    (_not_a_raster, "not a raster"),
    (_truncated, "corrupt"),
    (_no_georeference, "no coordinate reference system"),
    (_zero_bands, "GDAL VRT"),  # any VRT is refused, before GDAL reads it (issue 14)
])
def test_bad_uploads_are_refused_and_leave_nothing(team, client_for, data_dir, tmp_path, make, message):
    response = upload(client_for(team.owner), team.project, make(tmp_path))
    assert response.status_code == 400, response.content
    assert message in response.json()["detail"]
    assert_nothing_left(data_dir)


def test_upload_over_the_size_limit_is_413(team, client_for, data_dir, settings, tmp_path):
    settings.MAX_UPLOAD_MB = 1
    path = write_raster(tmp_path / "big.tif", count=3, dtype="uint16", width=1000, height=1000, nodata=None)
    assert path.stat().st_size > 1024 * 1024
    response = upload(client_for(team.owner), team.project, path)
    assert response.status_code == 413
    assert "upload limit of 1 MB" in response.json()["detail"]
    assert_nothing_left(data_dir)


def test_failed_ingest_marks_the_raster_failed(team, client_for, data_dir, run_jobs):
    body = upload(client_for(team.owner), team.project, DATA / "SOAP_061.tif").json()
    (data_dir / "rasters" / str(body["id"]) / "source.tif").write_bytes(b"gone")  # disk damaged meanwhile
    run_jobs()
    raster = client_for(team.owner).get(f"/api/rasters/{body['id']}/").json()
    assert raster["status"] == "failed" and "not a raster" in raster["error"]
    assert not (data_dir / "rasters" / str(body["id"]) / "cog.tif").exists()
    assert np.isfinite(0)


def test_browser_style_upload_with_session_and_csrf(team, data_dir, client):
    """Session auth checks CSRF by reading request.POST before the view: the streamed, size-limited
    upload handler must already be installed by then (regression: 500 on every browser upload)."""
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(team.owner)
    browser.get("/")  # the page shell sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    with open(DATA / "SOAP_061.tif", "rb") as fh:
        response = browser.post("/api/rasters/", {"project": team.project.pk, "file": fh}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201, response.content
    with open(DATA / "SOAP_061.tif", "rb") as fh:
        refused = browser.post("/api/rasters/", {"project": team.project.pk, "file": fh})
    assert refused.status_code == 403  # no CSRF token


def test_download_raster_as_geotiff(team, client_for, data_dir, run_jobs, tmp_path):
    body = upload(client_for(team.owner), team.project, DATA / "SOAP_061.tif").json()
    run_jobs()
    response = client_for(team.viewer).get(f"/api/rasters/{body['id']}/download/")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    out = tmp_path / "down.tif"
    out.write_bytes(b"".join(response.streaming_content))
    with rasterio.open(out) as ds:
        assert ds.count == 3 and ds.crs.to_epsg() == 32611
    assert client_for(team.outsider).get(f"/api/rasters/{body['id']}/download/").status_code == 404
