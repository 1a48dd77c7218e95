"""COCO-trained detector starts: a FasterRCNN whose layout is a torchvision COCO detector starts
from that detector (file in the weights cache, or downloaded on first use when online) with fresh
class heads; other band counts and offline machines without the file fall back to the backbone,
saying how to bring the file in. The file here has COCO's layout (91 classes) and known values:
the real one cannot be fetched on this machine."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_fpn

from backend.engine.dlpk.package import extract_dlpk
from backend.engine.nets import build_model, weights
from backend.engine.nets.predictor import load_predictor
from backend.engine.training import TrainConfig, train

NAME = "fasterrcnn_mobilenet_v3_large_fpn"


@pytest.fixture()
def coco_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, torch.Tensor]:
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    monkeypatch.setenv(weights.OFFLINE_ENV, "1")
    torch.manual_seed(7)
    state = fasterrcnn_mobilenet_v3_large_fpn(weights=None, weights_backbone=None, num_classes=91).state_dict()
    spec = weights.known(NAME)
    assert spec is not None and spec.url and "fb6a3cc7" in spec.filename
    weights.checkpoint_dir().mkdir(parents=True)
    torch.save(state, weights.checkpoint_dir() / spec.filename)
    return state


def test_resolve_model_prefers_the_coco_detector_on_rgb(coco_file: Any) -> None:
    start = weights.resolve_model("FasterRCNN", "mobilenet_v3_large", 3)
    assert start.kind == "cache" and start.detector == NAME and start.to_dict()["scope"] == "detector"
    assert "COCO-trained" in start.summary
    four = weights.resolve_model("FasterRCNN", "mobilenet_v3_large", 4)  # COCO's first layer sees RGB
    assert four.detector is None and four.kind == "random"
    row = next(r for r in weights.status() if r["backbone"] == NAME)
    assert row["kind"] == "cache" and row["downloadable"]


def test_offline_without_the_file_says_how_to_bring_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    monkeypatch.setenv(weights.OFFLINE_ENV, "1")
    start = weights.resolve_model("FasterRCNN", "resnet50", 3)
    assert start.detector is None and not start.pretrained
    assert f"fetch_weights DIR --backbone fasterrcnn_resnet50_fpn" in start.advice
    monkeypatch.delenv(weights.OFFLINE_ENV)
    online = weights.resolve_model("FasterRCNN", "resnet50", 3)
    assert online.kind == "download" and online.detector == "fasterrcnn_resnet50_fpn"
    assert weights.resolve_model("FasterRCNN", "resnet50", 3, use_pretrained=False).kind == "random"


def test_coco_detector_keeps_its_weights_and_gets_fresh_class_heads(coco_file: dict[str, torch.Tensor]) -> None:
    model = build_model("FasterRCNN", "mobilenet_v3_large", 2, 3, 128, coco_start=True)
    state = model.state_dict()
    for key in ("rpn.head.conv.0.0.weight", "backbone.fpn.layer_blocks.0.0.weight", "roi_heads.box_head.fc6.weight"):
        assert torch.equal(state[key], coco_file[key]), key
    assert state["roi_heads.box_predictor.cls_score.weight"].shape == (3, 1024)  # 2 classes + background
    # the same layout as a package built for inference: such a model loads back strictly
    plain = build_model("FasterRCNN", "mobilenet_v3_large", 2, 3, 128, pretrained_backbone=False).state_dict()
    optional = {k for k in plain if k.endswith("num_batches_tracked")}
    assert set(plain) - optional == set(state) - optional
    assert all(plain[k].shape == state[k].shape for k in state)


def test_training_starts_from_coco_and_the_package_detects(coco_file: Any, exports: Any, tmp_path: Path) -> None:
    messages: list[str] = []
    config = TrainConfig(model_type="FasterRCNN", backbone="mobilenet_v3_large", out_name="coco", max_epochs=1,
                         batch_size=2, learning_rate=2e-4, validation_percentage=25)
    result = train(config, exports("voc64"), tmp_path / "out", progress=lambda d, t, m: messages.append(m))
    assert any("COCO-trained fasterrcnn_mobilenet_v3_large_fpn" in m for m in messages), messages[:5]
    info = extract_dlpk(result.package_path, tmp_path / "x")
    predictor = load_predictor(tmp_path / "x", info.emd)
    assert len(predictor.detect(predictor.prepare(np.zeros((1, 3, 64, 64), dtype=np.uint8)), 0.05, 0.1)) == 1


class _Exploit:
    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (exec, ("import pathlib; pathlib.Path('PWNED').write_text('x')",))


def test_a_planted_cache_file_cannot_run_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """torchvision's builders read the cache through torch.hub, which unpickles anything by
    default; Rasterlab makes them load weights only."""
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))
    monkeypatch.chdir(tmp_path)
    spec = weights.known(NAME)
    assert spec is not None
    weights.checkpoint_dir().mkdir(parents=True)
    torch.save({"x": _Exploit()}, weights.checkpoint_dir() / spec.filename)
    with pytest.raises(Exception, match="[Ww]eights only load failed|Unsupported global"):
        build_model("FasterRCNN", "mobilenet_v3_large", 2, 3, 128, coco_start=True)
    assert not (tmp_path / "PWNED").exists()
