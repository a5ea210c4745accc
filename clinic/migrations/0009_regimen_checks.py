"""The checks before the needle: `RegimenCheck`, seeded from `clinic.regimen_data.REGIMEN_CHECKS`.

Only regimens that have no check yet are seeded, so a formulary manager's own list survives
re-running migrations.
"""

import django.db.models.deletion
from django.db import migrations, models


def seed(apps, schema_editor):
    from clinic.regimen_data import REGIMEN_CHECKS

    Regimen = apps.get_model("clinic", "Regimen")
    RegimenCheck = apps.get_model("clinic", "RegimenCheck")
    for regimen in Regimen.objects.filter(code__in=REGIMEN_CHECKS):
        if RegimenCheck.objects.filter(regimen=regimen).exists():
            continue
        RegimenCheck.objects.bulk_create(RegimenCheck(regimen=regimen, **row) for row in REGIMEN_CHECKS[regimen.code])


class Migration(migrations.Migration):
    dependencies = [("clinic", "0008_clinic_country_programme_names")]

    operations = [
        migrations.CreateModel(
            name="RegimenCheck",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("position", models.PositiveSmallIntegerField(help_text="Order on the roster card, from 1.")),
                (
                    "label",
                    models.CharField(
                        help_text="What the nurse ticks, as it reads in a sentence: e.g. infection check, TOUCH "
                        "authorization.",
                        max_length=120,
                    ),
                ),
                (
                    "when",
                    models.CharField(
                        choices=[
                            ("every_dose", "before every dose"),
                            ("first_dose", "before dose 1 of the course"),
                            ("block_first_dose", "before the first dose of each block (day 1 of a Lemtrada course)"),
                        ],
                        default="every_dose",
                        max_length=20,
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("tick", "ticked by the nurse"),
                            ("authorization", "programme authorization: ticked, and current on the course"),
                        ],
                        default="tick",
                        max_length=20,
                    ),
                ),
                (
                    "active",
                    models.BooleanField(
                        default=True,
                        help_text="Only active items are asked for. Retire an item here instead of deleting it.",
                    ),
                ),
                (
                    "verified",
                    models.BooleanField(
                        default=False,
                        help_text="Confirmed against the label or the programme's own pages. Unverified items are "
                        "clinic practice to confirm before go-live.",
                    ),
                ),
                (
                    "source",
                    models.TextField(blank=True, help_text="Where the item comes from (label, programme, version)."),
                ),
                (
                    "regimen",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="checks", to="clinic.regimen"
                    ),
                ),
            ],
            options={
                "verbose_name": "pre-infusion check",
                "ordering": ["regimen", "position"],
                "constraints": [
                    models.UniqueConstraint(fields=("regimen", "position"), name="regimen_check_position_unique")
                ],
            },
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
