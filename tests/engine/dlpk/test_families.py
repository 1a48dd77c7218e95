from __future__ import annotations

from typing import Any

import pytest

from backend.engine.dlpk import model_family, parse_emd
from tests.engine.dlpk.samples import (
    ESRI_DIR,
    fasterrcnn_emd,
    feature_classifier_emd,
    maskrcnn_emd,
    ssd_emd,
    unet_emd,
)


def _real(name: str) -> Any:
    return parse_emd((ESRI_DIR / name).read_bytes())


@pytest.mark.parametrize(
    ("emd", "family", "architecture"),
    [
        (maskrcnn_emd(), "instance_detection", "MaskRCNN"),
        (maskrcnn_emd(ModelParameters={"backbone": "resnet101"}), "instance_detection",
         "MaskRCNN"),
        (maskrcnn_emd(ModelParameters={}), "instance_detection", "MaskRCNN"),  # default resnet50
        (fasterrcnn_emd(), "object_detection", "FasterRCNN"),
        (feature_classifier_emd(), "object_classification", "FeatureClassifier"),
        (unet_emd(), "pixel_classification", "UnetClassifier"),  # fastai DynamicUnet (issue 15)
        (unet_emd(ModelParameters={}), "pixel_classification", "UnetClassifier"),  # resnet34
    ],
)
def test_runnable_arcgis_packages(emd: dict[str, Any], family: str, architecture: str) -> None:
    info = model_family(parse_emd(emd))
    assert info.runnable, info.reason
    assert info.family == family
    assert info.architecture == architecture
    assert architecture in info.reason


def test_legacy_pro_pytorch_feature_classifier_is_runnable() -> None:
    info = model_family(_real("esri-rdl_FeatureClassifier_woolseyFire_600_50.emd"))
    assert (info.family, info.runnable, info.architecture) == (
        "object_classification", True, "FeatureClassifier",
    )


@pytest.mark.parametrize(
    ("name", "family", "reason"),
    [
        ("esri-rdl_KerasMaskRCNN_mask_rcnn.emd", "object_detection", "built for Keras"),
        ("esri-rdl_KerasObjectClassifier_HouseDamage.emd", "object_classification",
         "built for Keras"),
        ("esri-rdl_TFDeepLab_landclassification.emd", "pixel_classification",
         "built for TensorFlow"),
        ("esri-rdl_CustomPRF_TextSAM.emd", "object_detection",
         "custom Python raster function 'TextSAM.py'"),
        ("esri-rdl_CustomPRF_DraftTemplateEMD.emd", "object_detection",
         "custom Python raster function"),
        ("esri-rdl_FastaiSSD_pytorch_fastai_ssd.emd", "object_detection",
         "SingleShotDetector packages from ArcGIS use Esri-specific layers"),
        ("export_PascalVOC_plam_esri_model_definition.emd", None, "has no ModelType"),
    ],
)
def test_real_packages_that_are_not_runnable(name: str, family: str | None, reason: str) -> None:
    info = model_family(_real(name))
    assert not info.runnable
    assert info.family == family
    assert reason in info.reason


@pytest.mark.parametrize(
    ("emd", "reason"),
    [
        (ssd_emd(), "SingleShotDetector packages from ArcGIS"),
        (unet_emd(ModelParameters={"backbone": "vgg16"}), "UnetClassifier with backbone vgg16"),
        (unet_emd(ModelName="PSPNetClassifier", ModelConfiguration="_psp"), "PSPNetClassifier"),
        (fasterrcnn_emd(ModelName="RetinaNet", ModelConfiguration="_RetinaNet_Inference"),
         "RetinaNet packages"),
        (fasterrcnn_emd(ModelName="YOLOv3", ModelConfiguration="_yolov3_inference"), "YOLOv3"),
        (maskrcnn_emd(ModelParameters={"backbone": "MaskRCNN2.0"}),
         "MaskRCNN with backbone MaskRCNN2.0 is not supported"),
        (maskrcnn_emd(ModelParameters={"backbone": "resnet50", "pointrend": True}), "PointRend"),
        (fasterrcnn_emd(ModelParameters={"backbone": "mobilenet_v3_large"}),
         "runs FasterRCNN with resnet50"),
        (feature_classifier_emd(ModelParameters={}), "backbone (none given)"),
        (maskrcnn_emd(ModelType="SuperResolution"), "ModelType 'SuperResolution' is not one"),
        (maskrcnn_emd(ModelName="Pix2Pix", ModelConfiguration="_pix2pix"),
         "Pix2Pix is not an arcgis.learn architecture"),
    ],
)
def test_arcgis_packages_that_are_not_runnable(emd: dict[str, Any], reason: str) -> None:
    info = model_family(parse_emd(emd))
    assert not info.runnable
    assert reason in info.reason


@pytest.mark.parametrize(
    ("model_name", "model_type", "family"),
    [
        ("FasterRCNN", "ObjectDetection", "object_detection"),
        ("RetinaNet", "ObjectDetection", "object_detection"),
        ("SSD", "ObjectDetection", "object_detection"),
        ("SingleShotDetector", "ObjectDetection", "object_detection"),
        ("MaskRCNN", "InstanceDetection", "instance_detection"),
        ("UnetClassifier", "ImageClassification", "pixel_classification"),
        ("DeepLab", "ImageClassification", "pixel_classification"),
        ("FeatureClassifier", "ObjectClassification", "object_classification"),
    ],
)
def test_rasterlab_packages_are_runnable(model_name: str, model_type: str, family: str) -> None:
    emd = parse_emd({
        "Framework": "arcgis.learn.models._inferencing", "ModelType": model_type,
        "ModelName": model_name, "ModelFile": "m.pth",
        "ModelParameters": {"backbone": "resnet18", "rasterlab_arch": f"{model_name}-x"},
    })
    info = model_family(emd)
    assert (info.family, info.runnable) == (family, True)
    assert "Rasterlab" in info.reason


def test_rasterlab_package_with_inconsistent_type_or_unknown_name() -> None:
    params = {"rasterlab_arch": "x"}
    wrong_type = model_family(parse_emd(
        {"ModelType": "ObjectDetection", "ModelName": "MaskRCNN", "ModelParameters": params}
    ))
    assert not wrong_type.runnable and "does not match" in wrong_type.reason
    unknown = model_family(parse_emd(
        {"ModelType": "ObjectDetection", "ModelName": "YOLOv3", "ModelParameters": params}
    ))
    assert not unknown.runnable and "does not train" in unknown.reason
