"""`python manage.py regimen_changes_apply`: apply the regimen changes whose effective day has come.

What the hourly beat task does (scheduling.tasks.regimen_changes_apply_due), for a server run
without beat or to catch up by hand. A change already applied is left alone, so running it
twice changes nothing.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from clinic.regimen_changes import regimen_changes_apply_due


class Command(BaseCommand):
    help = "Apply the regimen changes whose effective day has come."

    def handle(self, *args, **options) -> None:
        applied = regimen_changes_apply_due()
        self.stdout.write(f"{applied} regimen change{'s' if applied != 1 else ''} applied.")
