"""The acquisition date of a raster, from its GeoTIFF tags (when the producer wrote one).

Producers disagree on where it goes: TIFFTAG_DATETIME ("YYYY:MM:DD HH:MM:SS", the TIFF spec; often
the processing time rather than the capture time, so it is the last resort), or a metadata item
named like ACQUISITIONDATE / ACQUISITION_DATE / DATE_ACQUIRED / SENSING_TIME (satellite and
drone pipelines) in the default or the IMD/IMAGERY domains. The first parsable one wins.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .safe_open import open_geotiff

# Tried in this order; keys are compared upper-case with '_' and '-' removed.
ACQUISITION_KEYS = ("ACQUISITIONDATE", "ACQUISITIONDATETIME", "DATEACQUIRED", "ACQUISITIONTIME", "SENSINGTIME",
                    "SENSINGDATE", "FIRSTLINETIME", "IMAGINGDATE", "CAPTUREDATE", "DATETIMEORIGINAL",
                    "TIFFTAGDATETIME")
DOMAINS = (None, "IMD", "IMAGERY")
_DATE = re.compile(r"(\d{4})[-:/.]?(\d{2})[-:/.]?(\d{2})(?:[T _]?(\d{2}):?(\d{2})(?::?(\d{2}))?)?")


def parse_date(value: Any) -> datetime | None:
    """A UTC datetime from the usual date spellings ("2021:06:03 10:20:00", "2021-06-03T10:20Z",
    "20210603"); None when there is no plausible date in ``value``."""
    match = _DATE.search(str(value or "").strip())
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
    try:
        found = datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    except ValueError:
        return None
    return found if 1900 <= year <= 2200 else None


def _normal(key: str) -> str:
    return key.upper().replace("_", "").replace("-", "")


def acquisition_date(path: Path) -> datetime | None:
    """The raster's acquisition date from its tags, or None (never raises for a missing tag)."""
    with open_geotiff(path) as ds:
        tags: dict[str, str] = {}
        for domain in DOMAINS:
            try:
                found = ds.tags(ns=domain) if domain else ds.tags()
            except Exception:  # noqa: BLE001 - an absent domain is no date, not an error
                continue
            for key, value in found.items():
                tags.setdefault(_normal(key), value)
    for key in ACQUISITION_KEYS:
        if key in tags:
            date = parse_date(tags[key])
            if date is not None:
                return date
    return None
