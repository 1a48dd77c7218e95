from django.urls import re_path

from .consumers import JobConsumer, ProjectJobsConsumer

websocket_urlpatterns = [
    re_path(r"^ws/jobs/(?P<job_id>\d+)/$", JobConsumer.as_asgi()),
    re_path(r"^ws/projects/(?P<project_id>\d+)/jobs/$", ProjectJobsConsumer.as_asgi()),
]
