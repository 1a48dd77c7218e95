"""Team management in the browser (issue 16, item 4): an owner adds a user by name, changes their
role, invites an e-mail without an account (one-time password shown once) and removes a member; the
invited user signs in, changes their password and makes and revokes an API token."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from .helpers import User, create_project, login, wait_until
from .test_labeling import other_page  # noqa: F401 - fixture

pytestmark = pytest.mark.e2e


def api_status(url: str, token: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            json.load(response)
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_owner_manages_the_team_and_users_their_account(page: Any, other_page: Any, live_app: Any) -> None:
    page.on("dialog", lambda dialog: dialog.accept())
    login(page, live_app.owner)
    project = create_project(page, "E2E team")
    page.click("[data-testid=tab-project]")
    row = page.locator("[data-testid=member-row]")
    wait_until(lambda: row.count() == 1, 5, "the owner listed")

    # A required name: said next to the field.
    page.click("[data-testid=member-add]")
    assert page.inner_text("[data-testid=field-error][data-for=member-username]") == "Fill in a username or e-mail."

    # Add by name as a viewer, then make them an editor in place.
    page.fill("[data-testid=member-username]", live_app.other.username)
    page.select_option("[data-testid=member-role]", "viewer")
    page.click("[data-testid=member-add]")
    other_row = page.locator(f"[data-testid=member-row][data-username='{live_app.other.username}']")
    other_row.wait_for()
    assert other_row.get_attribute("data-role") == "viewer"
    other_row.locator("[data-testid=member-role-select]").select_option("editor")
    wait_until(lambda: other_row.get_attribute("data-role") == "editor", 5, "the new role")

    # An unknown e-mail: invite them (an account with a one-time password).
    email = f"new.person.{int(time.time())}@example.org"
    page.fill("[data-testid=member-username]", email)
    page.click("[data-testid=member-add]")
    page.locator("[data-testid=member-error]:has-text('invite')").wait_for()
    page.check("[data-testid=member-invite]")
    page.click("[data-testid=member-add]")
    invited = page.locator("[data-testid=member-invited]")
    invited.wait_for()
    password = invited.get_attribute("data-password")
    username = email.split("@")[0]
    new_row = page.locator(f"[data-testid=member-row][data-username='{username}']")
    new_row.wait_for()
    assert email in new_row.inner_text()

    # The invited user signs in, sees the project and changes their password.
    login(other_page, User(username, password))
    other_page.locator(f"a[href='/projects/{project}/']").first.wait_for()
    other_page.click("[data-testid=user]")
    other_page.fill("[data-testid=password-old]", password)
    other_page.fill("[data-testid=password-new]", "a-brand-new-pass-42")
    other_page.fill("[data-testid=password-again]", "a-brand-new-pass-42")
    other_page.click("[data-testid=password-submit]")
    other_page.locator("[data-testid=password-result]:has-text('Password changed')").wait_for()

    # ... and makes an API token that works, then revokes it.
    other_page.click("[data-testid=token-create]")
    token_input = other_page.locator("[data-testid=token-value]")
    token_input.wait_for()
    token = token_input.input_value()
    assert len(token) >= 20 and api_status(f"{live_app.url}/api/projects/", token) == 200
    other_page.click("[data-testid=token-revoke]")
    other_page.locator("[data-testid=token-result]:has-text('revoked')").wait_for()
    assert api_status(f"{live_app.url}/api/projects/", token) in (401, 403)  # "Invalid token."
    other_page.click("[data-testid=account-close]")

    # Signing in again takes the new password.
    other_page.context.clear_cookies()
    login(other_page, User(username, "a-brand-new-pass-42"))

    # The owner removes the invited member.
    new_row.locator("[data-testid=member-remove]").click()
    wait_until(lambda: new_row.count() == 0, 5, "the member removed")
    assert row.count() == 2
    assert not page.console_errors and not other_page.console_errors, (page.console_errors, other_page.console_errors)
