"""Starting weights: the registry package's EfficientNet-Lite0, offline rules, downloads, imports."""
from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import timm
import torch

from backend.engine.errors import EngineInputError
from backend.engine.nets import build_model
from backend.engine.nets import weights
from backend.engine.nets.effnet import lite0_state_dict


@pytest.fixture()
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(weights.OFFLINE_ENV, "1")


def test_registry_package_gives_lite0_a_pretrained_start() -> None:
    start = weights.resolve("efficientnet_lite0")
    assert start.kind == "package" and start.pretrained and start.path is not None
    assert weights.sha256_of(start.path).startswith("57934424")
    # every tensor of the package maps onto timm's tf_efficientnet_lite0, strictly
    state = lite0_state_dict(torch.load(start.path, map_location="cpu", weights_only=True))
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    model.load_state_dict(state, strict=True)
    detector = build_model("FasterRCNN", "efficientnet_lite0", 1, 3, 64)
    trunk = detector.state_dict()
    assert torch.equal(trunk["backbone.body.conv_stem.weight"], state["conv_stem.weight"])
    assert torch.equal(trunk["backbone.body.blocks.5.3.conv_pwl.weight"], state["blocks.5.3.conv_pwl.weight"])
    scratch = build_model("FasterRCNN", "efficientnet_lite0", 1, 3, 64, pretrained_backbone=False)
    assert not torch.equal(scratch.state_dict()["backbone.body.conv_stem.weight"], state["conv_stem.weight"])


def test_lite0_detector_trains_and_predicts_at_64px() -> None:
    model = build_model("FasterRCNN", "efficientnet_lite0", 2, 4, 64)  # 4 bands: first conv adapted
    model.train()
    images = [torch.rand(4, 64, 64) for _ in range(2)]
    targets = [{"boxes": torch.tensor([[4.0, 4.0, 30.0, 30.0]]), "labels": torch.tensor([1])} for _ in range(2)]
    loss = sum(model(images, targets).values())
    loss.backward()  # type: ignore[union-attr]
    model.eval()
    with torch.no_grad():
        out = model(images)
    assert len(out) == 2 and out[0]["boxes"].shape[1] == 4


def test_offline_never_downloads_and_says_what_to_do(offline: None) -> None:
    start = weights.resolve("resnet18")
    assert start.kind == "random" and not start.pretrained
    assert "import_weights" in start.advice and "efficientnet_lite0" in start.advice
    with pytest.raises(EngineInputError, match="RASTERLAB_OFFLINE=1 forbids"):
        weights.ensure_downloaded("resnet18")
    assert weights.ensure_local("resnet18") is None


def test_online_start_is_a_download_on_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(weights.OFFLINE_ENV, raising=False)
    start = weights.resolve("resnet50")
    assert start.kind == "download" and start.pretrained and "hash-checked" in start.summary
    assert weights.resolve("resnet50", use_pretrained=False).kind == "random"


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[str, bytes]]:
    """A local HTTP server (the download's true external boundary) serving one file."""
    payload = b"weights" * 5000
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "w.pth").write_bytes(payload)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            super().__init__(*args, directory=str(tmp_path / "www"), **kwargs)

        def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/w.pth", payload
    server.shutdown()


def test_download_checks_the_hash_and_reports_progress(served: tuple[str, bytes], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    url, payload = served
    prefix = hashlib.sha256(payload).hexdigest()[:8]
    spec = weights.WeightsFile("resnet18", f"resnet18-{prefix}.pth", url)
    monkeypatch.setitem(weights.CATALOG, "resnet18", spec)
    monkeypatch.delenv(weights.OFFLINE_ENV, raising=False)
    seen: list[tuple[int, int]] = []
    path = weights.ensure_downloaded("resnet18", lambda done, total: seen.append((done, total)))
    assert path == weights.checkpoint_dir() / spec.filename and path.read_bytes() == payload
    assert seen[-1] == (len(payload), len(payload))
    assert weights.resolve("resnet18").kind == "cache"
    with pytest.raises(EngineInputError, match="corrupt"):
        weights.download(url, tmp_path / "bad" / "resnet18-00000000.pth", "00000000")
    assert list((tmp_path / "bad").iterdir()) == []  # nothing half-written left behind


def test_import_recognises_a_file_by_its_hash(tmp_path: Path) -> None:
    packaged = weights.resolve("efficientnet_lite0").path
    assert packaged is not None
    renamed = tmp_path / "lite0-copy.bin"
    renamed.write_bytes(packaged.read_bytes())
    spec, target = weights.import_file(renamed)
    assert spec.backbone == "efficientnet_lite0" and target.name == "efficientnet-lite0-57934424.pth"
    assert weights.resolve("efficientnet_lite0").kind == "cache"
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not weights")
    with pytest.raises(EngineInputError, match="none of the checkpoints"):
        weights.import_file(junk)
