"""Layers and features: co-edited labels and model output (issue 4).

Public API (Django side; views in apps/labeling/api/layers.py, websocket in apps/labeling/consumers.py):

services (writes; each feature write takes the layer's next seq and broadcasts one event on commit)
    layer_create(*, user, project, name, kind="labels", classes=None, source_job_id=None,
                 check_access=True) -> Layer
    layer_update(*, user, layer, name=None) -> Layer
    layer_delete(*, user, layer) -> None
    feature_create(*, user, layer, geometry, properties=None) -> Feature
    feature_update(*, user, layer, feature_id, version, geometry=None, properties=None) -> Feature
    feature_delete(*, user, layer, feature_id, version) -> None
    features_bulk_create(*, layer, features: Iterable[NewFeature], user=None, reason="import",
                         batch_size=2000) -> int       # model output / imports: one change, one event
    parse_version(if_match_header, properties) -> int   # 428 PreconditionRequired when absent
    NewFeature(geometry: CleanGeometry, class_value=None, class_name="", confidence=None,
               raster_id=None, attributes={})
schema
    project_classes_update(*, user, project, classes, remap=None) -> Project
    check_classes_change(project, new_classes)        # CLASSES_CHANGE_CHECKS hook (409 + in_use)
    check_class_value(claim, value) -> int | None
selectors
    layers_for(user) -> QuerySet[Layer]; layer_get(user, layer_id) -> Layer (404)
    feature_get(layer, feature_id) -> Feature (404)
    FeatureFilter.parse(query) ; features_query(layer, FeatureFilter) -> QuerySet[Feature]
    deleted_since(layer, seq) -> list[int]; class_counts(layer) -> {value: n}
geometry
    clean_geometry(geojson, where="geometry") -> CleanGeometry   # 400 saying what is wrong
    check_shape(shapely_geometry) -> CleanGeometry
serialize
    feature_dict(feature, layer=None) -> GeoJSON Feature dict; collection_text(rows, layer, members) -> str
importing
    layer_import(*, user, layer, upload_path, filename, options: ImportOptions) -> ImportOutcome(count|job_id)
    read_features(path, filename, *, table, options, progress=None, should_stop=None) -> list[NewFeature]
exporting
    layer_export(layer, "geojson"|"gpkg", FeatureFilter) -> Path (a temporary file)
mvt
    render_mvt(layer, z, x, y, FeatureFilter) -> bytes
changes
    write_transaction()   # atomic (+ process write lock on SQLite), events sent after commit
    claim_seq(layer_id, *, span=0.0, count_delta=0) -> Claim(layer_id, seq, kind, layer_classes, project_classes)
events
    layer_group(layer_id) -> str; send_after_commit(layer_id, event)
presence
    touch/leave/present (Redis sorted set per layer)
hooks
    register()   # default "Labels" layer, class-change check, import_features job kind
"""
