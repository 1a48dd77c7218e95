from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from .collections import CollectionViewSet
from .datasets import DatasetViewSet, dataset_preview
from .layers import urlpatterns as layer_urlpatterns
from .tiles import TileJSONView, raster_tile
from .views import ProjectViewSet, RasterViewSet

router = SimpleRouter()
router.register("projects", ProjectViewSet, basename="project")
router.register("rasters", RasterViewSet, basename="raster")
router.register("datasets", DatasetViewSet, basename="dataset")
router.register("collections", CollectionViewSet, basename="collection")

urlpatterns = [
    path("rasters/<id:raster_id>/tilejson.json", TileJSONView.as_view(), name="raster-tilejson"),
    re_path(r"^rasters/(?P<raster_id>[^/]+)/tiles/(?P<z>\d+)/(?P<x>\d+)/(?P<y>\d+)\.(?P<fmt>png|jpg|jpeg|webp)$",
            raster_tile, name="raster-tile"),
    path("datasets/<id:pk>/preview/<int:n>.png", dataset_preview, name="dataset-preview"),
    *router.urls,
]
urlpatterns += layer_urlpatterns
