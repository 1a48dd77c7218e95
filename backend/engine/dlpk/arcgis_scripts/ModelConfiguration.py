# mypy: ignore-errors
"""Rasterlab model configuration for ArcGIS (arcgis.learn's ModelExtension interface).

Written by Rasterlab; no Esri code. Rasterlab copies this file into the .dlpk packages whose
network arcgis.learn has no class for (its emd then names ModelConfigurationFile
"ModelConfiguration.py" and ModelFileConfigurationClass "RasterlabModelConfiguration"), so that
`arcgis.learn.ModelExtension.from_model` and ArcGIS Pro's Detect Objects / Classify Pixels tools
rebuild the network and load the package's weights. Rasterlab itself never imports or runs the
copy inside a package.

It needs torch and torchvision (and timm for EfficientNet backbones), which ArcGIS Pro's
deep-learning libraries ship. The
network is chosen by the emd's ModelParameters.rasterlab_arch and backbone; the layouts match
Rasterlab's `backend.engine.nets` key for key. Inputs arrive normalised as arcgis.learn does it
(ImageNet statistics for 8-bit RGB, NormalizationStats otherwise); detectors take 0..1 images
and normalise inside, so `transform_input*` undo the outer normalisation for them.
"""
from functools import partial

import torch
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DETECTORS = ("FasterRCNN", "RetinaNet", "SingleShotDetector")
DETECTIONS_PER_IMAGE = 300


def _band_stats(emd):
    """(mean, std) of 0..1 inputs per extracted band, as Rasterlab trained with them."""
    bands = [b if isinstance(b, int) else i for i, b in enumerate(emd.get("ExtractBands") or [0, 1, 2])]
    stats = emd.get("NormalizationStats")
    if stats and stats.get("scaled_mean_values") and stats.get("scaled_std_values"):
        return ([float(stats["scaled_mean_values"][b]) for b in bands],
                [float(stats["scaled_std_values"][b]) for b in bands])
    extra_mean, extra_std = sum(IMAGENET_MEAN) / 3, sum(IMAGENET_STD) / 3
    n = len(bands)
    mean = list(IMAGENET_MEAN[:n]) + [extra_mean] * max(0, n - 3)
    std = list(IMAGENET_STD[:n]) + [extra_std] * max(0, n - 3)
    return mean, std


def _first_conv_to(model, in_channels):
    """Give the first 3-channel convolution `in_channels` inputs (weights come from the package)."""
    if in_channels == 3:
        return
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d) and module.in_channels == 3:
            parent_name, _, attr = name.rpartition(".")
            parent = model.get_submodule(parent_name) if parent_name else model
            setattr(parent, attr, nn.Conv2d(
                in_channels, module.out_channels, module.kernel_size, module.stride,
                module.padding, module.dilation, module.groups, module.bias is not None))
            return


def _ssdlite(outputs, size, mean, std):
    """torchvision's SSDlite-MobileNetV3 recipe at a square input of `size` (full tail)."""
    from torchvision.models import mobilenet_v3_large
    from torchvision.models.detection import _utils as det_utils
    from torchvision.models.detection.anchor_utils import DefaultBoxGenerator
    from torchvision.models.detection.ssd import SSD
    from torchvision.models.detection.ssdlite import SSDLiteHead, _mobilenet_extractor

    norm_layer = partial(nn.BatchNorm2d, eps=0.001, momentum=0.03)
    trunk = mobilenet_v3_large(weights=None, norm_layer=norm_layer, reduced_tail=False)
    backbone = _mobilenet_extractor(trunk, 6, norm_layer)
    anchors = DefaultBoxGenerator([[2, 3] for _ in range(6)], min_ratio=0.2, max_ratio=0.95)
    channels = det_utils.retrieve_out_channels(backbone, (size, size))
    head = SSDLiteHead(channels, anchors.num_anchors_per_location(), outputs, norm_layer)
    return SSD(backbone, anchors, (size, size), outputs, image_mean=mean, image_std=std, head=head,
               score_thresh=0.001, nms_thresh=0.55, detections_per_img=DETECTIONS_PER_IMAGE,
               topk_candidates=DETECTIONS_PER_IMAGE)


class _Lite0FPN(nn.Module):
    """timm's tf_efficientnet_lite0 features (strides 8/16/32) under a 128-channel FPN; inputs
    normalised as for the other detectors are mapped onto TensorFlow's (x - 0.5) / 0.5."""

    def __init__(self):
        super().__init__()
        import timm
        from torchvision.ops import FeaturePyramidNetwork
        from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

        self.body = timm.create_model("tf_efficientnet_lite0", pretrained=False, features_only=True,
                                      out_indices=(2, 3, 4))
        self.fpn = FeaturePyramidNetwork(list(self.body.feature_info.channels()), 128,
                                         extra_blocks=LastLevelMaxPool())
        self.out_channels = 128

    def forward(self, x):
        from collections import OrderedDict

        n = x.shape[1]
        mean = list(IMAGENET_MEAN[:n]) + [sum(IMAGENET_MEAN) / 3] * max(0, n - 3)
        std = list(IMAGENET_STD[:n]) + [sum(IMAGENET_STD) / 3] * max(0, n - 3)
        mean = torch.tensor(mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        std = torch.tensor(std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        features = self.body((x * std + mean - 0.5) / 0.5)
        return self.fpn(OrderedDict((str(i), f) for i, f in enumerate(features)))


def _fasterrcnn_lite0(outputs, chip, mean, std):
    """Rasterlab's CPU-friendly Faster R-CNN on EfficientNet-Lite0 (no internal upscaling)."""
    from torchvision.models.detection import FasterRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.ops import MultiScaleRoIAlign

    sizes = ((16, 24), (32, 48), (64, 96), (128, 192))
    return FasterRCNN(
        _Lite0FPN(), num_classes=outputs, image_mean=mean, image_std=std, min_size=chip, max_size=chip * 2,
        rpn_anchor_generator=AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * len(sizes)),
        box_roi_pool=MultiScaleRoIAlign(["0", "1", "2"], output_size=7, sampling_ratio=2),
        box_detections_per_img=DETECTIONS_PER_IMAGE, rpn_pre_nms_top_n_test=500, rpn_post_nms_top_n_test=500)


def build_network(emd):
    """The untrained network an emd written by Rasterlab describes."""
    from torchvision.models import detection, segmentation

    params = emd.get("ModelParameters") or {}
    arch = params.get("rasterlab_arch") or emd.get("ModelName")
    backbone = params.get("backbone") or "resnet50"
    outputs = len(emd.get("Classes") or []) + 1
    chip = int(emd.get("ImageHeight") or emd.get("ImageWidth"))
    bands = len(emd.get("ExtractBands") or [0, 1, 2])
    mean, std = _band_stats(emd)
    sizes = {"min_size": int(round(chip * 1.5)), "max_size": chip * 2,
             "image_mean": mean, "image_std": std, "num_classes": outputs}
    if arch == "FasterRCNN" and backbone in ("resnet50", "mobilenet_v3_large"):
        builder = (detection.fasterrcnn_resnet50_fpn if backbone == "resnet50"
                   else detection.fasterrcnn_mobilenet_v3_large_fpn)
        model = builder(weights=None, weights_backbone=None,
                        box_detections_per_img=DETECTIONS_PER_IMAGE, **sizes)
    elif arch == "FasterRCNN" and backbone == "efficientnet_lite0":
        model = _fasterrcnn_lite0(outputs, chip, mean, std)
    elif arch == "RetinaNet":
        model = detection.retinanet_resnet50_fpn(weights=None, weights_backbone=None,
                                                 detections_per_img=DETECTIONS_PER_IMAGE, **sizes)
    elif arch == "SingleShotDetector":
        model = _ssdlite(outputs, sizes["min_size"], mean, std)
    elif arch == "DeepLab":
        builder = segmentation.deeplabv3_resnet50 if backbone == "resnet50" else segmentation.deeplabv3_resnet101
        model = builder(weights=None, weights_backbone=None, num_classes=outputs, aux_loss=False)
    else:
        raise ValueError(f"RasterlabModelConfiguration cannot build {arch} with {backbone}")
    _first_conv_to(model, bands)
    return model, arch


class RasterlabModelConfiguration:
    """The ModelExtension configuration: build, feed and read out a Rasterlab network.

    For inference (ArcGIS Pro, `from_model`); training these networks happens in Rasterlab.
    """

    def get_model(self, data, backbone=None, **kwargs):
        emd = getattr(data, "emd", None)
        if not emd:
            raise ValueError("RasterlabModelConfiguration only loads packages written by Rasterlab "
                             "(ModelExtension.from_model); train this model in Rasterlab")
        self.model, self.arch = build_network(emd)
        self.detector = self.arch in DETECTORS
        self.mean, self.std = _band_stats(emd)
        self.model.eval()
        return self.model

    def on_batch_begin(self, learn, model_input_batch, model_target_batch, **kwargs):
        return model_input_batch, model_target_batch

    def _thresholds(self, thresh, nms_overlap):
        target = getattr(self.model, "roi_heads", None) or self.model
        if hasattr(target, "score_thresh"):
            target.score_thresh = thresh
            target.nms_thresh = nms_overlap

    def _undo(self, xb, mean, std):
        m = torch.tensor(mean, dtype=xb.dtype, device=xb.device).view(1, -1, 1, 1)
        s = torch.tensor(std, dtype=xb.dtype, device=xb.device).view(1, -1, 1, 1)
        return xb * s + m

    def transform_input(self, xb, thresh=0.5, nms_overlap=0.1):
        """ImageNet-normalised 8-bit RGB in; detectors get 0..1 images, the others as they are."""
        if not self.detector:
            return xb
        self._thresholds(thresh, nms_overlap)
        return list(self._undo(xb, IMAGENET_MEAN[: xb.shape[1]], IMAGENET_STD[: xb.shape[1]]))

    def transform_input_multispectral(self, xb, thresh=0.5, nms_overlap=0.1):
        """NormalizationStats-normalised bands in ((x-min)/(max-min) - scaled_mean)/scaled_std."""
        if not self.detector:
            return xb
        self._thresholds(thresh, nms_overlap)
        return list(self._undo(xb, self.mean, self.std))

    def loss(self, model_output, *model_target):
        raise NotImplementedError("train Rasterlab networks in Rasterlab")

    def post_process(self, pred, nms_overlap=0.1, thres=0.5, chip_size=None, device=None,
                     thinning=None, prob_raster=False):
        """Detectors: per image (boxes [N,4] y1x1y2x2 scaled to -1..1, labels, scores).
        Pixel classifiers: [B,1,H,W] class indices (or [B,C,H,W] probabilities)."""
        if not self.detector:
            logits = pred["out"] if isinstance(pred, dict) else pred
            probs = torch.softmax(logits.float(), 1)
            return probs if prob_raster else probs.argmax(1, keepdim=True)
        out = []
        for p in pred:
            keep = p["scores"] >= thres
            boxes = p["boxes"][keep] / (chip_size / 2) - 1
            boxes = boxes[:, [1, 0, 3, 2]]
            target = device or boxes.device
            out.append((boxes.to(target), p["labels"][keep].to(target), p["scores"][keep].to(target)))
        return out
