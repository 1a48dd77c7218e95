"""Inference engine (Django-free): Detect Objects, Classify Pixels, Classify Objects, NMS.

Work is split ArcGIS-style (esri-dlpk.md §5) into padded chips whose centres tile the processing
window, and chips into *parts* that can run on different workers; each part streams to its own
file and a merge step joins them. Rasters are only ever read window by window.

Public API (see each module for details):

planning.py
    plan_inference(raster_path, *, chip_size, padding, extract_bands, processing_extent=None,
                   cell_size=None, part_size=DEFAULT_PART_SIZE) -> InferencePlan(grid, window, parts)
    resolve_tiles(chip_size, tile_size, padding) -> (chip, padding)   # defaults: padding = chip // 4
    part_grid(raster_path, part) -> RasterGrid
tiling.py (pure)
    PixelWindow(col_off, row_off, width, height), TileSpec(chip_size, padding).inner,
    tile_spec(chip_size, padding) -> TileSpec, ChipSpec(row, col, window, centre),
    iter_chips(window, tiles), chip_at(window, tiles, row, col),
    plan_parts(window, chip_size, padding, part_size, *, grid_size=None, cell_size=None)
        -> list[PartSpec]; PartSpec.to_dict() / PartSpec.from_dict(d) (JSON job params)
reading.py
    processing_grid(src, cell_size=None) -> RasterGrid, extent_window(grid, geometry_4326, name)
        -> PixelWindow, check_bands(extract_bands, band_count, name),
    GridReader(raster_path, grid, bands).read(window) -> (data [bands,h,w], valid [h,w])
detect.py
    DetectArgs(padding, batch_size, threshold, nms_overlap, exclude_pad_detections,
               return_bboxes, tile_size); DetectArgs.from_arguments(coerced_arguments)
    detect_objects_part(raster_path, part, predictor, args, sink: FeatureSink | Path,
                        progress, should_stop) -> PartResult(count, chips, skipped)
features.py
    DetectedFeature(geometry_json, geometry_4326_json, bbox, class_value, class_name,
                    confidence 0..1) with .geometry / .geometry_4326 dicts and .to_json_line(),
    FeatureSink = Callable[[DetectedFeature], None], FeatureFileWriter(path),
    read_features(path) -> Iterator[GeoJSON Feature dict]   # NDJSON part / merged files
    read_nms_fields(line) -> (bbox_native, confidence, class_value)
nms.py
    non_max_suppression(boxes, scores, classes, max_overlap_ratio, class_agnostic=False)
        -> kept indices (most confident first; equals torchvision nms / batched_nms)
    merge_detection_parts(part_files, run_nms, max_overlap_ratio, class_agnostic, out,
                          progress, should_stop) -> MergeResult(path, features_in, features_out)
classify_pixels.py
    ClassifyPixelsArgs(padding, batch_size, predict_background=None, tile_size)
    classify_pixels_part(raster_path, part, predictor, args, out_path, progress, should_stop)
        -> PartResult
    merge_classified_parts(part_paths, out_cog_path, classes, progress) -> Path (COG + colormap)
classify_objects.py
    ClassifyObjectsArgs(batch_size, cell_size, crop_size_fixed, blacken_around_feature)
    classify_objects(raster_path, features: Iterable[(feature_id, geometry_4326)], predictor,
                     args, progress, should_stop) -> Iterator[ObjectClass(feature_id,
                     class_value, class_name, confidence)]
run.py (one process: plan, every part, merge)
    detect_objects(raster_path, predictor, args, out_path, *, processing_extent, cell_size,
                   run_nms, max_overlap_ratio, class_agnostic, part_size, progress, should_stop)
        -> MergeResult
    classify_pixels(raster_path, predictor, args, out_cog_path, *, processing_extent,
                    cell_size, part_size, progress, should_stop) -> list[PartResult]
classes.py
    value_table(classes), default_predict_background(classes), classified_dtype(classes),
    classified_nodata(classes, dtype), class_colormap(classes, nodata)
protocols.py
    PredictorLike, DetectionsLike, ClassInfo (structural twins of nets.predictor / dlpk.emd)

Errors: EngineInputError for bad input (bands, extent, arguments, "out of GPU memory: lower
batch_size (now N)"), Cancelled when should_stop() turns true (no part file is left behind).
"""
