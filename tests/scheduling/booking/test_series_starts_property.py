"""Every series start the booking page offers books: a property test over random small clinics.

Each example builds a clinic (its open weekdays, chairs, nurses, a closure or two and other
patients' visits), asks the booking page's selector for the series' suggestions, and books
the whole series from the starts it offers. None may be refused.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinic.models import Chair, Closure, NurseStaffing, OpeningHours, Regimen
from clinic.roles import FRONT_DESK, sync_roles
from scheduling.booking.selectors import slot_suggestions
from scheduling.booking.services import BookingError, booking_create_series
from tests.factories import ClinicFactory, PatientFactory, TreatmentCourseFactory
from tests.helpers import book_directly, ensure_formulary, local, make_staff

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)  # Monday
TODAY = NOW.date()


class _Rollback(Exception):
    """Ends an example's transaction, so the next example starts from an empty clinic."""


visits = st.lists(
    st.tuples(
        st.integers(0, 3),  # chair
        st.integers(0, 30),  # days from today
        st.integers(8, 16),  # hour
        st.sampled_from([60, 120, 240, 420, 600]),  # minutes
    ),
    max_size=25,
)

clinics = st.fixed_dictionaries(
    {
        "open_days": st.sets(st.integers(0, 6), min_size=1, max_size=7),
        "chairs": st.integers(1, 4),
        "nurses": st.integers(1, 2),
        "closures": st.lists(st.integers(0, 30), max_size=2),
        "visits": visits,
        "regimen": st.sampled_from(["lemtrada", "ocrevus", "briumvi"]),
        "start_in": st.integers(0, 10),
    }
)


def build(example: dict):
    clinic = ClinicFactory(chairs=example["chairs"], nurses=example["nurses"], require_mfa_for_managers=False)
    OpeningHours.objects.filter(clinic=clinic).exclude(weekday__in=example["open_days"]).delete()
    NurseStaffing.objects.filter(clinic=clinic).exclude(weekday__in=example["open_days"]).delete()
    for weekday in example["open_days"] - set(range(5)):
        OpeningHours.objects.create(clinic=clinic, weekday=weekday, opens=time(8), closes=time(18))
        NurseStaffing.objects.create(clinic=clinic, weekday=weekday, nurses=example["nurses"])
    for offset in example["closures"]:
        day = TODAY + timedelta(days=offset)
        Closure.objects.create(clinic=clinic, starts_on=day, ends_on=day, reason="Staff training")
    chairs = list(Chair.objects.filter(clinic=clinic).order_by("position"))
    taken: dict[int, list[tuple[datetime, datetime]]] = {}
    for chair_index, offset, hour, minutes in example["visits"]:
        chair = chairs[chair_index % len(chairs)]
        starts_at = local(clinic, TODAY + timedelta(days=offset), hour)
        ends_at = starts_at + timedelta(minutes=minutes)
        # Other patients' visits never overlap in one chair (the exclusion constraint refuses that).
        if any(start < ends_at and starts_at < end for start, end in taken.get(chair.pk, [])):
            continue
        taken.setdefault(chair.pk, []).append((starts_at, ends_at))
        # One patient per visit: a patient's own visits never overlap either.
        visitor = TreatmentCourseFactory(patient=PatientFactory(clinic=clinic), start_date=TODAY)
        book_directly(course=visitor, chair=chair, starts_at=starts_at, minutes=minutes)
    course = TreatmentCourseFactory(
        patient=PatientFactory(clinic=clinic),
        regimen=Regimen.objects.get(code=example["regimen"]),
        start_date=TODAY + timedelta(days=example["start_in"]),
    )
    return clinic, course


@pytest.fixture(autouse=True)
def _roles(db):
    ensure_formulary()
    sync_roles()


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(example=clinics, picks=st.lists(st.integers(0, 10_000), min_size=2, max_size=2))
def test_every_offered_series_start_books(example, picks):
    with time_machine.travel(NOW, tick=False):
        try:
            with transaction.atomic():
                clinic, course = build(example)
                user = make_staff(f"desk{clinic.pk}", FRONT_DESK, clinic)
                suggestions = slot_suggestions(course)
                search = suggestions.search
                if search is None or not suggestions.series or not search.slots:
                    raise _Rollback
                offered = [search.earliest, search.balanced]
                offered += [slots[0] for _day, slots in search.by_day() if slots][:2]
                offered += [search.slots[pick % len(search.slots)] for pick in picks]
                for slot in {(slot.chair_id, slot.starts_at): slot for slot in offered if slot}.values():
                    try:
                        with transaction.atomic():
                            appointments = booking_create_series(
                                course=course,
                                chair=Chair.objects.get(pk=slot.chair_id),
                                starts_at=slot.starts_at,
                                booked_by=user,
                            )
                            assert len(appointments) == len(suggestions.series)
                            raise _Rollback
                    except _Rollback:
                        pass
                    except BookingError as refused:  # pragma: no cover - the property's failure
                        pytest.fail(f"Offered {slot.starts_at:%a %d %b %H:%M} in chair {slot.chair_id}: {refused}")
                raise _Rollback
        except _Rollback:
            pass


def test_a_thursday_start_of_a_lemtrada_course_over_a_closed_saturday_is_not_offered(clinic_a):
    thursday = date(2026, 11, 5)
    course = TreatmentCourseFactory(
        patient=PatientFactory(clinic=clinic_a), regimen=Regimen.objects.get(code="lemtrada"), start_date=thursday
    )
    with time_machine.travel(NOW, tick=False):
        suggestions = slot_suggestions(course)
    days = {day.day: day for day in suggestions.search.days}
    assert days[thursday].slots == 0
    assert days[thursday].code == "series_does_not_fit"
    assert days[thursday].reason == (
        "A series started this day has no place for dose 3 on Sat 7 Nov 2026: Closed on Saturdays."
    )
    assert {slot.local_day for slot in suggestions.search.slots} >= {date(2026, 11, 9)}
    assert all(slot.local_day.weekday() == 0 for slot in suggestions.search.slots[:1])
