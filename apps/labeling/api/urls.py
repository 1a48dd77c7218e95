from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from .tiles import TileJSONView, raster_tile
from .views import ProjectViewSet, RasterViewSet

router = SimpleRouter()
router.register("projects", ProjectViewSet, basename="project")
router.register("rasters", RasterViewSet, basename="raster")

urlpatterns = [
    path("rasters/<int:raster_id>/tilejson.json", TileJSONView.as_view(), name="raster-tilejson"),
    re_path(r"^rasters/(?P<raster_id>\d+)/tiles/(?P<z>\d+)/(?P<x>\d+)/(?P<y>\d+)\.(?P<fmt>png|jpg|jpeg|webp)$",
            raster_tile, name="raster-tile"),
    *router.urls,
]
