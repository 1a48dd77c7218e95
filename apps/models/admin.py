from django.contrib import admin

from .package_models import ModelPackage


@admin.register(ModelPackage)
class ModelPackageAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "project", "model_type", "model_name", "backbone", "runnable", "shared", "size",
                    "created_at"]
    list_filter = ["model_type", "family", "runnable", "shared", "source"]
    search_fields = ["title", "description", "model_name", "sha256"]
    # Edits must go through the services (they rewrite the stored package); the admin only looks.
    readonly_fields = [f.name for f in ModelPackage._meta.fields]

    def has_add_permission(self, request) -> bool:  # type: ignore[override]
        return False
