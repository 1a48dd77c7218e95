"""Browser steps and map checks shared by the e2e tests."""
from __future__ import annotations

import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np


@dataclass
class User:
    username: str
    password: str


def login(page: Any, user: User) -> None:
    """Sign in through the Django login page and land on the project list."""
    page.goto("/")
    page.wait_for_url("**/accounts/login/**")
    page.fill("#id_username", user.username)
    page.fill("#id_password", user.password)
    page.click("[data-testid=login-submit]")
    page.wait_for_selector("[data-testid=project-form]")


def create_project(page: Any, name: str, description: str = "") -> int:
    """Create a project with the form on the project list; returns its id (from the URL)."""
    page.fill("[data-testid=project-name]", name)
    page.fill("[data-testid=project-description]", description)
    page.click("[data-testid=project-create]")
    page.wait_for_selector("[data-testid=project-page]")
    return int(page.get_attribute("[data-testid=project-page]", "data-project-id"))


def upload_raster(page: Any, path: Path, name: str) -> None:
    page.click("[data-testid=tab-layers]")
    page.set_input_files("[data-testid=upload-file]", str(path))
    page.fill("[data-testid=upload-name]", name)
    page.click("[data-testid=upload-submit]")


# --------------------------------------------------------------------------- waiting and the map image

# The map's empty background: a light checkerboard of these two colours (frontend/src/styles.css).
MAP_BACKGROUND = [(233, 236, 239), (227, 230, 234)]


def wait_until(predicate: Callable[[], Any], timeout: float, message: str, interval: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {message} (last: {last!r})")


def map_center_clip(page: Any, size: int = 160) -> dict[str, float]:
    """A square in the middle of the map, away from the zoom buttons and the scale line."""
    box = page.locator("[data-testid=map]").bounding_box()
    assert box, "the map is not visible"
    return {"x": box["x"] + box["width"] / 2 - size / 2, "y": box["y"] + box["height"] / 2 - size / 2,
            "width": size, "height": size}


def map_image(page: Any, clip: dict[str, float]) -> Any:
    from PIL import Image

    return Image.open(io.BytesIO(page.screenshot(clip=clip))).convert("RGB")


def drawn_fraction(img: Any) -> float:
    """Share of pixels that are not the empty map background, i.e. drawn by a raster layer."""
    rgb = np.asarray(img, dtype=np.int16)
    background = np.zeros(rgb.shape[:2], dtype=bool)
    for colour in MAP_BACKGROUND:
        background |= np.abs(rgb - np.array(colour, dtype=np.int16)).sum(axis=2) <= 12
    return float(1.0 - background.mean())


def grey_fraction(img: Any) -> float:
    """Share of pixels whose red, green and blue are (nearly) equal, as in a single-band render.

    The empty background is a bluish grey (blue - red >= 6), so it does not count."""
    rgb = np.asarray(img, dtype=np.int16)
    return float(((rgb.max(axis=2) - rgb.min(axis=2)) <= 3).mean())
