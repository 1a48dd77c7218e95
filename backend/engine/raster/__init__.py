"""Raster engine: validation, COG ingest with statistics, and XYZ tile rendering.

Public API:
- ``inspect.inspect_raster(path) -> RasterInfo`` (raises EngineInputError for unusable files)
- ``ingest.cog_ingest(src, dst, progress, should_stop) -> IngestResult``
- ``tiles.render_tile(cog_path, z, x, y, TileRequest) -> bytes`` and ``tiles.tilejson(...)``
"""
