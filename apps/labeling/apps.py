from django.apps import AppConfig


class LabelingConfig(AppConfig):
    name = "apps.labeling"
    label = "labeling"
    verbose_name = "Projects, imagery and labels"

    def ready(self) -> None:
        from apps.jobs.registry import set_access_policy

        from . import access_events, jobkinds
        from .datasets import jobkind as dataset_jobkind
        from .layers import hooks as layer_hooks
        from .permissions import MembershipAccessPolicy

        set_access_policy(MembershipAccessPolicy())
        jobkinds.register()
        access_events.register()
        layer_hooks.register()
        dataset_jobkind.register()
