"""What packages carry for ArcGIS (issue 15): routes per architecture, Bands/ImageryType, our
ModelConfiguration.py and raster function, and package contents (no inner .dlpk)."""
from __future__ import annotations

import importlib.util
import json
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import torch

from backend.engine.dlpk import inspect_dlpk, rewrite_emd, write_dlpk
from backend.engine.dlpk.interchange import (
    MODEL_CONFIGURATION_FILE,
    PIXEL_FUNCTION_FILE,
    SCRIPTS_DIR,
    arcgis_fields,
    arcgis_route,
    band_names,
)
from backend.engine.dlpk.package import package_members
from backend.engine.nets import arch_spec, build_model
from backend.engine.nets.detection import set_detector_thresholds

CHIP = 64


@pytest.mark.parametrize(
    ("arch", "backbone", "route", "name", "configuration"),
    [
        ("MaskRCNN", "resnet50", "native", "MaskRCNN", "_maskrcnn_inferencing"),
        ("FeatureClassifier", "resnet18", "native", "FeatureClassifier", "_FeatureClassifier"),
        ("UnetClassifier", "resnet34", "native", "UnetClassifier", "_unet"),
        ("FasterRCNN", "resnet50", "native_extension", "FasterRCNN", "_model_extension_inferencing"),
        ("FasterRCNN", "mobilenet_v3_large", "extension", "ModelExtension", "_model_extension_inferencing"),
        ("FasterRCNN", "efficientnet_lite0", "extension", "ModelExtension", "_model_extension_inferencing"),
        ("RetinaNet", "resnet50", "extension", "ModelExtension", "_model_extension_inferencing"),
        ("SingleShotDetector", "mobilenet_v3_large", "extension", "ModelExtension", "_model_extension_inferencing"),
        ("DeepLab", "resnet50", "extension", "ModelExtension", "_model_extension_inferencing"),
    ],
)
def test_every_architecture_has_an_arcgis_route(arch: str, backbone: str, route: str, name: str,
                                                 configuration: str) -> None:
    spec = arch_spec(arch)
    fields = arcgis_fields(arch=arch, backbone=backbone, model_type=spec.model_type, bands=3, imagenet=True)
    assert arcgis_route(arch, backbone) == route
    assert fields["Framework"] == "arcgis.learn.models._inferencing"
    assert (fields["ModelName"], fields["ModelConfiguration"]) == (name, configuration)
    assert "Bands" not in fields and "ImageryType" not in fields  # 8-bit RGB
    if route == "native":
        assert "ModelConfigurationFile" not in fields
        assert fields["InferenceFunction"].startswith("[Functions]System\\DeepLearning\\ArcGISLearn\\")
    else:
        assert fields["ModelConfigurationFile"] == "ModelConfiguration.py"
        assert fields["ModelFileConfigurationClass"] == "RasterlabModelConfiguration"
    if arch == "DeepLab":  # Pro runs our own raster function shipped in the package
        assert fields["InferenceFunction"] == "RasterlabPixelClassifier.py"
        assert fields["DatasetType"] == "Classified_Tiles" and fields["IsEdgeDetection"] is False


def test_multispectral_packages_carry_bands_and_imagery_type() -> None:
    fields = arcgis_fields(arch="FasterRCNN", backbone="resnet50", model_type="ObjectDetection", bands=4,
                           imagenet=False, export_band_names=["Red", "Green", "Blue", "NIR"])
    assert fields["Bands"] == ["r", "g", "b", "nir"] and fields["ImageryType"] == "ms"
    assert band_names(None, 2) == ["band_1", "band_2"]
    assert band_names(["", "Green"], 3) == ["band_1", "g", "band_3"]
    # 3-band imagery that is not 8-bit (statistics normalisation) is "multispectral" to arcgis.learn
    assert "Bands" in arcgis_fields(arch="UnetClassifier", backbone="resnet34",
                                    model_type="ImageClassification", bands=3, imagenet=False)


def _folder(tmp_path: Path, emd: dict[str, Any]) -> Path:
    folder = tmp_path / "m"
    (folder / "ModelCharacteristics").mkdir(parents=True)
    (folder / "m.emd").write_text(json.dumps(emd))
    (folder / "m.pth").write_bytes(b"w" * 100)
    (folder / "ModelCharacteristics" / "loss_graph.png").write_bytes(b"png")
    (folder / "m.dlpk").write_bytes(b"an older package")  # never packaged again
    (folder / "checkpoint.pth").write_bytes(b"c")  # not referenced by the emd
    return folder


def _emd(arch: str, backbone: str, **extra: Any) -> dict[str, Any]:
    spec = arch_spec(arch)
    return {"ModelType": spec.model_type, "ModelFile": "m.pth", "ImageHeight": CHIP, "ImageWidth": CHIP,
            "ExtractBands": [0, 1, 2], "Classes": [{"Value": 1, "Name": "Tree", "Color": [0, 1, 2]}],
            "ModelParameters": {"backbone": backbone, "rasterlab_arch": spec.name},
            **arcgis_fields(arch=spec.name, backbone=backbone, model_type=spec.model_type, bands=3,
                            imagenet=True), **extra}


def test_package_holds_what_the_emd_references_and_our_scripts(tmp_path: Path) -> None:
    folder = _folder(tmp_path, _emd("DeepLab", "resnet50"))
    out = write_dlpk(folder, tmp_path / "m.dlpk")
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        assert sorted(names) == ["ModelCharacteristics/loss_graph.png", "ModelConfiguration.py",
                                 "RasterlabPixelClassifier.py", "m.emd", "m.pth"]
        assert archive.read(MODEL_CONFIGURATION_FILE) == (SCRIPTS_DIR / MODEL_CONFIGURATION_FILE).read_bytes()
        assert archive.read(PIXEL_FUNCTION_FILE) == (SCRIPTS_DIR / PIXEL_FUNCTION_FILE).read_bytes()
    native = _folder(tmp_path / "n", _emd("MaskRCNN", "resnet50"))
    assert [name for _, name in package_members(native)] == [
        "m.emd", "m.pth", "ModelCharacteristics/loss_graph.png"]


def test_rewriting_the_emd_drops_a_stale_inner_package(tmp_path: Path) -> None:
    path = tmp_path / "old.dlpk"
    emd = _emd("MaskRCNN", "resnet50")
    with zipfile.ZipFile(path, "w") as archive:  # as Rasterlab wrote packages before issue 15
        archive.writestr("m.emd", json.dumps(emd))
        archive.writestr("m.pth", b"w")
        archive.writestr("m.dlpk", b"inner copy with the old emd")
    rewrite_emd(path, inspect_dlpk(path).emd.with_changes(description="edited"))
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == ["m.emd", "m.pth"]
        assert json.loads(archive.read("m.emd"))["Description"] == "edited"


def _script() -> ModuleType:
    """Our ModelConfiguration.py from the repository (never a copy found in a package)."""
    spec = importlib.util.spec_from_file_location("rasterlab_model_configuration_test",
                                                  SCRIPTS_DIR / MODEL_CONFIGURATION_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Data:
    def __init__(self, emd: dict[str, Any]) -> None:
        self.emd = emd


@pytest.mark.parametrize(
    ("arch", "backbone", "bands"),
    [("FasterRCNN", "resnet50", 3), ("FasterRCNN", "mobilenet_v3_large", 4), ("RetinaNet", "resnet50", 3),
     ("FasterRCNN", "efficientnet_lite0", 3), ("FasterRCNN", "efficientnet_lite0", 4),
     ("SingleShotDetector", "mobilenet_v3_large", 3), ("DeepLab", "resnet50", 4)],
)
def test_model_configuration_rebuilds_our_networks_and_outputs(arch: str, backbone: str, bands: int) -> None:
    """What ArcGIS runs through ModelConfiguration.py equals what Rasterlab runs (same weights)."""
    from backend.engine.dlpk import parse_emd
    from backend.engine.nets.normalization import scaling_from_band_stats

    spec = arch_spec(arch)
    scaling = scaling_from_band_stats([0.0] * bands, [255.0] * bands, [90.0 + i for i in range(bands)],
                                      [40.0] * bands, bands == 3)
    emd = _emd(arch, backbone, ExtractBands=list(range(bands)))
    if not scaling.imagenet:
        emd["NormalizationStats"] = scaling.normalization_stats()
    torch.manual_seed(0)
    mean, std = scaling.detector_mean_std()
    ours = build_model(spec.name, backbone, 1, bands, CHIP, image_mean=mean, image_std=std,
                       pretrained_backbone=False).eval()
    conf = _script().RasterlabModelConfiguration()
    theirs = conf.get_model(_Data(json.loads(json.dumps(emd))))
    assert [(k, v.shape) for k, v in theirs.state_dict().items()] == [
        (k, v.shape) for k, v in ours.state_dict().items()]
    theirs.load_state_dict(ours.state_dict())
    theirs.eval()
    raw = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (1, bands, CHIP, CHIP)).astype(np.float32))
    normalized = scaling.normalized(raw)  # what ArcGIS hands the configuration (esri-dlpk.md §6)
    assert parse_emd(emd).normalization_stats is not None or scaling.imagenet
    transform = conf.transform_input_multispectral if not scaling.imagenet else conf.transform_input
    with torch.no_grad():
        if spec.torchvision_detector:
            set_detector_thresholds(ours, 0.005, 0.5)
            expected = ours(list(scaling.unit(raw)))[0]
            got = conf.post_process(theirs(transform(normalized, thresh=0.005, nms_overlap=0.5)), 0.5, 0.005,
                                    CHIP, "cpu")[0]
            boxes = ((got[0] + 1) / 2 * CHIP)[:, [1, 0, 3, 2]]
            assert len(boxes) == len(expected["boxes"])
            # Two input paths (unit scale vs normalised + transform) round differently: up to
            # ~1e-3 px on an untrained resnet50 FPN, depending on the machine's kernels.
            assert torch.allclose(boxes, expected["boxes"], atol=5e-3)
            assert float((got[2] - expected["scores"]).abs().max()) < 1e-4, (got[2] - expected["scores"]).abs().max()
        else:
            expected = torch.softmax(ours(normalized)["out"], 1)
            got = conf.post_process(theirs(transform(normalized)), prob_raster=True)
            assert torch.allclose(got, expected, atol=1e-5)
