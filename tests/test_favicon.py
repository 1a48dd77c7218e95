"""Browsers ask for /favicon.ico on every page: it answers an icon, not a 404 in the log."""
import pytest

pytestmark = pytest.mark.django_db


def test_favicon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert b"<svg" in response.content
