"""`manage.py seed_demo`: the demo world (see `demo`). Idempotent; refused in production."""

import os

from django.core.management.base import BaseCommand, CommandError

from demo.claims import demo_claims_ensure
from demo.world import DEMO_PASSWORD, DEMO_USERS, DemoRefused, demo_allowed_check, demo_seed


class Command(BaseCommand):
    help = "Load the demo directory feed and create the demo users (password cpor-demo). Idempotent."

    def handle(self, *args, **options):
        try:
            demo_allowed_check(os.environ.get("DJANGO_SETTINGS_MODULE"))
        except DemoRefused as refused:
            raise CommandError(str(refused)) from refused
        report = demo_seed()
        for line in report.directory.lines():
            self.stdout.write(f"  {line}")
        users = len(report.users_created) + len(report.users_updated)
        self.stdout.write(
            f"  users: {len(report.users_created)} created, {len(report.users_updated)} updated, "
            f"{len(DEMO_USERS) - users} unchanged; Reviewers group "
            f"{'updated' if report.reviewers_group_changed else 'unchanged'}"
        )
        claims_filed = demo_claims_ensure()
        self.stdout.write(f"  claims: {claims_filed} filed")
        self.stdout.write(f"Demo sign-ins (password {DEMO_PASSWORD}):")
        for spec in DEMO_USERS:
            who = "Reviewer (Django admin)" if spec.is_reviewer else f"{spec.role.label}, partner {spec.partner_id}"
            self.stdout.write(f"  {spec.email:<30} {who}")
        self.stdout.write(
            self.style.SUCCESS(
                "Demo world ready."
                if report.directory.changed or users or claims_filed
                else "Demo world already up to date."
            )
        )
