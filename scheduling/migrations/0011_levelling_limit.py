import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0010_appointment_event_actions"),
    ]

    operations = [
        migrations.AddField(
            model_name="capacitypolicy",
            name="levelling_days",
            field=models.PositiveSmallIntegerField(
                default=0,
                help_text=(
                    "When a manager levels a day, how far a patient's visit may move: 0 keeps it on the same day "
                    "(another time), N lets it move up to N days either way, inside its dose's window."
                ),
                validators=[django.core.validators.MaxValueValidator(14)],
                verbose_name="levelling: days a visit may move",
            ),
        ),
    ]
