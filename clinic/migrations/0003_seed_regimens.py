"""Seed the formulary: the seven MS regimens of `clinic.regimen_data`, each number with its source.

Rows are created only where the code is not there yet, so a clinic's own edits survive
re-running migrations.
"""

from django.db import migrations


def seed(apps, schema_editor):
    from clinic.regimen_data import DRUGS, REGIMENS

    Drug = apps.get_model("clinic", "Drug")
    Regimen = apps.get_model("clinic", "Regimen")
    RegimenPhase = apps.get_model("clinic", "RegimenPhase")
    MonitoringRule = apps.get_model("clinic", "MonitoringRule")

    drugs = {}
    for row in DRUGS:
        drugs[row["code"]], _ = Drug.objects.get_or_create(code=row["code"], defaults=row)
    for row in REGIMENS:
        row = dict(row)
        phases = row.pop("phases")
        monitoring = row.pop("monitoring")
        drug = drugs[row.pop("drug")]
        regimen, created = Regimen.objects.get_or_create(code=row["code"], defaults={**row, "drug": drug})
        if not created:
            continue
        for phase in phases:
            RegimenPhase.objects.create(regimen=regimen, **phase)
        for rule in monitoring:
            MonitoringRule.objects.create(regimen=regimen, **rule)


class Migration(migrations.Migration):
    dependencies = [("clinic", "0002_phase_when_needed")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
