"""Patients' phone numbers in E.164, read in the country of their clinic's time zone.

A number that cannot be read is kept as it was typed: the patient form asks for a fix the
next time someone edits the patient, and nothing a clinic wrote down is lost.
"""

from django.db import migrations


def _region(time_zone: str, countries: dict[str, str]) -> str:
    return countries.get(time_zone, "GB")


def _countries() -> dict[str, str]:
    from importlib import resources

    table = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    rows = (line.split("\t") for line in table.splitlines() if line and not line.startswith("#"))
    return {parts[2]: parts[0] for parts in rows}


def phones_to_e164(apps, schema_editor):
    import phonenumbers

    Patient = apps.get_model("patients", "Patient")
    countries = _countries()
    for patient in Patient.objects.exclude(phone="").select_related("clinic").iterator():
        try:
            number = phonenumbers.parse(patient.phone, _region(patient.clinic.time_zone, countries))
        except phonenumbers.NumberParseException:
            continue
        if not phonenumbers.is_possible_number(number):
            continue
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if e164 != patient.phone:
            Patient.objects.filter(pk=patient.pk).update(phone=e164)


class Migration(migrations.Migration):
    dependencies = [("patients", "0002_unsubscribe_token")]

    # Not reversed: the numbers stay in E.164, which the form and reminders read as well.
    operations = [migrations.RunPython(phones_to_e164, migrations.RunPython.noop)]
