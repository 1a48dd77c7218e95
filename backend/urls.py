from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token

from backend.api.account import PasswordChangeView
from backend.views import app_shell

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(template_name="login.html"), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/auth/token/", obtain_auth_token, name="api-token"),
    path("api/auth/password/", PasswordChangeView.as_view(), name="api-password"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("apps.labeling.api.urls")),
    path("api/", include("apps.jobs.api.urls")),
    path("api/", include("apps.models.api.urls")),
    path("", app_shell, name="home"),
    re_path(r"^projects/\d+/(?:.*)$", app_shell, name="project-page"),
]
