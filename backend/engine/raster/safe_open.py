"""Open an uploaded raster as a GeoTIFF and nothing else: no other GDAL format, no sidecar, no URL.

GDAL recognises hundreds of formats by their content, and several of them name other files: a VRT
reads whatever path or URL its sources list (``/proc/self/environ``, another project's COG,
``/vsicurl/http://...``), and so can netCDF, HDF, ENVI headers, MRF, GDAL's own ``.aux.xml``
sidecars and more. Rasterlab ingests GeoTIFF (BigTIFF and Cloud Optimized GeoTIFF included: a COG
is a GeoTIFF), so an upload is accepted only when its first bytes are a TIFF header, and GDAL is
then allowed the GTiff driver alone, with sibling-file discovery and PAM sidecars off, so that it
reads the bytes of this one local file and no other.
"""
from __future__ import annotations

import os
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import rasterio

from ..errors import EngineInputError

# Little/big-endian classic TIFF, then little/big-endian BigTIFF.
TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
ALLOWED_DRIVERS = ("GTiff",)

# Config for every GDAL open of an uploaded file: no listing of the folder (so no .ovr, .msk,
# .aux.xml, .tfw or .IMD is picked up beside it), no PAM sidecar, no network.
GDAL_SAFE_ENV = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "GDAL_PAM_ENABLED": "NO",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".refused-by-rasterlab",
    "GDAL_HTTP_TIMEOUT": "1",
}

_KNOWN_HEADS = (
    (b"<VRTDataset", "a GDAL VRT (XML that points at other files)"),
    (b"<", "an XML file"),
    (b"CDF", "a netCDF file"),
    (b"\x89HDF", "an HDF5 file"),
    (b"\x0e\x03\x13\x01", "an HDF4 file"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8", "a JPEG image"),
    (b"\x00\x00\x00\x0cjP", "a JPEG 2000 image"),
    (b"PK", "a zip archive"),
    (b"SQLite format 3", "a GeoPackage/SQLite file"),
    (b"GIF8", "a GIF image"),
    (b"BM", "a BMP image"),
    (b"ENVI", "an ENVI header"),
)


def check_geotiff_file(path: Path) -> None:
    """Refuse anything but a regular local file that starts with a TIFF header; say what it is."""
    text = str(path)
    if text.startswith("/vsi") or "://" in text:
        raise EngineInputError("Only local files are read.")
    try:
        mode = os.lstat(path).st_mode
    except OSError as exc:
        raise EngineInputError(f"The raster file cannot be read ({exc.strerror}).") from exc
    if not stat.S_ISREG(mode):
        raise EngineInputError("The raster must be a regular file (not a link, folder or device).")
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head[:4] in TIFF_MAGIC:
        return
    shown = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    what = next((name for magic, name in _KNOWN_HEADS if shown.startswith(magic)), "an unknown format")
    raise EngineInputError(
        f"file: the upload ({what}) is not a raster Rasterlab reads: it takes GeoTIFF (.tif, BigTIFF or "
        "Cloud Optimized GeoTIFF) only, because other formats can name files or URLs that the server would "
        "read. Convert it first, e.g. gdal_translate -of GTiff in.xxx out.tif."
    )


@contextmanager
def open_geotiff(path: Path) -> Iterator[rasterio.DatasetReader]:
    """``rasterio.open`` restricted to this one GeoTIFF file (see the module docstring)."""
    check_geotiff_file(path)
    with rasterio.Env(**GDAL_SAFE_ENV):
        with rasterio.open(path, driver=ALLOWED_DRIVERS[0]) as ds:
            if ds.driver not in ALLOWED_DRIVERS:  # belt and braces: the allow-list is GDAL's
                raise EngineInputError(f"file: read as {ds.driver}, not as a GeoTIFF.")
            yield ds
