"""Which inference family a package belongs to, and whether Rasterlab can run it.

Families (the job kind that can use the package):
    object_detection       Detect Objects with boxes (FasterRCNN, RetinaNet, SingleShotDetector)
    instance_detection     Detect Objects with masks (MaskRCNN)
    pixel_classification   Classify Pixels (UnetClassifier, DeepLab)
    object_classification  Classify Objects (FeatureClassifier)

Runnable packages:
- written by Rasterlab: `ModelParameters.rasterlab_arch` is set (the nets/ builder name) and
  ModelName is one of the architectures above;
- written by arcgis.learn (or Pro's legacy PyTorch built-ins) for MaskRCNN, FasterRCNN,
  FeatureClassifier or UnetClassifier with a ResNet backbone: their weights are plain
  torchvision / fastai-v1 layouts that Rasterlab rebuilds without Esri code (esri-dlpk.md §8).
Everything else (Keras, TensorFlow, custom Python raster functions, ModelExtension models of
others, fastai SSD, RetinaNet, YOLOv3, PSPNet, DeepLab from arcgis.learn, ...) is stored but
not runnable;
`reason` says why in words a user understands.
"""
from __future__ import annotations

from dataclasses import dataclass

from backend.engine.dlpk.emd import Emd
from backend.engine.dlpk.runtimes import runtime_of, runtime_reason

MODEL_TYPE_FAMILY: dict[str, str] = {
    "ObjectDetection": "object_detection",
    "InstanceDetection": "instance_detection",
    "ImageClassification": "pixel_classification",
    "ObjectClassification": "object_classification",
}

# ModelTypes accepted in uploaded packages: the four families above plus other ArcGIS model
# types that Rasterlab stores (and lets users download) but cannot run.
KNOWN_MODEL_TYPES = frozenset(
    {*MODEL_TYPE_FAMILY, "PanopticSegmentation", "SuperResolution", "ImageTranslation",
     "ChangeDetection", "ImageCaptioning", "ObjectTracking", "PointCloudClassification",
     "Pix2Pix", "CycleGAN", "Pix2PixHD", "WNet_cGAN"}
)

ARCH_FAMILY: dict[str, str] = {
    "FasterRCNN": "object_detection",
    "RetinaNet": "object_detection",
    "SingleShotDetector": "object_detection",
    "YOLOv3": "object_detection",
    "MaskRCNN": "instance_detection",
    "UnetClassifier": "pixel_classification",
    "DeepLab": "pixel_classification",
    "PSPNetClassifier": "pixel_classification",
    "FeatureClassifier": "object_classification",
}

# Names that mean one of the architectures above.
_ALIASES: dict[str, str] = {"SSD": "SingleShotDetector"}

# ModelConfiguration (arcgis.learn child module, or Pro's legacy built-in name) -> architecture.
_CONFIGURATION_ARCH: dict[str, str] = {
    "_maskrcnn_inferencing": "MaskRCNN",
    "_FeatureClassifier": "FeatureClassifier",
    "_DynamicSSD": "SingleShotDetector",
    "_RetinaNet_Inference": "RetinaNet",
    "_yolov3_inference": "YOLOv3",
    "_unet": "UnetClassifier",
    "_psp": "PSPNetClassifier",
    "_deeplab_infrencing": "DeepLab",
    "FeatureClassifier": "FeatureClassifier",
    "FastaiSSD": "SingleShotDetector",
}

RASTERLAB_ARCHITECTURES = frozenset(
    {"FasterRCNN", "RetinaNet", "SingleShotDetector", "MaskRCNN", "UnetClassifier", "DeepLab",
     "FeatureClassifier"}
)

# arcgis.learn architectures whose weights Rasterlab loads, with the backbones it rebuilds and
# the backbone arcgis.learn uses when the emd names none.
ESRI_RUNNABLE_BACKBONES: dict[str, tuple[frozenset[str], str | None]] = {
    "MaskRCNN": (frozenset({"resnet50", "resnet101", "resnet152"}), "resnet50"),
    "FasterRCNN": (frozenset({"resnet50"}), "resnet50"),
    "FeatureClassifier": (
        frozenset({"resnet18", "resnet34", "resnet50", "resnet101", "resnet152"}),
        None,
    ),
    # fastai's DynamicUnet, rebuilt key for key in nets/dynamic_unet.py
    "UnetClassifier": (frozenset({"resnet18", "resnet34", "resnet50", "resnet101"}), "resnet34"),
}


@dataclass(frozen=True)
class FamilyInfo:
    family: str | None
    """One of the four families, from the architecture or else ModelType; None if neither fits."""
    runnable: bool
    reason: str
    """Why it is (not) runnable, for people."""
    architecture: str | None = None
    """arcgis.learn class name (e.g. "MaskRCNN") when recognised."""


def architecture(emd: Emd) -> str | None:
    """The arcgis.learn architecture of a package, from ModelName then ModelConfiguration."""
    for name in (emd.model_name, emd.model_configuration_name):
        if name is None:
            continue
        name = _ALIASES.get(name, name)
        if name in ARCH_FAMILY:
            return name
        if name in _CONFIGURATION_ARCH:
            return _CONFIGURATION_ARCH[name]
    return None


def _is_pytorch(framework: str | None) -> bool:
    return framework is not None and (
        framework.lower() == "pytorch" or framework.startswith("arcgis.learn")
    )


def _rasterlab_family(emd: Emd, arch: str | None, type_family: str) -> FamilyInfo:
    if arch is None or arch not in RASTERLAB_ARCHITECTURES:
        return FamilyInfo(
            type_family, False,
            f"Rasterlab package of {arch or emd.model_name!r}, which Rasterlab does not "
            f"train; expected one of {', '.join(sorted(RASTERLAB_ARCHITECTURES))}",
            arch,
        )
    family = ARCH_FAMILY[arch]
    if family != type_family:
        return FamilyInfo(
            family, False,
            f"ModelType {emd.model_type!r} does not match ModelName {emd.model_name!r}; "
            "fix ModelType in the .emd",
            arch,
        )
    return FamilyInfo(family, True, f"Rasterlab {arch} ({emd.rasterlab_arch})", arch)


def _esri_family(emd: Emd, arch: str | None, type_family: str) -> FamilyInfo:
    what = emd.model_name or emd.model_configuration_name or "this model"
    if arch is None:
        return FamilyInfo(
            type_family, False,
            f"{what} is not an arcgis.learn architecture that Rasterlab can rebuild",
        )
    family = ARCH_FAMILY[arch]
    if arch not in ESRI_RUNNABLE_BACKBONES:
        return FamilyInfo(
            family, False,
            f"{arch} packages from ArcGIS use Esri-specific layers that Rasterlab does not "
            "reimplement; Rasterlab runs ArcGIS MaskRCNN, FasterRCNN, FeatureClassifier and "
            "UnetClassifier packages, or retrain this model in Rasterlab",
            arch,
        )
    backbones, default = ESRI_RUNNABLE_BACKBONES[arch]
    backbone = emd.backbone_name or default
    if backbone is None or backbone not in backbones:
        return FamilyInfo(
            family, False,
            f"{arch} with backbone {backbone or '(none given)'} is not supported; Rasterlab "
            f"runs {arch} with {', '.join(sorted(backbones))}",
            arch,
        )
    if emd.model_parameters.get("pointrend"):
        return FamilyInfo(family, False, f"{arch} with PointRend heads is not supported", arch)
    return FamilyInfo(family, True, f"ArcGIS {arch} ({backbone})", arch)


def model_family(emd: Emd) -> FamilyInfo:
    """Classify a package; never raises."""
    if emd.model_type is None:
        return FamilyInfo(None, False, "the .emd has no ModelType")
    type_family = MODEL_TYPE_FAMILY.get(emd.model_type)
    if type_family is None:
        return FamilyInfo(
            None, False,
            f"ModelType {emd.model_type!r} is not one Rasterlab runs "
            f"({', '.join(MODEL_TYPE_FAMILY)})",
        )
    arch = architecture(emd)
    if runtime_of(emd) is not None:  # ONNX / TorchScript: run by a runtime (dlpk/runtimes.py)
        runnable, reason = runtime_reason(emd, type_family)
        return FamilyInfo(type_family, runnable, reason, arch)
    if emd.rasterlab_arch is not None:
        # Its own name wins: ArcGIS-side ModelName may be "ModelExtension" (interchange.py).
        own = _ALIASES.get(emd.rasterlab_arch, emd.rasterlab_arch)
        return _rasterlab_family(emd, own if own in ARCH_FAMILY else arch, type_family)
    if emd.framework is None and emd.model_configuration is None:
        if emd.inference_function:
            return FamilyInfo(
                type_family, False,
                f"custom Python raster function {emd.inference_function!r}: Rasterlab never "
                "runs code shipped inside a package",
                arch,
            )
        return FamilyInfo(type_family, False, "the .emd names no Framework or ModelConfiguration")
    if not _is_pytorch(emd.framework):
        return FamilyInfo(
            type_family, False,
            f"built for {emd.framework or 'an unknown framework'}; Rasterlab runs PyTorch "
            "models only",
            arch,
        )
    return _esri_family(emd, arch, type_family)
