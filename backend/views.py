"""The page shell of the browser app (the TypeScript app in frontend/ does the rest)."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render

from backend.api import login_throttle


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


class ThrottledLoginView(LoginView):
    """The sign-in page, with failed attempts counted (backend.api.login_throttle): too many answer
    429 with the form and a message saying when to try again."""

    template_name = "login.html"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        username = str(request.POST.get("username", ""))[:150]
        locked = login_throttle.lockout(request, username)
        if locked:
            context = self.get_context_data(form=self.get_form(), lockout=locked.detail)
            response = self.render_to_response(context, status=429)
            response["Retry-After"] = str(locked.retry_after)
            return response
        response = super().post(request, *args, **kwargs)
        if request.user.is_authenticated:
            login_throttle.record_success(request, username)
        else:
            login_throttle.record_failure(request, username)
        return response
