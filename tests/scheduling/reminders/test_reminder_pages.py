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


# --- Retry all failed reminders of a clinic and a period -------------------------------------


def retry_all(client, clinic, first_day="2027-03-01", last_day="2027-03-31", **extra):
    data = {"clinic": clinic.pk, "first_day": first_day, "last_day": last_day, **extra}
    return client.post(reverse("scheduling:reminders_retry_failed"), data, follow=True)


@pytest.mark.django_db
def test_a_manager_retries_every_failed_reminder_of_a_period_after_confirming(client, manager, traveller):
    clinic = manager.staff_profile.clinics.get()
    rows = [failed_reminder(clinic) for _ in range(3)]
    Reminder.objects.filter(pk=rows[2].pk).update(due_at=datetime(2027, 4, 2, 8, 0, tzinfo=UTC))  # outside the period
    page = logged_in(client, manager).get(reverse("scheduling:reminders_failed"))
    assert reverse("scheduling:reminders_retry_failed") in page.content.decode()

    asked = retry_all(client, clinic)
    html = asked.content.decode()
    assert "2 failed reminders due between Mon 1 Mar 2027 and Wed 31 Mar 2027" in html
    assert "Retry 2 reminders" in html
    assert {row.status for row in Reminder.objects.filter(pk__in=[row.pk for row in rows])} == {Status.FAILED}

    done = retry_all(client, clinic, confirmed="on")
    assert done.redirect_chain[-1][0] == reverse("scheduling:reminders_failed")
    assert "2 failed reminders will be sent again within a minute." in done.content.decode()
    statuses = dict(Reminder.objects.filter(pk__in=[row.pk for row in rows]).values_list("pk", "status"))
    assert statuses == {rows[0].pk: Status.PENDING, rows[1].pk: Status.PENDING, rows[2].pk: Status.FAILED}
    assert Reminder.objects.get(pk=rows[0].pk).last_error.startswith("Retried by max after: SMTPRecipientsRefused")


@pytest.mark.django_db
def test_retry_all_counts_apart_the_reminders_that_can_no_longer_go(client, manager, traveller):
    clinic = manager.staff_profile.clinics.get()
    kept, moot = failed_reminder(clinic), failed_reminder(clinic)
    change(moot.appointment, status=Appointment.Status.CANCELLED)
    Reminder.objects.filter(pk=moot.pk).update(status=Status.FAILED)

    html = retry_all(logged_in(client, manager), clinic, confirmed="on").content.decode()
    assert "1 failed reminder will be sent again within a minute." in html
    assert "1 can no longer be sent" in html and "Call those patients instead." in html
    assert (Reminder.objects.get(pk=kept.pk).status, Reminder.objects.get(pk=moot.pk).status) == (
        Status.PENDING,
        Status.FAILED,
    )


@pytest.mark.django_db
def test_retry_all_is_for_managers_of_that_clinic_and_only_by_post(client, manager, front_desk, clinic_b, traveller):
    clinic = manager.staff_profile.clinics.get()
    row = failed_reminder(clinic)
    url = reverse("scheduling:reminders_retry_failed")
    data = {"clinic": clinic.pk, "first_day": "2027-03-01", "last_day": "2027-03-31", "confirmed": "on"}
    assert logged_in(client, front_desk).post(url, data).status_code == 403
    other_manager = make_staff("morgan", MANAGER, clinic_b)
    refused = logged_in(client, other_manager).post(url, data)
    assert refused.status_code == 400
    assert "Select a valid choice" in refused.content.decode()
    assert logged_in(client, manager).get(url).status_code == 405
    assert Reminder.objects.get(pk=row.pk).status == Status.FAILED


@pytest.mark.django_db
def test_retry_all_keeps_what_was_typed_and_says_how_to_fix_swapped_dates(client, manager, traveller):
    clinic = manager.staff_profile.clinics.get()
    response = retry_all(logged_in(client, manager), clinic, first_day="2027-03-31", last_day="2027-03-01")
    html = response.content.decode()
    assert response.status_code == 400
    assert "The last day is before the first day. Swap the two dates." in html
    assert 'value="2027-03-31"' in html


def _perms(user):
    from django.contrib.auth.context_processors import PermWrapper

    return PermWrapper(user)
