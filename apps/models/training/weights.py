"""Starting weights as the app sees them: the cache in DATA_DIR/weights, which start a training
run will get (shown in the Train panel before the job starts), and importing a weights file."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings

from backend.api.exceptions import InvalidInput
from backend.engine.errors import EngineInputError


def weights_dir() -> Path:
    return Path(settings.DATA_DIR) / "weights"


def configure() -> None:
    """Make DATA_DIR/weights the weights cache (TORCH_HOME: files in hub/checkpoints), unless
    TORCH_HOME is set already. An environment variable, so torch need not be imported here."""
    os.environ.setdefault("TORCH_HOME", str(weights_dir()))


def start_for(model_type: str, backbone: str | None, pretrained_model: int | None, bands: int = 3) -> dict[str, Any]:
    """Which start a train_model job with these params gets (on `bands`-band training data), and
    what the user can do about it."""
    from backend.engine.nets import weights
    from backend.engine.nets.catalog import arch_spec
    from backend.engine.training.recipes import training_backbone

    try:
        spec = arch_spec(model_type)
        chosen = spec.check_backbone(backbone or training_backbone(spec))
    except EngineInputError as exc:
        raise InvalidInput(f"{exc}.") from None
    if pretrained_model is not None:
        return {"backbone": chosen, "kind": "package", "pretrained": True, "path": None, "advice": "",
                "summary": f"fine-tunes model package {pretrained_model}: every weight that fits is kept"}
    start = weights.resolve_model(spec.name, chosen, bands).to_dict()
    if not start["pretrained"] and chosen != training_backbone(spec):
        better = weights.resolve(training_backbone(spec))
        if better.pretrained:
            start["advice"] = f"{start['advice']}; or choose backbone {better.backbone}, which starts pretrained here".lstrip("; ")
    return start


def import_weights(source: Path) -> dict[str, Any]:
    """Copy a checkpoint file into the cache; InvalidInput (400) when it is not one we know."""
    from backend.engine.nets import weights

    try:
        spec, path = weights.import_file(source)
    except EngineInputError as exc:
        raise InvalidInput(f"{exc}.") from None
    return {"backbone": spec.backbone, "filename": spec.filename, "path": str(path)}


def weights_status() -> list[dict[str, Any]]:
    from backend.engine.nets import weights

    return weights.status()
