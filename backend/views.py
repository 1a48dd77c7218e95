"""The page shell of the browser app (the TypeScript app in frontend/ does the rest)."""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render


@login_required
def app_shell(request: HttpRequest) -> HttpResponse:
    config = {
        "user": {"id": request.user.pk, "username": request.user.get_username()},
        "csrfToken": get_token(request),
        "logoutUrl": "/accounts/logout/",
        "basemapUrl": settings.BASEMAP_URL,
        "basemapAttribution": settings.BASEMAP_ATTRIBUTION,
    }
    return render(request, "app.html", {"config": config})
