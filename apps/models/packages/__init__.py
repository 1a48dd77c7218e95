"""Model package items (.dlpk): the Django side of backend/engine/dlpk.

Public API (import from the modules):

services.py (writes; raise backend.api.exceptions errors, mapped to 4xx in one place)
    model_upload(*, user, project, uploaded_path, file_name, title="", description=None,
                 tags=None, shared=False) -> ModelPackage
    model_package_create_from_folder(*, project, user, folder, title) -> ModelPackage
    model_update(*, user, package, title=, description=, tags=, shared=, classes=,
                 cell_size=, argument_defaults=) -> ModelPackage
    model_delete(*, user, package) -> None
    model_package_file(package) -> Path          # the stored .dlpk
    model_extracted_dir(package) -> Path         # its members on disk, for inference
selectors.py (reads)
    models_for(user, *, project=None, search="", model_type="", family="", shared=None,
               runnable=None) -> QuerySet[ModelPackage]
    model_get_visible(user, id) -> ModelPackage  # 404 unless a member of its project or shared
permissions.py
    visible_filter(user) -> Q, writable_project_ids(user) -> set[int],
    require_write(user, package) -> None         # 403 for viewers and outsiders
describe.py
    emd_columns(emd), classes_json(emd), cell_size_json(emd), metrics_json(emd),
    arguments_json(emd), image_members(names), stored_emd(emd_json) -> Emd
edits.py
    edit_classes / edit_cell_size / edit_argument_defaults / edit_description (Emd -> Emd)
storage.py
    package_dir(id), package_path(id), extracted_dir(id), models_root()
serializers.py
    ModelPackageSerializer, ModelUploadSerializer, ModelUpdateSerializer
signals.py
    a deleted ModelPackage's folder is removed after the commit
"""
