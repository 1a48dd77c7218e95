"""Inference jobs (issue 8): Detect Objects, Classify Pixels, Classify Objects and NMS on RQ.

Public API:

jobkinds.register()  -- job kinds ``detect_objects``, ``classify_pixels``, ``classify_objects``,
    ``non_max_suppression`` (params in ARCHITECTURE.md) and the internal ``inference_part``.
    Started through the jobs API: POST /api/jobs/ {kind, project, params}.
params.DetectObjectsParams / ClassifyPixelsParams / ClassifyObjectsParams / NonMaxSuppressionParams /
    InferencePartParams -- the params, declared once (apps.jobs.params.JobParams: .clean(params,
    ValidationContext) -> cleaned params, InvalidInput "params.<field>: ..." before anything is queued:
    model family and runnability, ExtractBands vs the raster's bands, processing_extent vs the raster,
    arguments coerced from the package); the same classes are the kinds' schemas in /api/schema/.
parts.run_tiled(ctx, kind, found_word) -> TiledRun(files, count, chips)  -- plan, one child job
    per part on the parent's queue, the parent runs still-queued parts itself, progress summed,
    cancel/failure cascade; parts.predictor_for(model_id, processor_type) (cached per worker),
    parts.cancel_parts(parent_id).
services.detect_objects_job / classify_pixels_job / classify_objects_job / nms_job(ctx) -> result
    ({layer, count} or {raster}); services.abort_job(job) removes a failed job's outputs.
outputs.detections_layer(...), create_result_layer(...), classified_raster(...), class_table(classes).
"""
