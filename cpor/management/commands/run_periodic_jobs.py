import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from cpor.periodic import periodic_jobs_run


class Command(BaseCommand):
    help = (
        "Run one pass of every periodic job now (each app's: validation of claims left in Submitted, the "
        "approval timer, subscription status checks, email retries)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--now",
            help="Pretend the clock reads this ISO 8601 time (e.g. 2030-01-01T00:00:00Z) for the approval timer "
            "and subscription checks, to move past an opt-out deadline without waiting.",
        )

    def handle(self, *args, now=None, **options):
        moment = None
        if now:
            moment = parse_datetime(now.replace("Z", "+00:00"))
            if moment is None:
                raise CommandError(f"--now: {now!r} is not an ISO 8601 date and time.")
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=datetime.UTC)
        counts = periodic_jobs_run(now=moment)
        for job, count in counts.items():
            self.stdout.write(f"{job}: {count}")
