"""API routes of the models app; each feature adds its urlpatterns here."""
from django.urls import path
from rest_framework.routers import SimpleRouter

from ..change.api import change_areas, change_detections, change_matrix_view
from ..accuracy.api import accuracy_outcomes, accuracy_report_csv, accuracy_report_json, model_accuracy_runs
from ..training.api import training_start, weights_collection
from .packages import ModelPackageViewSet, package_image

router = SimpleRouter()
router.register("models", ModelPackageViewSet, basename="model")

urlpatterns: list = [
    path("models/<id:pk>/files/<path:name>", package_image, name="model-file"),
    path("models/<id:pk>/accuracy/", model_accuracy_runs, name="model-accuracy"),
    path("accuracy/<id:pk>/report.csv", accuracy_report_csv, name="accuracy-csv"),
    path("accuracy/<id:pk>/report.json", accuracy_report_json, name="accuracy-json"),
    path("accuracy/<id:pk>/outcomes/", accuracy_outcomes, name="accuracy-outcomes"),
    path("change/<id:pk>/areas/", change_areas, name="change-areas"),
    path("change/<id:pk>/matrix/", change_matrix_view, name="change-matrix"),
    path("change/<id:pk>/detections/", change_detections, name="change-detections"),
    path("training/start/", training_start, name="training-start"),
    path("weights/", weights_collection, name="weights"),
    *router.urls,
]
