"""factory_boy factories: clinics, chairs, patients, courses, appointments and reminders.

A factory writes a row as it stands, checking no booking rule: build a day with them, then
ask the services and selectors about it.
"""

from __future__ import annotations

from datetime import date, time, timedelta

import factory
from django.utils import timezone

from clinic.models import Chair, Clinic, NurseStaffing, OpeningHours, Regimen
from patients.models import Patient, TreatmentCourse
from scheduling.models import Appointment, Reminder


class ClinicFactory(factory.django.DjangoModelFactory):
    """A clinic open 08:00-18:00 Monday to Friday with two nurses on duty and six chairs.

    `ClinicFactory(nurses=3, chairs=0)` changes the staffing and the number of chairs;
    `opening_hours=(time(9), time(17))` the weekday hours.
    """

    class Meta:
        model = Clinic
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Infusion Centre {n}")
    time_zone = "Europe/London"
    address = "1 High Street"
    phone = "020 7946 0000"

    @factory.post_generation
    def opening_hours(clinic, create, extracted, **kwargs):
        if not create:
            return
        opens, closes = extracted or (time(8, 0), time(18, 0))
        for weekday in range(5):
            OpeningHours.objects.create(clinic=clinic, weekday=weekday, opens=opens, closes=closes)

    @factory.post_generation
    def nurses(clinic, create, extracted, **kwargs):
        if not create:
            return
        for weekday in range(5):
            NurseStaffing.objects.create(clinic=clinic, weekday=weekday, nurses=2 if extracted is None else extracted)

    @factory.post_generation
    def chairs(clinic, create, extracted, **kwargs):
        if not create:
            return
        for number in range(1, (6 if extracted is None else extracted) + 1):
            Chair.objects.create(clinic=clinic, name=f"Chair {number}", position=number)


class ChairFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Chair

    clinic = factory.SubFactory(ClinicFactory, chairs=0)
    name = factory.Sequence(lambda n: f"Bay {n}")
    position = factory.Sequence(lambda n: 100 + n)


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    clinic = factory.SubFactory(ClinicFactory)
    mrn = factory.Sequence(lambda n: f"MRN{n:06d}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    date_of_birth = date(1980, 5, 17)
    email = factory.LazyAttribute(lambda p: f"{p.mrn.lower()}@patients.example.org")
    reminder_consent = True


class TreatmentCourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TreatmentCourse

    patient = factory.SubFactory(PatientFactory)
    regimen = factory.LazyFunction(lambda: Regimen.objects.get(code="ocrevus"))
    start_date = factory.LazyFunction(lambda: date.today() - timedelta(days=30))  # noqa: DTZ011


class AppointmentFactory(factory.django.DjangoModelFactory):
    """A booked dose 1 a week from now: 3.5 hours of infusion in a new chair of the patient's clinic."""

    class Meta:
        model = Appointment

    course = factory.SubFactory(TreatmentCourseFactory)
    patient = factory.SelfAttribute("course.patient")
    chair = factory.SubFactory(ChairFactory, clinic=factory.SelfAttribute("..course.patient.clinic"))
    clinic = factory.SelfAttribute("chair.clinic")
    dose_number = 1
    starts_at = factory.LazyFunction(lambda: timezone.now().replace(second=0, microsecond=0) + timedelta(days=7))
    premed_minutes = 0
    infusion_minutes = 210
    observation_minutes = 0
    ends_at = factory.LazyAttribute(
        lambda a: a.starts_at + timedelta(minutes=a.premed_minutes + a.infusion_minutes + a.observation_minutes)
    )
    status = Appointment.Status.BOOKED


class ReminderFactory(factory.django.DjangoModelFactory):
    """A pending email about an upcoming appointment, due `days_before` days before it."""

    class Meta:
        model = Reminder

    class Params:
        days_before = 1

    appointment = factory.SubFactory(AppointmentFactory)
    clinic = factory.SelfAttribute("appointment.clinic")
    patient = factory.SelfAttribute("appointment.patient")
    course = factory.SelfAttribute("appointment.course")
    kind = Reminder.Kind.APPOINTMENT_UPCOMING
    key = factory.LazyAttribute(lambda r: Reminder.upcoming_key(r.appointment, r.days_before))
    due_at = factory.LazyAttribute(lambda r: r.appointment.starts_at - timedelta(days=r.days_before))
    status = Reminder.Status.PENDING
