"""Rasterlab from Python: ``Rasterlab(url, token=...)`` and its tools (see README.md)."""
from .client import Rasterlab
from .errors import JobCancelled, JobFailed, RasterlabError
from .items import Collection, Dataset, Layer, Model, Project, Raster
from .jobs import Job

__all__ = ["Rasterlab", "RasterlabError", "JobFailed", "JobCancelled", "Job", "Collection", "Dataset", "Layer", "Model",
           "Project", "Raster"]
__version__ = "0.1.0"
