"""`manage.py import_directory FILE`: load a directory feed, all or nothing.

The work is `tenants.importer.directory_import`; this command opens the file, prints what
was created, updated and left unchanged per record type, or names every bad line on
stderr and exits non-zero with nothing kept.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tenants.importer import FeedRejected, directory_import
from tenants.signals import directory_imported


class Command(BaseCommand):
    help = "Load a directory feed (JSON Lines, format 1.1): idempotent, all or nothing, each bad line named."

    def add_arguments(self, parser):
        parser.add_argument("feed", type=Path, metavar="FILE", help="the feed, one JSON object per line")

    def handle(self, *args, feed: Path, **options):
        try:
            stream = feed.open("rb")
        except OSError as error:
            raise CommandError(f"Cannot read {feed}: {error.strerror}") from error
        with stream:
            try:
                report = directory_import(stream=stream)
            except FeedRejected as rejected:
                for bad_line in rejected.bad_lines:
                    self.stderr.write(str(bad_line))
                if rejected.total > len(rejected.bad_lines):
                    self.stderr.write(f"... and {rejected.total - len(rejected.bad_lines)} more bad lines")
                raise CommandError(f"{feed}: {rejected.total} bad line(s); nothing was loaded.") from None
        for line in report.lines():
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"{feed}: loaded."))
        # The apps above the directory react (a subscription whose status changed ends the
        # approved items it held) and say what they did.
        for _receiver, sentence in directory_imported.send(sender=self.__class__):
            if sentence:
                self.stdout.write(sentence)
