from django.core.management.base import BaseCommand

from apps.jobs.models import Job


class Command(BaseCommand):
    help = "List recent jobs (e.g. --status failed) with their errors."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--status", default=None, help="queued|running|succeeded|failed|cancelled")
        parser.add_argument("--limit", type=int, default=20)

    def handle(self, *args, **options) -> None:
        qs = Job.objects.all()
        if options["status"]:
            qs = qs.filter(status=options["status"])
        for job in qs[: options["limit"]]:
            line = f"#{job.pk} {job.kind} project={job.project_id} {job.status} {job.progress:.0%} {job.message}"
            if job.error:
                line += f"\n    error: {job.error}"
            self.stdout.write(line)
