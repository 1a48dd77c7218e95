"""ASGI entry point: Django for HTTP, channels for websockets (served by daphne)."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings.base")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from backend.routing import websocket_urlpatterns  # noqa: E402
from backend.ws_auth import SameOriginWebsockets, TokenOrSessionAuthMiddleware  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Same-origin check (not channels' AllowedHostsOriginValidator: it refuses clients that send
        # no Origin, i.e. every API script, and with ALLOWED_HOSTS "*" accepted any site's page).
        "websocket": SameOriginWebsockets(
            TokenOrSessionAuthMiddleware(URLRouter(websocket_urlpatterns))
        ),
    }
)
