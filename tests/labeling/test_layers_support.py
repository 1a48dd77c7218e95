"""Helpers shared by the layer / feature tests (no tests here)."""
from __future__ import annotations

from typing import Any

import pytest

# Somewhere in Florida (over OSBS_029.tif), in degrees.
LON, LAT = -81.9912, 29.6892
CLASSES = [{"value": 1, "name": "Tree", "color": [0, 200, 0]}, {"value": 2, "name": "Dead", "color": [200, 0, 0]}]


def square(lon: float = LON, lat: float = LAT, size: float = 0.0001) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[lon, lat], [lon + size, lat], [lon + size, lat + size],
                                                [lon, lat + size], [lon, lat]]]}


def feature(geometry: dict[str, Any] | None = None, **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry or square(), "properties": {"class_value": 1, **properties}}


@pytest.fixture
def labels(team):
    """The team project's default "Labels" layer, with two classes in the schema."""
    from apps.labeling.models import Layer

    team.project.classes = CLASSES
    team.project.save()
    return Layer.objects.get(project=team.project, kind="labels")


def features_url(layer) -> str:
    return f"/api/layers/{layer.pk}/features/"


def feature_url(layer, fid: int) -> str:
    return f"/api/layers/{layer.pk}/features/{fid}/"


def create(api, layer, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = api.post(features_url(layer), body or feature(), format="json")
    assert response.status_code == 201, response.content
    return response.json()
