"""Browser end-to-end tests: Playwright + /usr/bin/chromium against the real app (daphne + RQ worker).

Run: `.venv/bin/python -m pytest tests/e2e -q` (builds frontend/ first when it is stale).
Fixtures (conftest.py): `live_app` (session: base URL, `owner`/`other` users, logs),
`chromium_browser` (session), `page` (per test: fresh context with base_url).
Helpers (helpers.py): `login(page, user)`, `create_project(page, name, description="") -> id`,
`upload_raster(page, path, name)`, `wait_until(predicate, timeout, message)`, map checks
`map_center_clip`, `map_image`, `drawn_fraction`, `grey_fraction`.
"""
