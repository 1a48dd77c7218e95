import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = ("Create the admin account if missing and print its credentials "
            "(RASTERLAB_ADMIN_USER / RASTERLAB_ADMIN_PASSWORD, else a generated password kept in the data dir).")

    def handle(self, *args, **options) -> None:
        username = os.environ.get("RASTERLAB_ADMIN_USER", "admin")
        password = os.environ.get("RASTERLAB_ADMIN_PASSWORD")
        saved = Path(settings.DATA_DIR) / "admin-password.txt"
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if password is None and saved.exists():
            password = saved.read_text().strip()
        if user is None:
            if password is None:
                password = secrets.token_urlsafe(12)
                saved.write_text(password)
                saved.chmod(0o600)
            User.objects.create_superuser(username=username, email="", password=password)
        elif os.environ.get("RASTERLAB_ADMIN_PASSWORD"):
            user.set_password(password)
            user.save(update_fields=["password"])
        shown = password if password is not None else "(unchanged; set RASTERLAB_ADMIN_PASSWORD to reset)"
        self.stdout.write(f"Admin account: username={username} password={shown}")
