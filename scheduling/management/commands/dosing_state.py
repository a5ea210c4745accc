"""`python manage.py dosing_state --verify | --repair`: check the stored next dose of every course.

--verify recomputes every active course's next dose from its appointments and prints each
stored value that disagrees (nothing when all agree); it exits 1 when any does. --repair
writes the recomputed values.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from scheduling.doses import dose_states_refresh, dose_states_verify


class Command(BaseCommand):
    help = "Check (--verify) or rebuild (--repair) the stored next dose of every active course."

    def add_arguments(self, parser) -> None:
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--verify", action="store_true", help="print the courses whose stored state disagrees")
        group.add_argument("--repair", action="store_true", help="recompute and store every course's state")

    def handle(self, *args, verify: bool = False, repair: bool = False, **options) -> None:
        if repair:
            written = dose_states_refresh()
            if options["verbosity"] > 1:
                self.stdout.write(f"{written} course states written.")
            return
        differences = dose_states_verify()
        for item in differences:
            self.stdout.write(
                f"course {item.course_id}: {item.field} stored {item.stored!r}, computed {item.computed!r}"
            )
        if differences:
            courses = len({item.course_id for item in differences})
            raise CommandError(
                f"{courses} course(s) disagree. Run `python manage.py dosing_state --repair` to fix them.",
                returncode=1,
            )
