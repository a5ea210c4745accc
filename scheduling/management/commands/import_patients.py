"""`python manage.py import_patients FILE --clinic CLINIC [--dry-run]`: the import page, for clinic IT.

CLINIC is the clinic's id or its exact name. Every row is checked first and the file is
imported all or nothing; each refusal is printed as a sentence naming its row and column, and
the command exits 1 when there is any (nothing is imported then). The run is recorded like an
import from the page, with no user.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from clinic.models import Clinic
from scheduling.imports.reading import FileError, read_file
from scheduling.imports.services import patients_import


def _clinic(value: str) -> Clinic:
    found = Clinic.objects.filter(pk=int(value)) if value.isdigit() else Clinic.objects.filter(name=value)
    clinic = found.first()
    if clinic is None:
        names = ", ".join(f"{c.pk} ({c.name})" for c in Clinic.objects.order_by("pk"))
        raise CommandError(f"No clinic {value!r}. Give one of: {names or 'none yet'}.", returncode=2)
    return clinic


class Command(BaseCommand):
    help = "Import patients, treatment courses and past doses from a CSV or XLSX file (all or nothing)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="a .csv or .xlsx file with the template's columns")
        parser.add_argument("--clinic", required=True, help="the clinic's id or exact name")
        parser.add_argument("--dry-run", action="store_true", help="check every row and save nothing")

    def handle(self, *args, file: str, clinic: str, dry_run: bool = False, **options) -> None:
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No file {file}. Give the path of a .csv or .xlsx file.", returncode=2)
        target = _clinic(clinic)
        try:
            rows = read_file(path.name, path.read_bytes())
        except FileError as error:
            raise CommandError(str(error), returncode=2) from None
        result = patients_import(clinic=target, rows=rows, by=None, file_name=path.name, dry_run=dry_run)
        for error in result.errors:
            self.stdout.write(str(error))
        counts = (
            f"{result.rows} rows; patients {result.patients_created} new, {result.patients_matched} matched; "
            f"courses {result.courses_created} new, {result.courses_matched} matched; "
            f"doses given {result.doses_created} new, {result.doses_matched} matched."
        )
        if result.errors:
            raise CommandError(f"Nothing imported: {len(result.errors)} row problem(s) above. {counts}", returncode=1)
        self.stdout.write(("Checked, nothing saved (dry run): " if dry_run else "Imported: ") + counts)
