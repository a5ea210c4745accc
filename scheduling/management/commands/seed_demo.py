"""`manage.py seed_demo`: the demo clinics, staff, patients and appointments (demo only)."""

from django.core.management.base import BaseCommand, CommandError

from clinic import dates
from clinic.models import Clinic, Regimen
from scheduling.demo import CLINIC_PLANS, DEMO_PASSWORD, USERS, demo_build, demo_present

REGIMEN_CODES = ("ocrevus", "tysabri", "lemtrada", "briumvi", "rituximab", "ocrevus-zunovo", "tyruko")


class Command(BaseCommand):
    help = (
        "Build the demo: a busy infusion centre and a small suite with chairs, hours, closures and staffing, "
        "patients on the seeded regimens with their dose histories, today's roster under way, the next two "
        "weeks mostly booked, and one user per role. Running it again adds nothing that is already there."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--once",
            action="store_true",
            help="Do nothing when the demo is already there (what `make run` uses).",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Add the demo even though the database holds other clinics (never on real data).",
        )

    def handle(self, *args, once: bool = False, force: bool = False, **options):
        if once and demo_present():
            self.stdout.write("The demo is already there; nothing to do.")
            return
        others = Clinic.objects.exclude(name__in=[plan.name for plan in CLINIC_PLANS])
        if others.exists() and not force:
            # The demo users have a published password and one of them can use the admin.
            raise CommandError(
                f"This database already holds {others.count()} clinic(s) that are not the demo's. The demo adds "
                "users whose password is published in the README, so it belongs on a demo database only. "
                "Point DATABASE_URL at an empty database, or pass --force if this one is a demo too."
            )
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
            if summary.refused:
                self.stdout.write(
                    self.style.WARNING(
                        f"{summary.refused} planned visits were refused by the booking rules and left out."
                    )
                )
            for name, (day, is_today) in summary.busiest_days.items():
                if is_today:
                    self.stdout.write(f"{name}: today's roster ({dates.weekday_day(day)}) is the demo's busiest day.")
                else:
                    self.stdout.write(
                        f"{name}: today's roster is closed or over; the demo's busiest day is {dates.weekday_day(day)}."
                    )
        usernames = ", ".join(user.username for user in USERS if user.can_log_in)
        self.stdout.write(f"Log in as {usernames} with the password {DEMO_PASSWORD!r} (demo only).")
