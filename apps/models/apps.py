from django.apps import AppConfig


class ModelsConfig(AppConfig):
    name = "apps.models"
    label = "dlmodels"  # "models" would clash with Django's own naming
    verbose_name = "Model packages, training and inference"

    def ready(self) -> None:
        from . import jobkinds
        from .training import weights

        jobkinds.register()
        weights.configure()
