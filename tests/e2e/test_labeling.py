"""Two people label the same project in two browsers: one defines the classes and draws a polygon,
the other sees it appear live; an edit made with a stale version shows the conflict banner, and
reloading the label brings the current version; undo reaches the other browser too."""
from __future__ import annotations

import re
from typing import Any, Iterator

import pytest

from .helpers import create_project, login, wait_until

pytestmark = pytest.mark.e2e

ADD_MEMBER = """
async ([project, username]) => {
  const csrf = document.cookie.split('; ').find((c) => c.startsWith('csrftoken='))?.split('=')[1] ?? '';
  const response = await fetch(`/api/projects/${project}/members/`, {
    method: 'POST', credentials: 'same-origin',
    headers: {'Content-Type': 'application/json', 'X-CSRFToken': csrf},
    body: JSON.stringify({username, role: 'editor'}),
  });
  return response.status;
}
"""


@pytest.fixture
def other_page(chromium_browser: Any, live_app: Any) -> Iterator[Any]:
    """A second browser context (its own cookies): the second user."""
    context = chromium_browser.new_context(base_url=live_app.url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.console_errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))  # type: ignore[attr-defined]
    yield page
    context.close()


def open_labels(page: Any) -> None:
    page.click("[data-testid=tab-labels]")
    page.wait_for_selector("[data-testid=labels-connection][data-state=live]", timeout=20_000)


def rows(page: Any) -> Any:
    return page.locator("[data-testid=label-row]")


def draw_polygon(page: Any) -> None:
    box = page.locator("[data-testid=map]").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.click("[data-testid=tool-polygon]")
    for dx, dy in [(-60, -40), (60, -50), (70, 40)]:
        page.mouse.click(cx + dx, cy + dy)
        page.wait_for_timeout(150)
    # Clicking the last vertex again finishes the polygon.
    page.mouse.click(cx - 50, cy + 45)
    page.wait_for_timeout(150)
    page.mouse.click(cx - 50, cy + 45)


def test_two_users_label_together(page: Any, other_page: Any, live_app: Any) -> None:
    owner, other = page, other_page
    login(owner, live_app.owner)
    project_id = create_project(owner, "E2E labels")

    # The owner makes the other user an editor (through the API, with the page's session).
    status = owner.evaluate(ADD_MEMBER, [project_id, live_app.other.username])
    assert status == 201, status

    # Class schema: Tree (1) and Dead (2).
    open_labels(owner)
    owner.locator("details:has([data-testid=class-editor]) > summary").click()
    for name in ("Tree", "Dead"):
        owner.click("[data-testid=class-add]")
        owner.locator("[data-testid=class-edit-name]").last.fill(name)
    owner.click("[data-testid=class-save]")
    wait_until(lambda: owner.locator("[data-testid=class-pick]").count() == 2, 10, "two class buttons")

    # The other user opens the same project, with websocket messages under test control.
    control = {"drop": False}

    def route(ws: Any) -> None:
        server = ws.connect_to_server()
        server.on_message(lambda message: None if control["drop"] else ws.send(message))

    other.route_web_socket(re.compile(r".*/ws/layers/\d+/.*"), route)
    login(other, live_app.other)
    other.goto(f"/projects/{project_id}/")
    open_labels(other)
    wait_until(lambda: other.locator("[data-testid=class-pick]").count() == 2, 10, "classes for the other user")
    presence = owner.locator("[data-testid=presence-user]")
    wait_until(lambda: sorted(presence.all_inner_texts()) == sorted([live_app.owner.username, live_app.other.username]),
               10, "both users in the owner's presence list")

    # The owner draws a polygon; it appears in the other browser without a reload.
    draw_polygon(owner)
    wait_until(lambda: rows(owner).count() == 1, 10, "the owner's label saved")
    feature_id = rows(owner).first.get_attribute("data-feature-id")
    wait_until(lambda: rows(other).count() == 1, 5, "the label to appear for the other user")
    row = other.locator(f"[data-testid=label-row][data-feature-id='{feature_id}']")
    assert row.get_attribute("data-version") == "1" and row.get_attribute("data-class-value") == "1"
    assert other.locator("[data-testid=class-pick][data-value='1'] [data-testid=class-count]").inner_text() == "1"

    # The other user misses the owner's change (messages dropped) and edits with version 1.
    control["drop"] = True
    owner.locator("[data-testid=label-row]").first.click()
    owner.keyboard.press("2")  # reclassify the selection as Dead
    wait_until(lambda: owner.locator(f"[data-testid=label-row][data-feature-id='{feature_id}']")
               .get_attribute("data-version") == "2", 10, "the owner's change saved")
    row.click()
    other.keyboard.press("2")
    banner = other.locator("[data-testid=conflict-banner]")
    banner.wait_for(state="visible", timeout=10_000)
    assert "changed by" in banner.inner_text() and live_app.owner.username in banner.inner_text()
    other.click("[data-testid=conflict-reload]")
    banner.wait_for(state="hidden")
    assert row.get_attribute("data-version") == "2" and row.get_attribute("data-class-value") == "2"

    # Live again: the owner undoes the change and the other browser follows.
    control["drop"] = False
    owner.keyboard.press("Escape")
    owner.keyboard.press("Control+z")
    wait_until(lambda: row.get_attribute("data-version") == "3" and row.get_attribute("data-class-value") == "1", 10,
               "the owner's undo to reach the other user")
    assert not owner.console_errors and not other.console_errors, (owner.console_errors, other.console_errors)


def label_state(page: Any) -> list[tuple[str, str, str]]:
    return [(r.get_attribute("data-feature-id"), r.get_attribute("data-version"), r.get_attribute("data-class-value"))
            for r in rows(page).all()]


def test_draw_move_delete_and_undo(page: Any, live_app: Any) -> None:
    login(page, live_app.owner)
    create_project(page, "E2E tools")
    open_labels(page)
    page.locator("details:has([data-testid=class-editor]) > summary").click()
    page.click("[data-testid=class-add]")
    page.locator("[data-testid=class-edit-name]").last.fill("Building")
    page.click("[data-testid=class-save]")
    page.wait_for_selector("[data-testid=class-pick][data-value='1']")

    box = page.locator("[data-testid=map]").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.keyboard.press("r")  # rectangle tool
    assert "active" in page.get_attribute("[data-testid=tool-rectangle]", "class")
    page.mouse.click(cx - 80, cy - 60)
    page.mouse.click(cx + 80, cy + 60)
    wait_until(lambda: rows(page).count() == 1, 10, "the rectangle saved")
    (fid, version, value), = label_state(page)
    assert version == "1" and value == "1"

    # Select it and drag it: a move is saved as version 2.
    page.keyboard.press("v")
    page.mouse.click(cx, cy)
    wait_until(lambda: not page.locator("[data-testid=labels-delete]").is_disabled(), 5, "the rectangle selected")
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx + 40, cy + 30, steps=6)
    page.mouse.up()
    wait_until(lambda: label_state(page) == [(fid, "2", "1")], 10, "the move saved as version 2")

    # Del deletes it; Ctrl+Z brings it back (as a new label).
    page.keyboard.press("Delete")
    wait_until(lambda: rows(page).count() == 0, 10, "the label deleted")
    page.keyboard.press("Control+z")
    wait_until(lambda: rows(page).count() == 1, 10, "the label restored by undo")
    assert label_state(page)[0][0] != fid
    assert page.locator("[data-testid=class-pick][data-value='1'] [data-testid=class-count]").inner_text() == "1"
    assert not page.console_errors, page.console_errors
