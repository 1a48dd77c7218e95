"""``Rasterlab``: a connection to a server and its tools, in the spirit of arcgis.learn.

    rl = Rasterlab("http://localhost:8000", token="...")
    raster = rl.upload_raster("trees.tif")
    dataset = rl.export_training_data(raster, metadata_format="PASCAL_VOC_rectangles", tile_size_x=128)
    model = rl.train_model(dataset, "FasterRCNN", max_epochs=5)
    trees = rl.detect_objects(raster, model, threshold=0.5).read()

Tools wait for their job with a progress bar and return what it made (``wait=False``: the Job).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from .errors import RasterlabError
from .http import Http, PathLike
from .items import Collection, Dataset, Item, Layer, Model, Project, Raster, item_id
from .jobs import Job
from .tools import TOOLS, job_params

Ref = Union[int, Item, Dict[str, Any]]
Extent = Optional[Dict[str, Any]]


class Rasterlab:
    """A Rasterlab server. ``token`` (or RASTERLAB_TOKEN), or ``username`` and ``password``.

    ``project``: the project new rasters, models and jobs go to (a tool whose input is an item uses
    that item's project); default: your only project."""

    def __init__(self, url: str, token: Optional[str] = None, *, username: Optional[str] = None,
                 password: Optional[str] = None, project: Optional[Ref] = None, progress: bool = True,
                 timeout: float = 120.0) -> None:
        self._http = Http(url, token or os.environ.get("RASTERLAB_TOKEN"), timeout)
        if username is not None and password is not None:
            self._http.login(username, password)
        self._project = item_id(project)
        self.progress = progress

    @property
    def url(self) -> str:
        return self._http.url

    @property
    def token(self) -> Optional[str]:
        return self._http.token

    def schema(self) -> Dict[str, Any]:
        """The server's OpenAPI schema (/api/schema/), as JSON."""
        return self._http.request("GET", "/api/schema/", headers={"Accept": "application/json"})  # type: ignore[no-any-return]

    # projects ------------------------------------------------------------------------------------
    def projects(self) -> List[Project]:
        return [Project(self._http, p) for p in self._http.pages("/api/projects/")]

    def create_project(self, name: str, classes: Optional[Sequence[Dict[str, Any]]] = None,
                       description: str = "") -> Project:
        """A new project (you own it), which becomes the current one. ``classes``:
        ``[{"value": 1, "name": "Tree", "color": [0, 160, 0]}, ...]``."""
        body = {"name": name, "description": description, "classes": list(classes or [])}
        project = Project(self._http, self._http.post("/api/projects/", body))
        self._project = project.id
        return project

    def use_project(self, project: Ref) -> None:
        self._project = item_id(project)

    @property
    def project(self) -> int:
        """The current project's id."""
        if self._project is None:
            projects = self.projects()
            if len(projects) != 1:
                raise RasterlabError(f"you have {len(projects)} projects: pass project= to Rasterlab() or call "
                                     "use_project() / create_project()")
            self._project = projects[0].id
        return self._project

    # rasters, layers, datasets -----------------------------------------------------------------
    def upload_raster(self, path: PathLike, name: Optional[str] = None, project: Optional[Ref] = None,
                      wait: bool = True) -> Raster:
        """Upload a GeoTIFF (or any raster GDAL reads); waits until it is a ready COG."""
        body = self._http.upload("/api/rasters/", path, {"project": item_id(project) or self.project, "name": name})
        raster = Raster(self._http, body)
        if wait and raster.status == "processing" and raster.data.get("job"):
            Job(self._http, {"id": raster.data["job"], "kind": "ingest_raster"}).wait(self.progress)
        if wait:
            raster.refresh()
            if raster.status == "failed":
                raise RasterlabError(f"raster {raster.name!r} failed: {raster.data.get('error')}")
        return raster

    def rasters(self, project: Optional[Ref] = None) -> List[Raster]:
        return [Raster(self._http, r) for r in self._http.pages("/api/rasters/", project=item_id(project) or self.project)]

    def raster(self, raster: Ref) -> Raster:
        return Raster(self._http, self._http.get(f"/api/rasters/{item_id(raster)}/"))

    def collections(self, project: Optional[Ref] = None) -> List[Collection]:
        """Raster collections (a tool run over one runs over all of its rasters)."""
        return [Collection(self._http, c) for c in
                self._http.pages("/api/collections/", project=item_id(project) or self.project)]

    def layers(self, project: Optional[Ref] = None) -> List[Layer]:
        return [Layer(self._http, d) for d in self._http.pages("/api/layers/", project=item_id(project) or self.project)]

    def layer(self, layer: Ref) -> Layer:
        return Layer(self._http, self._http.get(f"/api/layers/{item_id(layer)}/"))

    def labels(self, project: Optional[Ref] = None) -> Layer:
        """The project's labels layer (the first of kind ``labels``: "Labels")."""
        for layer in self.layers(project):
            if layer.data.get("kind") == "labels":
                return layer
        raise RasterlabError("the project has no labels layer")

    def import_labels(self, path: PathLike, layer: Optional[Ref] = None, class_field: Optional[str] = None,
                      wait: bool = True) -> Layer:
        """Import GeoJSON / GeoPackage / zipped Shapefile features into a layer (default: the labels)."""
        layer_id = item_id(layer) or self.labels().id
        body = self._http.upload(f"/api/layers/{layer_id}/import/", path, {"class_field": class_field})
        if wait and body.get("job"):
            Job(self._http, {"id": body["job"], "kind": "import_features"}).wait(self.progress)
        return self.layer(layer_id)

    def datasets(self, project: Optional[Ref] = None) -> List[Dataset]:
        return [Dataset(self._http, d) for d in
                self._http.pages("/api/datasets/", project=item_id(project) or self.project)]

    def dataset(self, dataset: Ref) -> Dataset:
        return Dataset(self._http, self._http.get(f"/api/datasets/{item_id(dataset)}/"))

    # models --------------------------------------------------------------------------------------
    def list_models(self, project: Optional[Ref] = None, search: Optional[str] = None,
                    model_type: Optional[str] = None) -> List[Model]:
        """The model packages you can see (``project``: only that project's and shared ones)."""
        return [Model(self._http, m) for m in self._http.pages("/api/models/", project=item_id(project),
                                                                search=search, model_type=model_type)]

    def model(self, model: Ref) -> Model:
        return Model(self._http, self._http.get(f"/api/models/{item_id(model)}/"))

    def upload_model(self, path: PathLike, project: Optional[Ref] = None, title: Optional[str] = None,
                     description: Optional[str] = None, shared: bool = False) -> Model:
        """Upload a .dlpk model package (from ArcGIS, arcgis.learn or Rasterlab)."""
        body = self._http.upload("/api/models/", path, {
            "project": item_id(project) or self.project, "title": title, "description": description,
            "shared": "true" if shared else "false"})
        return Model(self._http, body)

    # jobs ----------------------------------------------------------------------------------------
    def job(self, job: Ref) -> Job:
        return Job(self._http, self._http.get(f"/api/jobs/{item_id(job)}/"))

    def jobs(self, project: Optional[Ref] = None, status: Optional[str] = None) -> List[Job]:
        return [Job(self._http, j) for j in
                self._http.pages("/api/jobs/", project=item_id(project) or self.project, status=status)]

    def start_job(self, kind: str, params: Dict[str, Any], project: Optional[Ref] = None) -> Job:
        """Start any job kind (POST /api/jobs/); a 400 names the parameter to fix."""
        body = {"kind": kind, "project": item_id(project) or self.project, "params": params}
        return Job(self._http, self._http.post("/api/jobs/", body))

    def _run(self, tool_name: str, values: Dict[str, Any], arguments: Optional[Dict[str, Any]] = None) -> Any:
        wait = values.pop("wait")
        tool = TOOLS[tool_name]
        project = _project_of(values.values()) or self.project
        job = self.start_job(tool.kind, job_params(tool, values, arguments or {}), project)
        if not wait:
            return job
        return job.wait(self.progress)

    # tools ---------------------------------------------------------------------------------------
    from .tool_methods import (  # noqa: E402 - the tool methods, one module (see tool_methods.py)
        classify_objects, classify_pixels, compute_accuracy, detect_objects, export_onnx, export_training_data,
        non_max_suppression, train_model,
    )

    def __repr__(self) -> str:
        return f"<Rasterlab {self.url}>"


def _project_of(values: Any) -> Optional[int]:
    """The project of the tool's first input when it is given as an item (a raster, layer...)."""
    first = next(iter(values), None)
    first = first[0] if isinstance(first, (list, tuple)) and first else first
    if isinstance(first, Item) and isinstance(first.data.get("project"), int):
        return int(first.data["project"])
    return None
