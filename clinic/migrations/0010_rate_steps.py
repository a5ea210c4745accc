"""Rate steps on the phases, and which reaction keeps a phase's observation, seeded from `clinic.regimen_data`.

`seed` fills only phases that have no rate steps yet (a clinic's own survive re-running it), and
sets `observation_kept_after` on the seeded regimens whose observation comes back after a
reaction (Tysabri and Tyruko: hypersensitivity; Briumvi: any reaction).
"""

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models


def seed(apps, schema_editor):
    from clinic.regimen_data import OBSERVATION_KEPT_AFTER, RATE_STEPS

    RegimenPhase = apps.get_model("clinic", "RegimenPhase")
    RateStep = apps.get_model("clinic", "RateStep")
    for (code, position), schedules in RATE_STEPS.items():
        phase = RegimenPhase.objects.filter(regimen__code=code, position=position).first()
        if phase is None or RateStep.objects.filter(phase=phase).exists():
            continue
        for schedule in schedules:
            for after_minutes, rate, unit in schedule["steps"]:
                RateStep.objects.create(
                    phase=phase,
                    applies_to=schedule["applies_to"],
                    after_minutes=after_minutes,
                    rate=rate,
                    unit=unit,
                    verified=schedule["verified"],
                    source=schedule["source"],
                )
    for code, trigger in OBSERVATION_KEPT_AFTER.items():
        RegimenPhase.objects.filter(
            regimen__code=code, reaction_keeps_observation=True, observation_kept_after="serious"
        ).update(observation_kept_after=trigger)


class Migration(migrations.Migration):

    dependencies = [
        ('clinic', '0009_regimen_checks'),
    ]

    operations = [
        migrations.AddField(
            model_name='regimenphase',
            name='observation_kept_after',
            field=models.CharField(choices=[('any', 'any infusion reaction or hypersensitivity'), ('hypersensitivity', 'a hypersensitivity reaction'), ('serious', 'a serious infusion reaction')], default='serious', help_text='Which earlier reaction keeps the full observation, when the box above is ticked (Tysabri: a hypersensitivity reaction; Briumvi: any infusion reaction).', max_length=20),
        ),
        migrations.CreateModel(
            name='RateStep',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('applies_to', models.CharField(choices=[('standard', 'standard infusion'), ('first', "the phase's first, longer infusion"), ('short', 'the shorter infusion')], default='standard', max_length=10)),
                ('after_minutes', models.PositiveSmallIntegerField(help_text='Minutes after the infusion starts.')),
                ('rate', models.PositiveSmallIntegerField(validators=[django.core.validators.MinValueValidator(1)])),
                ('unit', models.CharField(default='mL/h', help_text='mL/h, or mg/h where the label gives mg.', max_length=10)),
                ('verified', models.BooleanField(default=True, help_text='Confirmed against the label; off for a placeholder.')),
                ('source', models.TextField(blank=True)),
                ('phase', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='rate_steps', to='clinic.regimenphase')),
            ],
            options={
                'ordering': ['phase', 'applies_to', 'after_minutes'],
                'constraints': [models.UniqueConstraint(fields=('phase', 'applies_to', 'after_minutes'), name='rate_step_unique_time'), models.CheckConstraint(condition=models.Q(('rate__gt', 0)), name='rate_step_rate_positive')],
            },
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
