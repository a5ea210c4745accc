"""Every regimen phase gives its doses chair time: infusion minutes above 0, checked by the database.

A phase saved with 0 infusion minutes made every booking of its regimen fail. The seeded
regimens all have infusion minutes; a phase a clinic added with 0 stops this migration with
the list of phases to correct, since only a person can say how long the infusion takes.
"""

from django.db import migrations, models


def refuse_phases_without_infusion_minutes(apps, schema_editor):
    RegimenPhase = apps.get_model("clinic", "RegimenPhase")
    empty = [
        f"{phase.regimen.name}: {phase.name} (phase {phase.position})"
        for phase in RegimenPhase.objects.filter(infusion_minutes__lte=0).select_related("regimen").order_by("pk")
    ]
    if empty:
        raise RuntimeError(
            "These regimen phases have 0 infusion minutes, so their doses cannot be booked: "
            + "; ".join(empty)
            + ". Give each phase its infusion minutes (Clinic settings, Regimens), then run the migration again."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0003_seed_regimens"),
    ]

    operations = [
        migrations.RunPython(refuse_phases_without_infusion_minutes, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="regimenphase",
            constraint=models.CheckConstraint(
                condition=models.Q(("infusion_minutes__gt", 0)),
                name="phase_infusion_minutes_positive",
                violation_error_message="Give the infusion minutes, more than 0: a dose with no infusion time cannot be booked.",
            ),
        ),
    ]
