"""Websocket routes of the labeling app: layer co-editing (see consumers.LayerConsumer)."""
from django.urls import re_path

from .consumers import LayerConsumer

websocket_urlpatterns: list = [
    re_path(r"^ws/layers/(?P<layer_id>\d{1,18})/$", LayerConsumer.as_asgi()),
]
