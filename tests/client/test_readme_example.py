"""The README's notebook example (upload, import labels, export, train, detect, read results, NMS,
download and upload the model) run as written against the real server and workers (issue 19)."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- client-example -->", 1)[1].split("<!-- /client-example -->", 1)[0]
    return block.split("```python\n", 1)[1].rsplit("```", 1)[0]


def test_the_readme_example_runs_end_to_end(server, rl, tmp_path, monkeypatch):
    monkeypatch.setenv("RASTERLAB_URL", server.url)
    monkeypatch.setenv("RASTERLAB_TOKEN", rl.token)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "data").symlink_to(ROOT / "tests" / "data")
    monkeypatch.chdir(tmp_path)  # the example's relative paths, and where it downloads the model
    namespace: dict = {}
    exec(compile(readme_example(), str(ROOT / "README.md"), "exec"), namespace)  # noqa: S102 - our README

    raster, labels, dataset, model = (namespace[k] for k in ("raster", "labels", "dataset", "model"))
    assert raster.status == "ready" and raster.width == 400 and raster.count == 3
    assert labels.feature_count == 61
    assert dataset.status == "ready" and dataset.chip_count > 0 and dataset.metadata_format == "PASCAL_VOC_rectangles"
    assert model.model_type == "ObjectDetection" and model.training["epochs_run"] == 1
    assert isinstance(model.metrics, dict)
    names = [a["name"] for a in model.query_info()["arguments"]]
    assert "threshold" in names and "batch_size" in names
    trees = namespace["trees"]
    assert trees.kind == "detections"
    collection = trees.to_geojson()
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == trees.feature_count
    found = namespace["found"]
    if isinstance(found, dict):
        assert found["type"] == "FeatureCollection"
    else:  # geopandas installed: a GeoDataFrame in EPSG:4326 with the features' properties
        assert len(found) == trees.feature_count and found.crs.to_epsg() == 4326
        assert found.empty or {"class_value", "confidence"} <= set(found.columns)
    assert (tmp_path / "trees.dlpk").stat().st_size == model.size
    copy = namespace["copy"]
    assert copy in rl.list_models(search="Trees") and copy.project == namespace["site_b"].id
    assert copy.title == "Trees (copy)" and copy.model_type == model.model_type
    # the job carried the model's arguments as given, the rest from the package
    job = rl.job(trees.source_job)
    assert job.params["arguments"]["threshold"] == 0.05 and job.params["arguments"]["batch_size"] == 4
