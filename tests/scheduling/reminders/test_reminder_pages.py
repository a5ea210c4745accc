"""Staff reminder pages: the clinic-wide failed list with its retry button, and the patient-page partial."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic.roles import MANAGER
from scheduling.models import Appointment, Reminder
from scheduling.reminders.selectors import patient_reminders
from tests.conftest import DEMO_PASSWORD, make_staff
from tests.helpers import book, change, local, make_course

Status = Reminder.Status


@pytest.fixture
def traveller():
    with time_machine.travel(datetime(2027, 3, 1, 12, 0, tzinfo=UTC), tick=False) as machine:
        yield machine


def failed_reminder(clinic, **patient) -> Reminder:
    book(make_course(clinic, **patient), local(clinic, 2027, 3, 17, 10, 30))
    row = Reminder.objects.filter(clinic=clinic, status=Status.PENDING).earliest("due_at")
    Reminder.objects.filter(pk=row.pk).update(
        status=Status.FAILED, attempts=5, last_error="SMTPRecipientsRefused: mailbox unavailable"
    )
    row.refresh_from_db()
    return row


def logged_in(client, user):
    client.login(username=user.username, password=DEMO_PASSWORD)
    return client


@pytest.mark.django_db
def test_the_failed_list_shows_a_clinics_failed_reminders_with_the_error(client, front_desk, traveller):
    row = failed_reminder(front_desk.staff_profile.clinics.get(), first_name="Ada", last_name="Quill")
    page = logged_in(client, front_desk).get(reverse("scheduling:reminders_failed"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Ada Quill" in html and "SMTPRecipientsRefused: mailbox unavailable" in html
    assert "Wed 10 Mar 2027, 09:00" in html  # the due time in the clinic's own time zone
    assert "Retry" not in html  # the front desk may look, only managers retry
    assert row.patient.mrn not in html


@pytest.mark.django_db
def test_staff_of_another_clinic_do_not_see_its_failed_reminders(client, clinic_a, staff_b, traveller):
    failed_reminder(clinic_a, first_name="Ada", last_name="Quill")
    page = logged_in(client, staff_b).get(reverse("scheduling:reminders_failed"))
    assert page.status_code == 200
    assert "Ada Quill" not in page.content.decode()
    assert "No failed reminders" in page.content.decode()


@pytest.mark.django_db
def test_a_nurse_cannot_open_the_failed_list_and_an_anonymous_visitor_is_sent_to_log_in(client, nurse, traveller):
    assert client.get(reverse("scheduling:reminders_failed")).status_code == 302
    assert logged_in(client, nurse).get(reverse("scheduling:reminders_failed")).status_code == 403


@pytest.mark.django_db
def test_a_manager_retries_a_failed_reminder_and_it_is_pending_again(client, manager, traveller):
    row = failed_reminder(manager.staff_profile.clinics.get())
    page = logged_in(client, manager).get(reverse("scheduling:reminders_failed"))
    assert reverse("scheduling:reminder_retry", args=[row.pk]) in page.content.decode()

    response = client.post(reverse("scheduling:reminder_retry", args=[row.pk]), follow=True)
    assert "The reminder will be sent again within a minute." in response.content.decode()
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.PENDING, 0)
    assert row.last_error.startswith("Retried by max after: SMTPRecipientsRefused")


@pytest.mark.django_db
def test_retry_is_refused_to_the_front_desk_to_other_clinics_and_to_get(client, front_desk, clinic_b, traveller):
    row = failed_reminder(front_desk.staff_profile.clinics.get())
    url = reverse("scheduling:reminder_retry", args=[row.pk])
    assert logged_in(client, front_desk).post(url).status_code == 403
    other_manager = make_staff("morgan", MANAGER, clinic_b)
    assert logged_in(client, other_manager).post(url).status_code == 404
    assert client.get(url).status_code == 405
    row.refresh_from_db()
    assert row.status == Status.FAILED


@pytest.mark.django_db
def test_retry_of_a_reminder_for_a_cancelled_appointment_explains_why_not(client, manager, traveller):
    row = failed_reminder(manager.staff_profile.clinics.get())
    change(row.appointment, status=Appointment.Status.CANCELLED)
    Reminder.objects.filter(pk=row.pk).update(status=Status.FAILED)
    response = logged_in(client, manager).post(reverse("scheduling:reminder_retry", args=[row.pk]), follow=True)
    assert "can no longer be sent. Call the patient instead." in response.content.decode()
    assert Reminder.objects.get(pk=row.pk).status == Status.FAILED


@pytest.mark.django_db
def test_the_patient_partial_lists_sent_pending_failed_and_cancelled_reminders(clinic_a, manager, traveller):
    course = make_course(clinic_a)
    appointment = book(course, local(clinic_a, 2027, 3, 17, 10, 30))
    change(appointment, starts_at=local(clinic_a, 2027, 3, 24, 14, 0), ends_at=local(clinic_a, 2027, 3, 24, 18, 0))
    pending = list(Reminder.objects.filter(status=Status.PENDING).order_by("due_at"))
    Reminder.objects.filter(pk=pending[0].pk).update(
        status=Status.SENT, sent_at=datetime(2027, 3, 17, 9, 0, tzinfo=UTC)
    )
    Reminder.objects.filter(pk=pending[1].pk).update(status=Status.FAILED, last_error="SMTPDataError: rejected")

    book(course, local(clinic_a, 2027, 4, 7, 10, 0), dose_number=2)

    request = RequestFactory().get("/patients/1/")
    request.user = manager
    rows = patient_reminders(course.patient)
    assert [row.status for row in rows] == [Status.PENDING] * 2 + [Status.FAILED, Status.SENT] + [Status.CANCELLED] * 2
    manager.has_perm("scheduling.change_reminder")  # the user's permissions, read once per request
    with CaptureQueriesContext(connection) as queries:
        html = render_to_string(
            "scheduling/_patient_reminders.html",
            {"reminders": patient_reminders(course.patient), "time_zone": clinic_a.time_zone, "perms": _perms(manager)},
            request=request,
        )
    # The reminders themselves, nothing per row (the other query is the base page's role lookup).
    assert [query["sql"] for query in queries if "scheduling_" in query["sql"] or "clinic_" in query["sql"]] == [
        next(query["sql"] for query in queries if "scheduling_reminder" in query["sql"])
    ]
    for label in ("Sent", "Pending", "Failed", "Cancelled"):
        assert label in html
    assert "The appointment was moved." in html and "SMTPDataError: rejected" in html
    assert reverse("scheduling:reminder_retry", args=[pending[1].pk]) in html


def _perms(user):
    from django.contrib.auth.context_processors import PermWrapper

    return PermWrapper(user)
