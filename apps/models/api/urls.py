"""API routes of the models app; each feature adds its urlpatterns here."""
from django.urls import path
from rest_framework.routers import SimpleRouter

from ..training.api import training_start, weights_collection
from .packages import ModelPackageViewSet, package_image

router = SimpleRouter()
router.register("models", ModelPackageViewSet, basename="model")

urlpatterns: list = [
    path("models/<id:pk>/files/<path:name>", package_image, name="model-file"),
    path("training/start/", training_start, name="training-start"),
    path("weights/", weights_collection, name="weights"),
    *router.urls,
]
