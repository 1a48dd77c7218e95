from django.core.management.base import BaseCommand

from apps.jobs.services import jobs_reap_stale


class Command(BaseCommand):
    help = "Fail (or retry once) running jobs whose worker stopped sending heartbeats."

    def handle(self, *args, **options) -> None:
        reaped = jobs_reap_stale()
        self.stdout.write(f"reaped {len(reaped)} job(s): {reaped}")
