"""torchvision detectors: Faster R-CNN, RetinaNet, SSDlite and Mask R-CNN.

All take images scaled to 0..1 and normalise inside (GeneralizedRCNNTransform) with
`image_mean`/`image_std`: ImageNet statistics for 8-bit RGB, the export's scaled band
statistics otherwise (esri-dlpk.md §6). They resize chips internally to 1.5x the chip size
(`min_size`, `max_size` = 2x) as arcgis.learn does; SSDlite uses a fixed 1.5x square.

Head sizes are N+1 (index 0 = background). The resnet50 Faster/Mask R-CNN state_dicts are
key-for-key torchvision's v1 `fasterrcnn_resnet50_fpn` / `maskrcnn_resnet50_fpn`, which is what
arcgis.learn saves; its resnet101/152 Mask R-CNN is `MaskRCNN(resnet_fpn_backbone(...))`.
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from torch import nn
from torchvision.models import mobilenet_v3_large
from torchvision.ops.misc import FrozenBatchNorm2d
from torchvision.models.detection import (
    FasterRCNN_MobileNet_V3_Large_FPN_Weights,
    FasterRCNN_ResNet50_FPN_Weights,
    MaskRCNN,
    MaskRCNN_ResNet50_FPN_Weights,
    RetinaNet_ResNet50_FPN_Weights,
    fasterrcnn_mobilenet_v3_large_fpn,
    fasterrcnn_resnet50_fpn,
    maskrcnn_resnet50_fpn,
    retinanet_resnet50_fpn,
)
from torchvision.models.detection import _utils as det_utils
from torchvision.models.detection.anchor_utils import DefaultBoxGenerator
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor
from torchvision.models.detection.mask_rcnn import MaskRCNNPredictor
from torchvision.models.detection.retinanet import RetinaNetClassificationHead
from torchvision.models.detection.backbone_utils import resnet_fpn_backbone
from torchvision.models.detection.ssd import SSD
from torchvision.models.detection.ssdlite import SSDLiteHead, _mobilenet_extractor, _normal_init

from backend.engine.nets import weights as weights_store
from backend.engine.nets.backbones import local_imagenet_weights
from backend.engine.nets.effnet import fasterrcnn_lite0

# Dense scenes (trees, cars, tents) easily exceed torchvision's 100 detections per image.
DETECTIONS_PER_IMAGE = 300


def roi_samples(chip_size: int) -> int:
    """Proposals sampled per image to train the R-CNN box head.

    torchvision's 512 suits 400-800 px inputs; small chips hold few objects, so most of those
    samples would be background while the box head's cost grows with their number (it is most
    of a CPU training step at 64-128 px). Scale with chip area, between 128 and 512.
    """
    return int(min(512, max(128, 512 * chip_size * chip_size // (256 * 256))))


def internal_sizes(chip_size: int) -> tuple[int, int]:
    """(min_size, max_size) of the detector's internal resize: 1.5x and 2x the chip."""
    return int(round(chip_size * 1.5)), chip_size * 2


def build_detector(
    name: str,
    backbone: str,
    num_outputs: int,
    chip_size: int,
    image_mean: Sequence[float],
    image_std: Sequence[float],
    pretrained: bool,
    coco: bool = False,
) -> nn.Module:
    """Build one of the torchvision detectors with `num_outputs` (= N+1) classes.

    `coco`: start from torchvision's COCO-trained detector of this layout (its file must be in the
    weights cache: `weights.resolve_model`), with fresh class heads for `num_outputs`."""
    if backbone == "efficientnet_lite0":
        # CPU-first: no internal upscaling (2.25x fewer pixels than 1.5x); its smallest
        # anchors (16 px) fit the small objects that upscaling is meant for
        min_size, max_size = chip_size, chip_size * 2
        local = weights_store.local_path(backbone) if pretrained else None
        lite0: nn.Module = fasterrcnn_lite0(
            num_outputs, local[0] if local else None,
            {"num_classes": num_outputs, "image_mean": list(image_mean), "image_std": list(image_std),
             "min_size": min_size, "max_size": max_size},
            {"box_detections_per_img": DETECTIONS_PER_IMAGE, "box_batch_size_per_image": roi_samples(chip_size)},
        )
        return lite0
    if coco and pretrained:
        return _from_coco(name, backbone, num_outputs, chip_size, image_mean, image_std)
    weights = local_imagenet_weights(backbone) if pretrained else None
    model: nn.Module = _construct(name, backbone, num_outputs, chip_size, image_mean, image_std, weights)
    return model


_COCO_WEIGHTS: dict[tuple[str, str], Any] = {
    ("FasterRCNN", "resnet50"): FasterRCNN_ResNet50_FPN_Weights.COCO_V1,
    ("FasterRCNN", "mobilenet_v3_large"): FasterRCNN_MobileNet_V3_Large_FPN_Weights.COCO_V1,
    ("MaskRCNN", "resnet50"): MaskRCNN_ResNet50_FPN_Weights.COCO_V1,
    ("RetinaNet", "resnet50"): RetinaNet_ResNet50_FPN_Weights.COCO_V1,
}


def _from_coco(
    name: str, backbone: str, num_outputs: int, chip_size: int,
    image_mean: Sequence[float], image_std: Sequence[float],
) -> nn.Module:
    """torchvision's own builder with its COCO weights (read from the weights cache: the file is
    there, so nothing is downloaded; frozen batch norm and trainable layers as torchvision
    fine-tunes), then class heads for `num_outputs`. Same state_dict layout as `_construct`."""
    enum = _COCO_WEIGHTS[(name, backbone)]
    model: Any = _construct(name, backbone, len(enum.meta["categories"]), chip_size, image_mean, image_std,
                       None, detector_weights=enum)
    if name in ("FasterRCNN", "MaskRCNN"):
        box = model.roi_heads.box_predictor
        model.roi_heads.box_predictor = FastRCNNPredictor(box.cls_score.in_features, num_outputs)
    if name == "MaskRCNN":
        mask = model.roi_heads.mask_predictor
        model.roi_heads.mask_predictor = MaskRCNNPredictor(mask.conv5_mask.in_channels, mask.conv5_mask.out_channels, num_outputs)
    if name == "RetinaNet":
        old = model.head.classification_head
        model.head.classification_head = RetinaNetClassificationHead(
            old.conv[0][0].in_channels, old.num_anchors, num_outputs)
        model.num_classes = num_outputs
    built: nn.Module = model
    return built


def _construct(
    name: str,
    backbone: str,
    num_outputs: int,
    chip_size: int,
    image_mean: Sequence[float],
    image_std: Sequence[float],
    weights: Any,
    detector_weights: Any = None,
) -> Any:
    min_size, max_size = internal_sizes(chip_size)
    rcnn: dict[str, Any] = {
        "num_classes": num_outputs,
        "image_mean": list(image_mean),
        "image_std": list(image_std),
        "min_size": min_size,
        "max_size": max_size,
    }
    boxes: dict[str, Any] = {
        "box_detections_per_img": DETECTIONS_PER_IMAGE,
        "box_batch_size_per_image": roi_samples(chip_size),
    }
    if name == "FasterRCNN" and backbone == "resnet50":
        return fasterrcnn_resnet50_fpn(weights=detector_weights, weights_backbone=weights, **boxes, **rcnn)
    if name == "FasterRCNN" and backbone == "mobilenet_v3_large":
        return fasterrcnn_mobilenet_v3_large_fpn(weights=detector_weights, weights_backbone=weights, **boxes, **rcnn)
    if name == "MaskRCNN" and backbone != "resnet50":
        return _maskrcnn_deep(backbone, weights, {**boxes, **rcnn})
    if name == "MaskRCNN":
        return maskrcnn_resnet50_fpn(weights=detector_weights, weights_backbone=weights, **boxes, **rcnn)
    if name == "RetinaNet":
        return retinanet_resnet50_fpn(
            weights=detector_weights, weights_backbone=weights, detections_per_img=DETECTIONS_PER_IMAGE, **rcnn
        )
    if name == "SingleShotDetector":
        return _ssdlite(num_outputs, min_size, image_mean, image_std, weights is not None)
    raise ValueError(f"no detector {name} with backbone {backbone}")


def _maskrcnn_deep(backbone: str, weights: Any, kwargs: dict[str, Any]) -> MaskRCNN:
    """arcgis.learn's resnet101/152 Mask R-CNN: torchvision MaskRCNN on `resnet_fpn_backbone`."""
    trunk = resnet_fpn_backbone(
        backbone_name=backbone,
        weights=weights,
        norm_layer=FrozenBatchNorm2d if weights is not None else nn.BatchNorm2d,
        trainable_layers=3 if weights is not None else 5,
    )
    return MaskRCNN(trunk, **kwargs)


def _ssdlite(
    num_outputs: int,
    size: int,
    image_mean: Sequence[float],
    image_std: Sequence[float],
    pretrained: bool,
) -> SSD:
    """torchvision's SSDlite320-MobileNetV3 recipe at our own square input size.

    Unlike torchvision's builder, the MobileNetV3 tail is never reduced, so the layout does not
    depend on whether an ImageNet checkpoint happened to be cached when the model was built.
    """
    norm_layer = partial(nn.BatchNorm2d, eps=0.001, momentum=0.03)
    weights = local_imagenet_weights("mobilenet_v3_large") if pretrained else None
    trunk = mobilenet_v3_large(weights=weights, norm_layer=norm_layer, reduced_tail=False)
    if weights is None:
        _normal_init(trunk)
    backbone = _mobilenet_extractor(trunk, 6, norm_layer)
    anchors = DefaultBoxGenerator([[2, 3] for _ in range(6)], min_ratio=0.2, max_ratio=0.95)
    out_channels = det_utils.retrieve_out_channels(backbone, (size, size))
    head = SSDLiteHead(out_channels, anchors.num_anchors_per_location(), num_outputs, norm_layer)
    return SSD(
        backbone,
        anchors,
        (size, size),
        num_outputs,
        image_mean=list(image_mean),
        image_std=list(image_std),
        head=head,
        score_thresh=0.001,
        nms_thresh=0.55,
        detections_per_img=DETECTIONS_PER_IMAGE,
        topk_candidates=DETECTIONS_PER_IMAGE,
    )


def set_detector_thresholds(model: nn.Module, score: float, nms: float) -> None:
    """Set the score threshold and per-class NMS IoU a torchvision detector applies itself."""
    roi_heads = getattr(model, "roi_heads", None)
    target = roi_heads if roi_heads is not None else model  # Faster/Mask R-CNN, else RetinaNet/SSD
    if hasattr(target, "score_thresh"):
        setattr(target, "score_thresh", score)
        setattr(target, "nms_thresh", nms)
