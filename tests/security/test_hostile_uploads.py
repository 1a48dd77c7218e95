"""Hostile files (issue 14): each upload gets a clear 4xx and leaves no row and no file behind.

Rasters: GDAL formats that name other files or URLs (VRT to /proc/self/environ, /etc/passwd,
another project's COG, /vsicurl/ to a local server), other formats, lying extensions, sparse and
huge declared sizes. Packages: zip bombs of big and of many small members, links, traversal.
Vector imports: unclosed rings, OGR VRT, links in zips, deep JSON.
"""
from __future__ import annotations

import http.server
import io
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from apps.labeling.models import Feature, Layer, Raster
from apps.models.package_models import ModelPackage
from tests.conftest import DATA
from tests.engine.dlpk.samples import make_dlpk
from tests.labeling.rasters import write_raster

pytestmark = pytest.mark.django_db(transaction=True)

MiB = 1024 * 1024


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and "run" not in p.parts}


def vrt(source: str, raw: bool = True) -> str:
    band = (f'<VRTRasterBand dataType="Byte" band="1" subClass="VRTRawRasterBand"><SourceFilename relativeToVRT="0">'
            f"{source}</SourceFilename><ImageOffset>0</ImageOffset><PixelOffset>1</PixelOffset>"
            "<LineOffset>16</LineOffset></VRTRasterBand>") if raw else (
            f'<VRTRasterBand dataType="Byte" band="1"><SimpleSource><SourceFilename relativeToVRT="0">{source}'
            "</SourceFilename><SourceBand>1</SourceBand></SimpleSource></VRTRasterBand>")
    return ('<VRTDataset rasterXSize="16" rasterYSize="16"><SRS>EPSG:4326</SRS>'
            f"<GeoTransform>10, 0.001, 0, 50, 0, -0.001</GeoTransform>{band}</VRTDataset>")


def _sparse(path: Path, width: int, height: int, count: int = 1, block: int = 512, dtype: str = "uint8") -> Path:
    profile = {"driver": "GTiff", "width": width, "height": height, "count": count, "dtype": dtype,
               "crs": "EPSG:32617", "transform": from_origin(400000, 3300000, 0.1, 0.1), "sparse_ok": True,
               "compress": "deflate", "tiled": True, "blockxsize": block, "blockysize": block}
    with rasterio.open(path, "w", **profile):
        pass  # nothing written: every block is absent (sparse)
    return path


def _png(path: Path) -> Path:
    from PIL import Image

    Image.fromarray(np.zeros((8, 8, 3), dtype="uint8")).save(path)
    return path


RASTERS = {
    "vrt_raw_proc_environ": (lambda p: _text(p / "x.vrt", vrt("/proc/self/environ")), "GDAL VRT"),
    "vrt_raw_etc_passwd": (lambda p: _text(p / "x.vrt", vrt("/etc/passwd")), "GDAL VRT"),
    "vrt_named_tif": (lambda p: _text(p / "innocent.tif", vrt("/etc/passwd", raw=False)), "GDAL VRT"),
    "vrt_with_bom_and_spaces": (lambda p: _text(p / "x.tif", "\ufeff  \n" + vrt("/etc/passwd")), "XML"),
    "vrt_vsicurl": (lambda p: _text(p / "x.vrt", vrt("/vsicurl/http://127.0.0.1:9/x.tif", raw=False)), "GDAL VRT"),
    "netcdf": (lambda p: _bytes(p / "x.nc", b"CDF\x01" + b"\x00" * 60), "netCDF"),
    "hdf5": (lambda p: _bytes(p / "x.h5", b"\x89HDF\r\n\x1a\n" + b"\x00" * 60), "HDF5"),
    "envi_header": (lambda p: _text(p / "x.hdr", "ENVI\nsamples = 10\nlines = 10\nbands = 1\n"), "ENVI"),
    "ascii_grid": (lambda p: _text(p / "x.asc", "ncols 2\nnrows 2\nxllcorner 0\nyllcorner 0\ncellsize 1\n1 2\n3 4\n"),
                   "unknown format"),
    "png": (lambda p: _png(p / "x.png"), "PNG"),
    "jpeg_named_tif": (lambda p: _bytes(p / "x.tif", b"\xff\xd8\xff\xe0" + b"\x00" * 60), "JPEG"),
    "zip_with_a_tif": (lambda p: _zip(p / "x.zip", {"a.tif": (DATA / "OSBS_029.tif").read_bytes()}), "zip"),
    "empty_file": (lambda p: _bytes(p / "x.tif", b""), "empty"),
    "tiff_header_only": (lambda p: _bytes(p / "x.tif", b"II*\x00\x08\x00\x00\x00" + b"\xff" * 32), "corrupt"),
    "sparse_60000_square": (lambda p: _sparse(p / "s.tif", 60000, 60000), "expansion"),
    "declares_10_gigapixels": (lambda p: _sparse(p / "s.tif", 100000, 100000), "more than the limit"),
    "one_tile_of_512_MiB": (lambda p: _sparse(p / "s.tif", 16384, 16384, block=16384, dtype="uint16"), "per block"),
    "2000_bands": (lambda p: _sparse(p / "s.tif", 4, 4, count=2000), "bands"),
}


def _text(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def upload_raster(api, project, path: Path):
    with open(path, "rb") as fh:
        return api.post("/api/rasters/", {"project": project.pk, "file": fh}, format="multipart")


@pytest.mark.parametrize("case", sorted(RASTERS))
def test_hostile_raster_uploads_are_refused_and_leave_nothing(case, team, client_for, data_dir, tmp_path):
    make, message = RASTERS[case]
    path = make(tmp_path)
    before = files_under(data_dir)
    response = upload_raster(client_for(team.outsider), team.other_project, path)
    assert response.status_code == 400, response.content
    assert message in response.json()["detail"], response.json()["detail"]
    assert Raster.objects.count() == 0
    assert files_under(data_dir) == before


@pytest.fixture
def ready_raster(team, client_for, data_dir, run_jobs):
    body = upload_raster(client_for(team.owner), team.project, DATA / "OSBS_029.tif").json()
    run_jobs()
    raster = Raster.objects.get(pk=body["id"])
    assert raster.status == "ready", raster.error
    return raster


def test_a_vrt_onto_another_projects_cog_is_refused(team, client_for, data_dir, tmp_path, ready_raster):
    cog = data_dir / "rasters" / str(ready_raster.pk) / "cog.tif"
    assert cog.exists()
    response = upload_raster(client_for(team.outsider), team.other_project,
                             _text(tmp_path / "copy.vrt", vrt(str(cog), raw=False)))
    assert response.status_code == 400 and "GDAL VRT" in response.json()["detail"]
    assert list(Raster.objects.values_list("pk", flat=True)) == [ready_raster.pk]


def test_a_vrt_onto_a_url_makes_no_request(team, client_for, data_dir, tmp_path):
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:  # noqa: N802
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        do_GET = do_HEAD  # noqa: N815

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"/vsicurl/http://127.0.0.1:{server.server_address[1]}/x.tif"
        response = upload_raster(client_for(team.outsider), team.other_project,
                                 _text(tmp_path / "ssrf.tif", vrt(url, raw=False)))
    finally:
        server.shutdown()
    assert response.status_code == 400
    assert hits == []


def test_the_worker_ingest_refuses_a_vrt_too(team, client_for, data_dir, tmp_path, run_jobs):
    """Defence in depth: a source that is not a GeoTIFF (however it got there) fails its ingest."""
    body = upload_raster(client_for(team.owner), team.project, DATA / "SOAP_061.tif").json()
    source = data_dir / "rasters" / str(body["id"]) / "source.tif"
    source.write_text(vrt("/proc/self/environ"))
    run_jobs()
    raster = Raster.objects.get(pk=body["id"])
    assert raster.status == "failed" and "GDAL VRT" in raster.error
    assert not (source.parent / "cog.tif").exists()


def test_a_limit_set_low_names_the_setting(team, client_for, data_dir, tmp_path, settings):
    settings.MAX_RASTER_PIXELS = 1000
    response = upload_raster(client_for(team.owner), team.project, write_raster(tmp_path / "r.tif"))
    assert response.status_code == 400 and "RASTERLAB_MAX_RASTER_PIXELS" in response.json()["detail"]
    assert Raster.objects.count() == 0


# model packages --------------------------------------------------------------------------------
def _bomb(path: Path, members: int, size: int) -> Path:
    chunk = bytes(size)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("model.emd", '{"Framework": "PyTorch", "ModelConfiguration": "FasterRCNN"}')
        for i in range(members):
            archive.writestr(f"z/{i:05d}.bin", chunk)
    return path


def _link(path: Path, name: str, target: str) -> Path:
    make_dlpk(path)
    with zipfile.ZipFile(path, "a") as archive:
        info = zipfile.ZipInfo(name)
        info.external_attr = (0o120777 << 16)
        archive.writestr(info, target)
    return path


def _member(path: Path, name: str) -> Path:
    make_dlpk(path)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(name, b"x")
    return path


PACKAGES = {
    "bomb_of_1MiB_members": (lambda p: _bomb(p / "b.dlpk", 100, MiB), "zip bomb"),
    "bomb_of_64KiB_members": (lambda p: _bomb(p / "b.dlpk", 1100, 64 * 1024), "zip bomb"),
    "symlink_member": (lambda p: _link(p / "l.dlpk", "ModelCharacteristics/x.png", "/etc/passwd"), "symbolic link"),
    "dotdot_member": (lambda p: _member(p / "t.dlpk", "../../../../tmp/evil.py"), "outside the package"),
    "absolute_member": (lambda p: _member(p / "a.dlpk", "/etc/cron.d/evil"), "absolute path"),
    "not_a_zip": (lambda p: _bytes(p / "x.dlpk", b"MZ" + b"\x00" * 100), "not a .dlpk"),
}


@pytest.mark.parametrize("case", sorted(PACKAGES))
def test_hostile_packages_are_refused_and_leave_nothing(case, team, client_for, data_dir, tmp_path):
    make, message = PACKAGES[case]
    path = make(tmp_path)
    before = files_under(data_dir)
    with open(path, "rb") as fh:
        response = client_for(team.outsider).post("/api/models/", {"file": fh, "project": team.other_project.pk},
                                                  format="multipart")
    assert response.status_code == 400, response.content
    assert message in response.json()["detail"], response.json()["detail"]
    assert ModelPackage.objects.count() == 0
    assert files_under(data_dir) == before


def test_package_expanded_size_follows_the_upload_limit():
    from backend.engine.dlpk import PackageLimits

    limits = PackageLimits.for_upload_limit(1024 * MiB)
    assert limits.max_total_size == 4 * 1024 * MiB
    assert PackageLimits.for_upload_limit(1 * MiB).max_total_size == 256 * MiB


# vector imports and feature bodies ---------------------------------------------------------------
UNCLOSED = ('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"class_value":1},'
            '"geometry":{"type":"Polygon","coordinates":[[[-81.99,29.69],[-81.98,29.69],[-81.98,29.7],'
            '[-81.99,29.7]]]}}]}')
OGR_VRT = ('<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>/etc/passwd</SrcDataSource>'
           "</OGRVRTLayer></OGRVRTDataSource>")


def _shp_link_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        info = zipfile.ZipInfo("roads.shp")
        info.external_attr = (0o120777 << 16)
        archive.writestr(info, "/etc/passwd")
    return path


IMPORTS = {
    "unclosed_ring": (lambda p: _text(p / "u.geojson", UNCLOSED), "malformed geometry"),
    "ogr_vrt": (lambda p: _text(p / "x.vrt", OGR_VRT), "is not a"),
    "shp_symlink_in_zip": (lambda p: _shp_link_zip(p / "s.zip"), "could not be read"),
    "deep_json": (lambda p: _text(p / "d.geojson", "[" * 50000 + "]" * 50000), "could not be read"),
}


@pytest.mark.parametrize("case", sorted(IMPORTS))
def test_hostile_vector_imports_are_refused_and_add_nothing(case, team, client_for, data_dir, tmp_path):
    make, message = IMPORTS[case]
    layer = Layer.objects.filter(project=team.project).first()
    before = files_under(data_dir)
    with open(make(tmp_path), "rb") as fh:
        response = client_for(team.owner).post(f"/api/layers/{layer.pk}/import/", {"file": fh}, format="multipart")
    assert response.status_code == 400, response.content
    assert message in response.json()["detail"], response.json()["detail"]
    assert Feature.objects.count() == 0
    assert files_under(data_dir) == before


SQUARE = [[[-81.99, 29.69], [-81.98, 29.69], [-81.98, 29.7], [-81.99, 29.7], [-81.99, 29.69]]]
BAD_FEATURES = {
    "two_point_ring": ({"type": "Polygon", "coordinates": [SQUARE[0][:2]]}, "geometry:"),
    "self_intersecting": ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
                          "Self-intersection"),
    "latitude_1000": ({"type": "Point", "coordinates": [10, 1000]}, "outside EPSG:4326"),
    "line": ({"type": "LineString", "coordinates": [[0, 0], [1, 1]]}, "not supported"),
    "collection": ({"type": "GeometryCollection", "geometries": []}, "not supported"),
    "nan_coordinates": ('{"type": "Point", "coordinates": [NaN, 1]}', "geometry:"),
    "deep_coordinates": ({"type": "Polygon", "coordinates": [[[[[[[[0]]]]]]]]}, "geometry:"),
}


def test_an_unclosed_ring_in_a_feature_body_is_closed_not_a_500(team, client_for):
    layer = Layer.objects.filter(project=team.project).first()
    response = client_for(team.owner).post(f"/api/layers/{layer.pk}/features/", {
        "type": "Feature", "geometry": {"type": "Polygon", "coordinates": [SQUARE[0][:-1]]},
        "properties": {"class_value": 1}}, format="json")
    assert response.status_code == 201, response.content
    ring = response.json()["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1]


@pytest.mark.parametrize("case", sorted(BAD_FEATURES))
def test_hostile_feature_geometries_are_400(case, team, client_for):
    geometry, message = BAD_FEATURES[case]
    layer = Layer.objects.filter(project=team.project).first()
    response = client_for(team.owner).post(f"/api/layers/{layer.pk}/features/",
                                           {"type": "Feature", "geometry": geometry, "properties": {"class_value": 1}},
                                           format="json")
    assert response.status_code == 400, response.content
    assert message in response.json()["detail"], response.json()["detail"]
    assert Feature.objects.count() == 0


def test_json_nested_too_deeply_is_400(team, client_for):
    layer = Layer.objects.filter(project=team.project).first()
    body = b'{"type": "Feature", "geometry": ' + b"[" * 100000 + b"]" * 100000 + b"}"
    response = client_for(team.owner).post(f"/api/layers/{layer.pk}/features/", body,
                                           content_type="application/json")
    assert response.status_code == 400 and "nested too deeply" in response.json()["detail"]
    assert Feature.objects.count() == 0


def test_zip_of_a_plain_json_bomb_body_is_not_read_whole(team, client_for):
    """A body over DATA_UPLOAD_MAX_MEMORY_SIZE is refused before it is parsed."""
    layer = Layer.objects.filter(project=team.project).first()
    body = b'{"type": "Feature", "properties": {"x": "' + b"a" * (11 * MiB) + b'"}}'
    response = client_for(team.owner).post(f"/api/layers/{layer.pk}/features/", io.BytesIO(body).read(),
                                           content_type="application/json")
    assert 400 <= response.status_code < 500
    assert Feature.objects.count() == 0


@pytest.mark.parametrize("url", ["/accounts/login/", "/api/auth/token/", "/api/weights/"])
def test_multipart_bodies_anywhere_are_capped(url, team, client_for, data_dir, settings, tmp_path):
    """Not only the upload endpoints: a big multipart body to any URL (the sign-in page's CSRF check
    parses it before a view runs) stops at the largest upload limit, and nothing stays on disk."""
    settings.MAX_UPLOAD_MB = settings.MAX_MODEL_UPLOAD_MB = 1
    path = _bytes(tmp_path / "big.bin", b"\x00" * (3 * MiB))
    client = client_for(team.owner) if url == "/api/weights/" else client_for(None)
    with open(path, "rb") as fh:
        response = client.post(url, {"file": fh, "username": "owner", "password": "x"}, format="multipart")
    # (a non-staff session is refused before its body is read at all: 403)
    assert response.status_code in ((400, 403) if url == "/api/weights/" else (400,)), response.content[:200]
    assert list((data_dir / "tmp").iterdir()) == []
