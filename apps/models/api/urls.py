"""API routes of the models app; each feature adds its urlpatterns here."""
from django.urls import path
from rest_framework.routers import SimpleRouter

from .packages import ModelPackageViewSet, package_image

router = SimpleRouter()
router.register("models", ModelPackageViewSet, basename="model")

urlpatterns: list = [
    path("models/<int:pk>/files/<path:name>", package_image, name="model-file"),
    *router.urls,
]
