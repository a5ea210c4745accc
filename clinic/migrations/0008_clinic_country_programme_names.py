"""A clinic's country, and programme names per country (seeded from `clinic.regimen_data.PROGRAMME_NAMES`).

Existing clinics get the country their time zone lies in, from the tz database's zone.tab.
"""

import django.db.models.deletion
import django_countries.fields
from django.db import migrations, models


def fill(apps, schema_editor):
    from clinic.inputs import country_for_time_zone
    from clinic.regimen_data import PROGRAMME_NAMES

    Clinic = apps.get_model("clinic", "Clinic")
    for clinic in Clinic.objects.filter(country=""):
        clinic.country = country_for_time_zone(clinic.time_zone)
        clinic.save(update_fields=["country"])
    Regimen = apps.get_model("clinic", "Regimen")
    ProgrammeName = apps.get_model("clinic", "ProgrammeName")
    regimens = {regimen.code: regimen for regimen in Regimen.objects.filter(code__in={row["regimen"] for row in PROGRAMME_NAMES})}
    for row in PROGRAMME_NAMES:
        if row["regimen"] in regimens:
            ProgrammeName.objects.get_or_create(
                regimen=regimens[row["regimen"]],
                country=row["country"],
                defaults={"name": row["name"], "source": row["source"]},
            )


class Migration(migrations.Migration):

    dependencies = [
        ('clinic', '0007_seed_therapy_classes'),
    ]

    operations = [
        migrations.AddField(
            model_name='clinic',
            name='country',
            field=django_countries.fields.CountryField(blank=True, help_text="Where the clinic is: programme names are shown as its patients know them there, and the roster prints on that country's paper. Empty: taken from the time zone.", max_length=2),
        ),
        migrations.CreateModel(
            name='ProgrammeName',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('country', django_countries.fields.CountryField(max_length=2)),
                ('name', models.CharField(max_length=120)),
                ('source', models.TextField(blank=True, help_text='Where the name comes from, or that it is still to be confirmed.')),
                ('regimen', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='programme_names', to='clinic.regimen')),
            ],
            options={
                'ordering': ['regimen', 'country'],
                'constraints': [models.UniqueConstraint(fields=('regimen', 'country'), name='programme_name_once_per_country')],
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
