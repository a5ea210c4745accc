"""Structured infusion reactions, and the old free-text records carried into them.

Every appointment with the old reaction tick gets one InfusionReaction marked `legacy`: its
note and "serious" tick kept, grade and onset unknown. It is counted as possible
hypersensitivity (`hypersensitivity_reaction` on the appointment too): the old record cannot say
it was not, and Tysabri keeps its observation after one.
"""

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def carry_over(apps, schema_editor):
    Appointment = apps.get_model("scheduling", "Appointment")
    InfusionReaction = apps.get_model("scheduling", "InfusionReaction")
    old = Appointment.objects.filter(infusion_reaction=True).exclude(reactions__isnull=False)
    rows = [
        InfusionReaction(
            appointment_id=pk,
            serious=serious,
            hypersensitivity=True,
            notes=note,
            legacy=True,
            outcome="",
        )
        for pk, serious, note in old.values_list("pk", "serious_reaction", "reaction_note").iterator()
    ]
    InfusionReaction.objects.bulk_create(rows, batch_size=1000)
    Appointment.objects.filter(infusion_reaction=True).update(hypersensitivity_reaction=True)
    # The stored next doses were planned before these reactions (and clinic 0008's "which reaction
    # keeps the observation") counted: emptied, they are computed afresh after `migrate`
    # (scheduling.receivers.states_after_migrate).
    apps.get_model("scheduling", "DoseState").objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ('scheduling', '0008_visit_checks'),
        ('clinic', '0010_rate_steps'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='appointment',
            name='hypersensitivity_reaction',
            field=models.BooleanField(default=False),
        ),
        migrations.AlterField(
            model_name='appointmentevent',
            name='action',
            field=models.CharField(choices=[('booked', 'Booked'), ('rescheduled', 'Rescheduled'), ('cancelled', 'Cancelled'), ('status', 'Status changed'), ('override', 'Earliest date overridden'), ('reaction', 'Infusion reaction recorded'), ('review', 'Prescriber hold cleared'), ('note', 'Note')], max_length=12),
        ),
        migrations.CreateModel(
            name='InfusionReaction',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('onset_at', models.DateTimeField(blank=True, help_text='When the reaction began (empty on old records).', null=True)),
                ('grade', models.PositiveSmallIntegerField(blank=True, choices=[(1, 'Grade 1 (mild)'), (2, 'Grade 2 (moderate)'), (3, 'Grade 3 (severe)'), (4, 'Grade 4 (life-threatening)'), (5, 'Grade 5 (death)')], help_text='CTCAE grade, 1 to 5 (empty on records from before grades were recorded).', null=True, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(5)])),
                ('symptoms', models.JSONField(blank=True, default=list, help_text='Symptom codes, in the order of Symptom.')),
                ('other_symptom', models.CharField(blank=True, max_length=200)),
                ('actions', models.JSONField(blank=True, default=list, help_text='Action codes, in the order of Action.')),
                ('outcome', models.CharField(blank=True, choices=[('resolved', 'Resolved'), ('ongoing', 'Ongoing'), ('transferred', 'Transferred to hospital'), ('died', 'Died')], max_length=12)),
                ('serious', models.BooleanField(default=False)),
                ('hypersensitivity', models.BooleanField(default=False, help_text='Looked allergic (hives, swelling, wheeze, anaphylaxis) or could not be ruled out.')),
                ('notes', models.TextField(blank=True)),
                ('legacy', models.BooleanField(default=False, help_text='Carried over from the free-text record.')),
                ('recorded_at', models.DateTimeField(auto_now_add=True)),
                ('review_required', models.BooleanField(default=False, help_text="Holds the course's next dose until the prescriber's review is recorded.")),
                ('review_cleared_at', models.DateTimeField(blank=True, null=True)),
                ('review_note', models.TextField(blank=True)),
                ('appointment', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='reactions', to='scheduling.appointment')),
                ('recorded_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('review_cleared_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['appointment', 'onset_at', 'pk'],
                'permissions': [('clear_reaction_review', 'Can clear the prescriber hold a grade 4 or 5 infusion reaction puts on a course')],
                'indexes': [models.Index(condition=models.Q(('review_cleared_at__isnull', True), ('review_required', True)), fields=['appointment'], name='reaction_awaiting_review')],
                'constraints': [models.CheckConstraint(condition=models.Q(('grade__isnull', True), models.Q(('grade__gte', 1), ('grade__lte', 5)), _connector='OR'), name='reaction_grade_1_to_5'), models.CheckConstraint(condition=models.Q(('review_cleared_at__isnull', True), ('review_required', True), _connector='OR'), name='reaction_cleared_only_when_held')],
            },
        ),
        migrations.RunPython(carry_over, migrations.RunPython.noop),
    ]
