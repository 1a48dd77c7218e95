"""The architectures we build, and how each maps onto arcgis.learn's emd vocabulary.

One `ArchSpec` per trainable model type. Names follow the Train Deep Learning Model tool
(`model_type` = arcgis.learn's ModelName, plus a few aliases). `esri_native` marks the models
whose state_dict is key-for-key arcgis.learn's, so the package can claim arcgis.learn's
Framework/ModelConfiguration; the others are our own layouts and say so in the emd.
"""
from __future__ import annotations

from dataclasses import dataclass

from backend.engine.errors import EngineInputError

OBJECT_DETECTION = "object_detection"
INSTANCE_DETECTION = "instance_detection"
PIXEL_CLASSIFICATION = "pixel_classification"
OBJECT_CLASSIFICATION = "object_classification"

FAMILY_OF_MODEL_TYPE = {
    "ObjectDetection": OBJECT_DETECTION,
    "InstanceDetection": INSTANCE_DETECTION,
    "ImageClassification": PIXEL_CLASSIFICATION,
    "ObjectClassification": OBJECT_CLASSIFICATION,
}

_PRO_FUNCTIONS = "[Functions]System\\DeepLearning\\ArcGISLearn\\"


@dataclass(frozen=True)
class ArchSpec:
    """What we know about one trainable architecture."""

    name: str  # arcgis.learn ModelName
    model_type: str  # emd ModelType
    family: str  # one of the four family constants above
    backbones: tuple[str, ...]
    default_backbone: str
    model_configuration: str  # arcgis.learn inference module (only claimed when esri_native)
    inference_function: str  # the Pro PRF file name
    esri_native: bool  # state_dict is arcgis.learn's layout for these backbones
    esri_native_backbones: tuple[str, ...] = ()
    supports_variable_tile_size: bool = False

    @property
    def background(self) -> bool:
        """True when output index 0 is background / NoData (N+1 outputs)."""
        return self.family != OBJECT_CLASSIFICATION

    @property
    def torchvision_detector(self) -> bool:
        """Detectors take 0..1 inputs and normalise inside (GeneralizedRCNNTransform)."""
        return self.family in (OBJECT_DETECTION, INSTANCE_DETECTION)

    def is_esri_native(self, backbone: str) -> bool:
        return self.esri_native and backbone in self.esri_native_backbones

    def check_backbone(self, backbone: str) -> str:
        """Canonical backbone name, or EngineInputError listing the supported ones."""
        name = BACKBONE_ALIASES.get(backbone.lower(), backbone.lower())
        if name not in self.backbones:
            raise EngineInputError(
                f"{self.name} does not support backbone {backbone!r}; "
                f"choose one of: {', '.join(self.backbones)}"
            )
        return name


BACKBONE_ALIASES = {
    "mobilenet_v3_large_fpn": "mobilenet_v3_large",
    "mobilenetv3_large": "mobilenet_v3_large",
    "mobilenet_v3": "mobilenet_v3_large",
    "efficientnet-lite0": "efficientnet_lite0",
    "tf_efficientnet_lite0": "efficientnet_lite0",
}

_RESNETS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")

ARCHS: dict[str, ArchSpec] = {
    spec.name: spec
    for spec in (
        ArchSpec(
            name="FasterRCNN",
            model_type="ObjectDetection",
            family=OBJECT_DETECTION,
            backbones=("resnet50", "mobilenet_v3_large", "efficientnet_lite0"),
            default_backbone="resnet50",
            model_configuration="_model_extension_inferencing",
            inference_function="ArcGISObjectDetector.py",
            esri_native=True,
            esri_native_backbones=("resnet50",),
        ),
        ArchSpec(
            name="RetinaNet",
            model_type="ObjectDetection",
            family=OBJECT_DETECTION,
            backbones=("resnet50",),
            default_backbone="resnet50",
            model_configuration="_RetinaNet_Inference",
            inference_function="ArcGISObjectDetector.py",
            esri_native=False,
        ),
        ArchSpec(
            name="SingleShotDetector",
            model_type="ObjectDetection",
            family=OBJECT_DETECTION,
            backbones=("mobilenet_v3_large",),
            default_backbone="mobilenet_v3_large",
            model_configuration="_DynamicSSD",
            inference_function="ArcGISObjectDetector.py",
            esri_native=False,
        ),
        ArchSpec(
            name="MaskRCNN",
            model_type="InstanceDetection",
            family=INSTANCE_DETECTION,
            backbones=("resnet50", "resnet101", "resnet152"),
            default_backbone="resnet50",
            model_configuration="_maskrcnn_inferencing",
            inference_function="ArcGISInstanceDetector.py",
            esri_native=True,
            esri_native_backbones=("resnet50", "resnet101", "resnet152"),
            supports_variable_tile_size=True,
        ),
        ArchSpec(
            name="UnetClassifier",
            model_type="ImageClassification",
            family=PIXEL_CLASSIFICATION,
            backbones=("resnet18", "resnet34", "resnet50", "resnet101"),
            default_backbone="resnet34",
            model_configuration="_unet",
            inference_function="ArcGISImageClassifier.py",
            esri_native=False,
            supports_variable_tile_size=True,
        ),
        ArchSpec(
            name="DeepLab",
            model_type="ImageClassification",
            family=PIXEL_CLASSIFICATION,
            backbones=("resnet50", "resnet101"),
            default_backbone="resnet50",
            model_configuration="_deeplab_infrencing",
            inference_function="ArcGISImageClassifier.py",
            esri_native=False,
            supports_variable_tile_size=True,
        ),
        ArchSpec(
            name="FeatureClassifier",
            model_type="ObjectClassification",
            family=OBJECT_CLASSIFICATION,
            backbones=_RESNETS,
            default_backbone="resnet34",
            model_configuration="_FeatureClassifier",
            inference_function="ArcGISObjectClassifier.py",
            esri_native=True,
            esri_native_backbones=_RESNETS,
        ),
    )
}

_ALIASES = {
    "fasterrcnn": "FasterRCNN",
    "retinanet": "RetinaNet",
    "ssd": "SingleShotDetector",
    "singleshotdetector": "SingleShotDetector",
    "maskrcnn": "MaskRCNN",
    "unet": "UnetClassifier",
    "unetclassifier": "UnetClassifier",
    "deeplab": "DeepLab",
    "deeplabv3": "DeepLab",
    "featureclassifier": "FeatureClassifier",
}


def arch_spec(model_type: str) -> ArchSpec:
    """The spec for a model type name (arcgis.learn ModelName or a short alias)."""
    name = _ALIASES.get(model_type.replace("_", "").replace(" ", "").lower())
    if name is None:
        raise EngineInputError(
            f"unknown model type {model_type!r}; choose one of: {', '.join(ARCHS)}"
        )
    return ARCHS[name]


def pro_inference_function(spec: ArchSpec) -> str:
    """The emd InferenceFunction that points at the PRF shipped inside ArcGIS Pro."""
    return _PRO_FUNCTIONS + spec.inference_function
