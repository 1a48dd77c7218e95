import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from apps.labeling.models import Project
from apps.labeling.services import project_create, raster_create_from_upload
from backend.scratch import scratch_dir

SAMPLE = Path(settings.BASE_DIR) / "tests" / "data" / "OSBS_029.tif"


class Command(BaseCommand):
    help = "Create the 'Demo' project with a small real aerial image (NEON OSBS_029), once."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--owner", default=None, help="username of the owner (default: the admin)")

    def handle(self, *args, **options) -> None:
        User = get_user_model()
        owner = (User.objects.filter(username=options["owner"]).first() if options["owner"]
                 else User.objects.filter(is_superuser=True).order_by("pk").first())
        if owner is None:
            self.stderr.write("No owner user; run ensure_admin first.")
            return
        if Project.objects.filter(name="Demo", memberships__user=owner).exists():
            self.stdout.write("Demo project already loaded.")
            return
        project = project_create(user=owner, name="Demo", description="NEON aerial image of Ordway-Swisher "
                                 "Biological Station (10 cm) with tree crowns to label.",
                                 classes=[{"value": 1, "name": "Tree", "color": [46, 204, 64]}])
        with tempfile.TemporaryDirectory(dir=scratch_dir()) as tmp:
            copy = Path(tmp) / SAMPLE.name
            shutil.copy(SAMPLE, copy)
            raster_create_from_upload(user=owner, project=project, uploaded_path=copy, name="OSBS_029 (NEON, 10 cm)")
        self.stdout.write(f"Demo project {project.pk} loaded; its raster is ingesting on the worker.")
