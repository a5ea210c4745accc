"""Fill the seeded regimens' therapy class and washout from `clinic.regimen_data.THERAPY_CLASSES`.

Only rows whose therapy class is still empty are filled, so a formulary manager's own value
survives re-running migrations; the sentence about the washout is added to the regimen's
notes and the source line to its sources, once.
"""

from django.db import migrations


def fill(apps, schema_editor):
    from clinic.regimen_data import THERAPY_CLASS_SOURCE, THERAPY_CLASSES

    Regimen = apps.get_model("clinic", "Regimen")
    for regimen in Regimen.objects.filter(code__in=THERAPY_CLASSES, therapy_class=""):
        row = THERAPY_CLASSES[regimen.code]
        regimen.therapy_class = row["therapy_class"]
        regimen.washout_days_after = row["washout_days_after"]
        if row["note"] not in regimen.notes:
            regimen.notes = f"{regimen.notes} {row['note']}".strip()
        if THERAPY_CLASS_SOURCE not in regimen.sources:
            regimen.sources = f"{regimen.sources} {THERAPY_CLASS_SOURCE}".strip()
        regimen.save(update_fields=["therapy_class", "washout_days_after", "notes", "sources"])


class Migration(migrations.Migration):
    dependencies = [("clinic", "0006_regimen_therapy_class")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
