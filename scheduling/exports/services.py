"""Recording an export: every CSV a manager takes away is a DataTransfer (and so in the audit trail)."""

from __future__ import annotations

from datetime import date

from django.db import transaction

from clinic.models import Clinic
from scheduling.models import DataTransfer


@transaction.atomic
def export_record(
    *, clinic: Clinic, subject: str, by, start: date, end: date, rows: int, file_name: str
) -> DataTransfer:
    return DataTransfer.objects.create(
        kind=DataTransfer.Kind.EXPORT,
        clinic=clinic,
        subject=subject,
        by=by,
        period_start=start,
        period_end=end,
        file_name=file_name,
        counts={"rows": rows},
    )
