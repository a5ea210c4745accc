"""`manage.py seed_demo`: the demo clinics, staff, patients and appointments (demo only)."""

from django.core.management.base import BaseCommand, CommandError

from clinic.demo import DEMO_PASSWORD, USERS, demo_build, demo_present
from clinic.models import Regimen

REGIMEN_CODES = ("ocrevus", "tysabri", "lemtrada", "briumvi", "rituximab", "ocrevus-zunovo", "tyruko")


class Command(BaseCommand):
    help = (
        "Build the demo: two clinics with chairs, hours, closures and staffing, about 60 patients on the "
        "seeded regimens with their dose histories, a few weeks of appointments, and one user per role. "
        "Running it again adds nothing that is already there."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--once",
            action="store_true",
            help="Do nothing when the demo is already there (what `make run` uses).",
        )

    def handle(self, *args, once: bool = False, **options):
        if once and demo_present():
            self.stdout.write("The demo is already there; nothing to do.")
            return
        missing = sorted(set(REGIMEN_CODES) - set(Regimen.objects.values_list("code", flat=True)))
        if missing:
            raise CommandError(
                f"The regimens {', '.join(missing)} are missing. Run `python manage.py migrate` first: it seeds them."
            )
        summary = demo_build()
        if summary.already_there:
            self.stdout.write(
                f"The demo was already there: checked {summary.clinics} clinics, {summary.chairs} chairs and "
                f"{summary.users} users; patients and appointments left as they are."
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo ready: {summary.clinics} clinics, {summary.chairs} chairs, "
                    f"{summary.patients_created} patients, {summary.appointments_created} appointments."
                )
            )
        usernames = ", ".join(user.username for user in USERS)
        self.stdout.write(f"Log in as {usernames} with the password {DEMO_PASSWORD!r} (demo only).")
