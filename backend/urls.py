from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from backend.api.params import IdConverter
from backend.api.tokens import ObtainTokenView, RotateTokenView
from backend.api.account import PasswordChangeView
from backend.favicon import favicon
from backend.views import ThrottledLoginView, app_shell

# <id:...> in the apps' routes: any segment, checked by backend.api.params.IdMiddleware (400, not 500).
register_converter(IdConverter, "id")

urlpatterns = [
    path("admin/login/", ThrottledLoginView.as_view()),  # the same brute-force limit as the app's sign-in
    path("admin/", admin.site.urls),
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("api/auth/token/rotate/", RotateTokenView.as_view(), name="api-token-rotate"),
    path("api/auth/password/", PasswordChangeView.as_view(), name="api-password"),
    path("favicon.ico", favicon, name="favicon"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("apps.labeling.api.urls")),
    path("api/", include("apps.jobs.api.urls")),
    path("api/", include("apps.models.api.urls")),
    path("", app_shell, name="home"),
    re_path(r"^projects/\d+/(?:.*)$", app_shell, name="project-page"),
]
