"""manage.py import_weights FILE [FILE ...]: add ImageNet checkpoints to the weights cache (air-gapped)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from backend.api.exceptions import InvalidInput


class Command(BaseCommand):
    help = "Copy weights files (e.g. resnet50-0676ba61.pth, from manage.py fetch_weights) into DATA_DIR/weights."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("files", nargs="+", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        from apps.models.training.weights import import_weights

        for path in options["files"]:
            try:
                result = import_weights(path)
            except InvalidInput as exc:
                raise CommandError(str(exc.detail)) from None
            self.stdout.write(f"{path.name}: {result['backbone']} weights now at {result['path']}")
