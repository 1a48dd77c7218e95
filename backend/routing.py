"""Websocket routes of every app."""
from apps.jobs.routing import websocket_urlpatterns as job_routes
from apps.labeling.routing import websocket_urlpatterns as labeling_routes

websocket_urlpatterns = [*job_routes, *labeling_routes]
