from django.core.management.base import BaseCommand

from apps.jobs.services import jobs_reap_stale, jobs_recover


class Command(BaseCommand):
    help = ("Fail (or retry once) running jobs whose worker stopped sending heartbeats or left, and "
            "enqueue again queued jobs that Redis lost (workers do both by themselves).")

    def handle(self, *args, **options) -> None:
        reaped = jobs_reap_stale()
        recovered = jobs_recover()
        self.stdout.write(f"reaped {len(reaped)} job(s): {reaped}; re-enqueued {len(recovered)}: {recovered}")
