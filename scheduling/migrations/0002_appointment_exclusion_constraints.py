"""No chair, and no patient, ever holds two overlapping active appointments.

On PostgreSQL these are exclusion constraints (btree_gist; id with =, time range with &&),
so the database refuses an overlap even from code that bypasses the booking services.
SQLite, the embedded default for a demo, has no such constraint; the booking services
check overlaps there too.
"""

from django.contrib.postgres.operations import BtreeGistExtension
from django.db import migrations

from scheduling.models.statuses import ACTIVE as ACTIVE_STATUSES
from scheduling.models.statuses import sql_list

# The statuses that hold a chair, named once on the model (scheduling/models/statuses.py).
ACTIVE = sql_list(ACTIVE_STATUSES)

CONSTRAINTS = {
    "appointment_chair_no_overlap": "chair_id",
    "appointment_patient_no_overlap": "patient_id",
}


class PostgresOnlySQL(migrations.RunSQL):
    """RunSQL that does nothing on databases other than PostgreSQL."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_initial")]

    operations = [BtreeGistExtension()] + [
        PostgresOnlySQL(
            sql=(
                f"ALTER TABLE scheduling_appointment ADD CONSTRAINT {name} EXCLUDE USING gist "
                f"({column} WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
                f"WHERE (status IN {ACTIVE})"
            ),
            reverse_sql=f"ALTER TABLE scheduling_appointment DROP CONSTRAINT {name}",
        )
        for name, column in CONSTRAINTS.items()
    ]
