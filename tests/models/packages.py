"""Builders of .dlpk files for the model package tests (real Esri .emd files + tiny weights)."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import torch

from tests.conftest import DATA

ESRI = DATA / "esri"
FEATURE_CLASSIFIER_EMD = ESRI / "esri-rdl_FeatureClassifier_woolseyFire_600_50.emd"
MODEL_EMDS = sorted(p for p in ESRI.glob("esri-rdl_*.emd"))
EXPORT_EMDS = sorted(ESRI.glob("export_*.emd"))


class Payload:
    """Unpickling this opens `marker` for writing: proof that a pickle would run code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


def state_dict_bytes(payload: Any = None) -> bytes:
    """A tiny torch.save'd state_dict (or `payload` saved the same way)."""
    buffer = io.BytesIO()
    torch.save(payload if payload is not None else {"weight": torch.zeros(2, 3), "bias": torch.ones(2)}, buffer)
    return buffer.getvalue()


def write_zip(path: Path, members: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content.encode() if isinstance(content, str) else content)
    return path


def esri_package(path: Path, emd_file: Path, *, weights: bytes | None = None,
                 extra: dict[str, bytes | str] | None = None) -> Path:
    """A package around a real Esri .emd: the .emd, its ModelFile (tiny weights), a script and
    the ModelCharacteristics images arcgis.learn writes."""
    emd = json.loads(emd_file.read_text(encoding="utf-8-sig"))
    members: dict[str, bytes | str] = {emd_file.name: emd_file.read_bytes()}
    model_file = emd.get("ModelFile")
    if isinstance(model_file, str) and model_file:
        members[model_file.replace(".\\", "").replace("\\", "/")] = weights if weights is not None else state_dict_bytes()
    members["ModelCharacteristics/loss_graph.png"] = PNG
    members["ModelCharacteristics/show_results.png"] = PNG
    members["ArcGISObjectClassifier.py"] = "raise SystemExit('never imported')\n"
    members.update(extra or {})
    return write_zip(path, members)


def feature_classifier(path: Path, **kwargs: Any) -> Path:
    """A runnable ArcGIS FeatureClassifier (resnet34) package from the real woolseyFire .emd."""
    return esri_package(path, FEATURE_CLASSIFIER_EMD, **kwargs)


def rasterlab_emd(**changes: Any) -> dict[str, Any]:
    """An .emd as Rasterlab's training writes it (FasterRCNN, rasterlab_arch set)."""
    emd: dict[str, Any] = {
        "Framework": "arcgis.learn.models._inferencing",
        "ModelConfiguration": "_model_extension_inferencing",
        "ModelType": "ObjectDetection",
        "ModelFile": "trees.pth",
        "ModelName": "FasterRCNN",
        "ImageHeight": 256,
        "ImageWidth": 256,
        "ExtractBands": [0, 1, 2],
        "ModelParameters": {"backbone": "resnet50", "rasterlab_arch": "FasterRCNN"},
        "MinCellSize": {"x": 0.05, "y": 0.05, "spatialReference": {"wkid": 32617, "latestWkid": 32617}},
        "MaxCellSize": {"x": 0.2, "y": 0.2, "spatialReference": {"wkid": 32617, "latestWkid": 32617}},
        "SupportsVariableTileSize": False,
        "average_precision_score": {"Tree": 0.61},
        "Classes": [{"Value": 1, "Name": "Tree", "Color": [0, 200, 0]},
                    {"Value": 2, "Name": "Snag", "Color": [120, 80, 40]}],
        "RasterlabTrainingRun": {"epochs": 2, "note": "unknown key kept on rewrite"},
    }
    emd.update(changes)
    return emd


def rasterlab_folder(folder: Path, **changes: Any) -> Path:
    """A model folder as training writes it: trees.emd, trees.pth, ModelCharacteristics/."""
    (folder / "ModelCharacteristics").mkdir(parents=True)
    (folder / "trees.emd").write_text(json.dumps(rasterlab_emd(**changes), indent=4))
    (folder / "trees.pth").write_bytes(state_dict_bytes())
    (folder / "ModelCharacteristics" / "loss_graph.png").write_bytes(PNG)
    return folder


def rasterlab_package(path: Path, **changes: Any) -> Path:
    emd = rasterlab_emd(**changes)
    return write_zip(path, {"trees.emd": json.dumps(emd, indent=4), "trees.pth": state_dict_bytes(),
                            "ModelCharacteristics/loss_graph.png": PNG})


def read_emd(data: bytes) -> dict[str, Any]:
    """The root .emd of a downloaded package."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = [n for n in archive.namelist() if "/" not in n and n.lower().endswith(".emd")]
        assert len(names) == 1, names
        return json.loads(archive.read(names[0]))


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


PNG = _png()
