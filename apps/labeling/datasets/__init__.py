"""Exported training datasets: the ``export_training_data`` job kind and its results.

jobkind.register()                                  registers export_training_data with apps.jobs
                                                    (and signals.connect(): deleted rows lose their folder)
params.ExportTrainingDataParams                     the params, declared once (.clean(params, ctx) -> dict,
                                                    400 naming ``params.<field>``; its schema in /api/schema/)
export.run_export(ctx: JobContext) -> {"dataset": id, "chip_count": n}
export.export_aborted(job)                          failed/cancelled export: row and folder removed
selectors.datasets_for(user, project=None) -> QuerySet[Dataset]
selectors.dataset_get(user, dataset_id) -> Dataset  (404 for outsiders)
services.dataset_delete(*, user, dataset) -> None   (editors/owners; 409 while exporting)
services.dataset_samples(dataset, limit=12) -> list[dict]   sample chips for previews
archive.zip_stream(folder, prefix) -> Iterator[bytes]       the folder as a zip, chunk by chunk
preview.preview_png(dataset, n) -> bytes            sample chip n with its labels drawn
storage.dataset_dir(id) -> Path                     DATA_DIR/datasets/<id>/
"""
