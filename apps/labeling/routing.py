"""Websocket routes of the labeling app (layer co-editing is added with layers)."""
websocket_urlpatterns: list = []
