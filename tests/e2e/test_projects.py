"""Projects: the list with roles, sharing with a member, and what a viewer may do."""
from __future__ import annotations

import pytest

from .helpers import create_project, login

pytestmark = pytest.mark.e2e


def test_owner_shares_a_project_with_a_viewer(page, live_app, chromium_browser):
    login(page, live_app.owner)
    project_id = create_project(page, "E2E shared", "for a colleague")
    page.click("[data-testid=tab-project]")
    page.fill("[data-testid=member-username]", live_app.other.username)
    page.select_option("[data-testid=member-role]", "viewer")
    page.click("[data-testid=member-add]")
    page.locator("[data-testid=member-row]", has_text=live_app.other.username).wait_for()

    # An unknown user is refused with the server's message.
    page.fill("[data-testid=member-username]", "nobody-here")
    page.click("[data-testid=member-add]")
    page.locator("[data-testid=member-error]").wait_for(state="visible")

    context = chromium_browser.new_context(base_url=live_app.url, viewport={"width": 1280, "height": 800})
    try:
        other = context.new_page()
        login(other, live_app.other)
        row = other.locator(f"[data-testid=project-row][data-project-id='{project_id}']")
        row.wait_for()
        assert row.locator("[data-testid=project-role]").inner_text() == "viewer"

        # In-app navigation (pushState), then a viewer sees the map but no upload or delete controls.
        row.locator("[data-testid=project-link]").click()
        other.wait_for_selector("[data-testid=project-page]")
        assert other.url.rstrip("/").endswith(f"/projects/{project_id}")
        assert other.locator("[data-testid=upload-form]").count() == 0
        assert other.locator("[data-testid=tab-layers]").get_attribute("aria-selected") == "true"
        other.click("[data-testid=tab-project]")
        assert other.locator("[data-testid=project-delete]").count() == 0
        assert other.locator("[data-testid=project-edit-name]").is_disabled()

        # Back to the list with the browser's back button.
        other.go_back()
        other.wait_for_selector("[data-testid=project-list]")
    finally:
        context.close()


def test_project_page_for_a_project_one_cannot_see(page, live_app):
    login(page, live_app.other)
    page.goto("/projects/999999/")
    error = page.locator("[data-testid=project-error]")
    error.wait_for()
    assert error.inner_text().strip()
