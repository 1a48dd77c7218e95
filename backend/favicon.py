"""/favicon.ico: a small SVG mark, so browsers asking for it get 200 instead of a 404 in the log."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

ICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    '<rect width="32" height="32" rx="6" fill="#1e2630"/>'
    '<path d="M6 6h9v9H6zM17 6h9v9h-9zM6 17h9v9H6z" fill="#1f6feb"/>'
    '<path d="M17 17h9v9h-9z" fill="#ffdd00"/></svg>'
)


@require_GET
@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> HttpResponse:
    return HttpResponse(ICON, content_type="image/svg+xml")
