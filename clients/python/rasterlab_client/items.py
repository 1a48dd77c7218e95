"""What the server holds, as small objects over their JSON (``obj.data`` is the whole answer)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional, Union

if TYPE_CHECKING:
    from .http import Http, PathLike


class Item:
    """An API resource: attributes read from its JSON; ``refresh()`` reads it again."""

    path = ""

    def __init__(self, http: "Http", data: Dict[str, Any]) -> None:
        self._http = http
        self.data = data

    @property
    def id(self) -> int:
        return int(self.data["id"])

    def __getattr__(self, name: str) -> Any:
        data = self.__dict__.get("data") or {}
        if name in data:
            return data[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def refresh(self) -> "Item":
        self.data = self._http.get(f"{self.path}{self.id}/")
        return self

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.id == self.id  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.id))

    def __repr__(self) -> str:
        label = self.data.get("title") or self.data.get("name") or ""
        return f"<{type(self).__name__} {self.id} {label!r}>"


class Project(Item):
    path = "/api/projects/"


class Raster(Item):
    """Imagery (or a classified raster made by classify_pixels)."""

    path = "/api/rasters/"


class Collection(Item):
    """Rasters of one place over time (give it to a tool as its raster input: every raster, in order)."""

    path = "/api/collections/"


class Dataset(Item):
    """Exported training data (image chips and labels)."""

    path = "/api/datasets/"

    def download(self, out: "PathLike") -> "PathLike":
        """The exported folder as a zip file (``out``: a file path, or a folder to save it in)."""
        return self._http.download(f"{self.path}{self.id}/download/", out)


class Layer(Item):
    """Vector features (labels or a tool's results)."""

    path = "/api/layers/"

    def to_geojson(self, bbox: Optional[tuple] = None, class_value: Optional[int] = None,
                   min_confidence: Optional[float] = None) -> Dict[str, Any]:
        """The features as a GeoJSON FeatureCollection (EPSG:4326)."""
        params = {"class_value": class_value, "min_confidence": min_confidence,
                  "bbox": ",".join(map(str, bbox)) if bbox else None}
        return self._http.get(f"{self.path}{self.id}/features/", **params)  # type: ignore[no-any-return]

    def to_geodataframe(self, **filters: Any) -> Any:
        """The features as a geopandas GeoDataFrame (EPSG:4326); needs geopandas installed."""
        try:
            import geopandas
        except ImportError:  # pragma: no cover - depends on the environment
            raise ImportError("to_geodataframe needs geopandas: pip install 'rasterlab-client[geo]'") from None
        collection = self.to_geojson(**filters)
        frame = geopandas.GeoDataFrame.from_features(collection["features"], crs="EPSG:4326")
        if "id" not in frame.columns:
            frame.insert(0, "id", [f.get("id") for f in collection["features"]])
        return frame

    def read(self, **filters: Any) -> Union[Dict[str, Any], Any]:
        """A GeoDataFrame when geopandas is installed, else the GeoJSON dict."""
        try:
            import geopandas  # noqa: F401
        except ImportError:
            return self.to_geojson(**filters)
        return self.to_geodataframe(**filters)


class Model(Item):
    """A model package (.dlpk)."""

    path = "/api/models/"

    def query_info(self) -> Dict[str, Any]:
        """The arguments inference takes, with their defaults (as arcgis.learn's Model.query_info)."""
        return self._http.get(f"{self.path}{self.id}/info/")  # type: ignore[no-any-return]

    def download(self, out: "PathLike") -> "PathLike":
        """The .dlpk (``out``: a file path, or a folder to save it in under its title)."""
        return self._http.download(f"{self.path}{self.id}/download/", out)


def item_id(value: Union[int, Item, Dict[str, Any], None]) -> Optional[int]:
    """An id from an object, its JSON, or an id."""
    if value is None:
        return None
    if isinstance(value, Item):
        return value.id
    if isinstance(value, dict):
        return int(value["id"])
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an id or an item, got {value!r}")
    return value
