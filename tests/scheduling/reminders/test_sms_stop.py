"""Texts for every reminder kind, a link that stops them with no login, and two segments at most in every language.

The dose-due and lab reminders go by text as well as the visit messages. A text with no
answer links carries "Stop texts: <link>"; one with them has no room, and the answer pages
its links open carry the stop link instead. The link asks first (phones preview links);
its POST clears the text consent, which the patient's history shows, and cancels the texts
not yet sent, emails untouched.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from auditlog.models import LogEntry
from django.test import Client
from django.utils import translation

from clinic.models import Chair
from scheduling.booking.services import booking_create
from scheduling.models import Reminder
from scheduling.reminders import planner
from scheduling.reminders.content import (
    TEMPLATE_NAMES,
    format_long_day,
    format_short_moment,
    reminder_content,
    sms_text,
)
from scheduling.reminders.sms import MAX_LENGTH, gsm7_length, segments
from tests.helpers import give, local, make_clinic, make_course
from tests.scheduling.answers.support import links_in, path

pytestmark = pytest.mark.django_db

Kind = Reminder.Kind
Status = Reminder.Status
PHONE = "+447700900123"
STOP = re.compile(r"https?://[^\s]+/s/([A-Za-z0-9_-]+)/")


@pytest.fixture(autouse=True)
def sms(settings):
    settings.SMS_ENABLED = True


@pytest.fixture
def traveller():
    with time_machine.travel(datetime(2027, 1, 1, 12, 0, tzinfo=UTC), tick=False) as machine:
        yield machine


def plan_on(traveller, day: date) -> int:
    moment = datetime(day.year, day.month, day.day, 0, 5, tzinfo=UTC)
    traveller.move_to(moment)
    return planner.reminders_plan(now=moment)


def _texting_course(clinic, regimen="tysabri", *, start=date(2027, 1, 5), email="", language="es"):
    return make_course(
        clinic, regimen, start=start, first_name="Lucía", email=email, phone=PHONE, sms_consent=True, language=language
    )


def test_the_planner_sends_dose_due_overdue_and_lab_reminders_by_text_too(clinic_a, traveller):
    both = _texting_course(clinic_a, start=date(2027, 2, 1), email="lucia@patients.example.org")
    give(both, date(2027, 2, 1))  # next due 1 March: due soon from 8 February
    text_only = _texting_course(clinic_a)
    give(text_only, date(2027, 1, 5))  # next due 2 February, overdue after the 9th
    labs = make_course(clinic_a, "lemtrada", start=date(2027, 1, 4), email="", phone=PHONE, sms_consent=True)
    for number, day in enumerate(range(4, 9), start=1):
        give(labs, date(2027, 1, day), dose_number=number)

    assert plan_on(traveller, date(2027, 2, 10)) == 4
    rows = sorted(Reminder.objects.values_list("course_id", "kind", "channel", "key"))
    assert rows == sorted(
        [
            (both.pk, Kind.DOSE_DUE_SOON, "email", f"due-soon:{both.pk}:2"),
            (both.pk, Kind.DOSE_DUE_SOON, "sms", f"due-soon:{both.pk}:2:sms"),
            (text_only.pk, Kind.DOSE_OVERDUE, "sms", f"overdue:{text_only.pk}:2:1:sms"),
            (labs.pk, Kind.MONITORING_LABS, "sms", f"labs:{labs.pk}:2027-03-04:sms"),
        ]
    )
    # The weekly overdue texts count their own rows: the second one week after the first was sent.
    Reminder.objects.filter(kind=Kind.DOSE_OVERDUE).update(
        status=Status.SENT, sent_at=datetime(2027, 2, 10, 9, tzinfo=UTC)
    )
    assert plan_on(traveller, date(2027, 2, 17)) == 1
    assert Reminder.objects.filter(key=f"overdue:{text_only.pk}:2:2:sms", channel="sms").exists()


def test_no_texts_are_planned_where_the_installation_sends_none(clinic_a, traveller, settings):
    settings.SMS_ENABLED = False
    course = _texting_course(clinic_a)
    give(course, date(2027, 1, 5))
    assert plan_on(traveller, date(2027, 2, 10)) == 0


def _due_soon_text(clinic, course) -> Reminder:
    return Reminder.objects.create(
        clinic=clinic,
        patient=course.patient,
        course=course,
        kind=Kind.DOSE_DUE_SOON,
        channel=Reminder.Channel.SMS,
        key=Reminder.channel_key(Reminder.due_soon_key(course.pk, 2), "sms"),
        due_at=datetime(2027, 2, 10, 9, tzinfo=UTC),
    )


def test_the_stop_link_in_a_text_asks_then_stops_texts_with_history_and_leaves_emails(clinic_a):
    course = _texting_course(clinic_a, email="lucia@patients.example.org")
    patient = course.patient
    text_row = _due_soon_text(clinic_a, course)
    email_row = Reminder.objects.create(
        clinic=clinic_a,
        patient=patient,
        course=course,
        kind=Kind.DOSE_DUE_SOON,
        key=Reminder.due_soon_key(course.pk, 2),
        due_at=text_row.due_at,
    )
    text = reminder_content(text_row, due_date=date(2027, 3, 1)).text
    (token,) = STOP.findall(text)
    assert len(token) == 16 and "/s/" in text
    browser = Client(headers={"accept-language": "en"})

    page = browser.get(f"/s/{token}/")
    assert page.status_code == 200
    assert "¿Desea dejar de recibir SMS de Northside Infusion Centre?" in page.content.decode()
    patient.refresh_from_db()
    assert patient.sms_consent  # looking changes nothing

    done = browser.post(f"/s/{token}/")
    assert done.status_code == 200 and "No recibirá más SMS de Northside Infusion Centre." in done.content.decode()
    patient.refresh_from_db()
    assert not patient.sms_consent
    assert patient.email and patient.reminder_consent  # emails go on
    text_row.refresh_from_db()
    email_row.refresh_from_db()
    assert (text_row.status, text_row.last_error) == (
        Status.CANCELLED,
        "The patient turned text messages off from a link.",
    )
    assert email_row.status == Status.PENDING
    change = LogEntry.objects.get_for_object(patient).filter(action=LogEntry.Action.UPDATE).latest("timestamp")
    assert change.changes_dict["sms_consent"] == [True, False]

    again = browser.get(f"/s/{token}/")
    assert "Los SMS ya están desactivados." in again.content.decode()


def test_a_stop_link_that_names_no_one_is_refused_in_every_language(client):
    response = client.post("/s/NoSuchStopToken0/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "This link is not valid" in page and "Este enlace no es válido" in page
    assert "Open it again from the text message, or call your clinic and ask them to stop text messages." in page
    assert "Ábralo de nuevo desde el SMS, o llame a su clínica y pida que dejen de enviarle SMS." in page
    assert "email" not in page.split("<main", 1)[1]


def test_an_answer_page_carries_the_stop_link_for_a_patient_who_gets_texts(clinic_a, front_desk):
    course = _texting_course(clinic_a, "ocrevus", start=date(2027, 3, 17), email="lucia@patients.example.org")
    chair = Chair.objects.filter(clinic=clinic_a).order_by("position").first()
    with time_machine.travel(datetime(2027, 3, 1, 12, tzinfo=UTC), tick=False):
        appointment = booking_create(
            course=course, chair=chair, starts_at=local(clinic_a, date(2027, 3, 17), 10), booked_by=front_desk
        )
        row = Reminder.objects.get(appointment=appointment, kind=Kind.BOOKING_CONFIRMED, channel="sms")
        text = reminder_content(row).text
        assert "/s/" not in text  # no room beside three answer links
        page = Client().get(path(links_in(text)["confirm"])).content.decode()
    course.patient.refresh_from_db()
    assert f'href="http://127.0.0.1:8000/s/{course.patient.sms_stop_token}/"' in page
    assert "Dejar de recibir SMS de la clínica" in page


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("replacing_a_visit", [True, False], ids=["offer-moves-a-visit", "offer-for-an-unbooked-dose"])
def test_every_text_fits_two_gsm7_segments_in_every_language_with_long_names(db, language, replacing_a_visit):
    clinic = make_clinic(
        "The Very Long Named Regional Neurology and Neuro-Immunology Infusion Day Unit, Building 7 East Wing",
        phone="+44 20 7946 0321 ext 1234",
    )
    # Longer addresses than most installations': the links are never shortened, the names are.
    answer_url = "https://chairside.northside-hospital.example.org/a/AbCdEfGhIjKlMnOp/"
    offer_url = "https://chairside.northside-hospital.example.org/a/QrStUvWxYzAbCdEf/"
    stop_url = "https://chairside.northside-hospital.example.org/s/AbCdEfGhIjKlMnOp/"
    with translation.override(language):
        moment = datetime(2027, 9, 29, 23, 0, tzinfo=UTC)
        context = {
            "clinic": clinic,
            "first_name": "Maximiliana-Josephine",
            "answer_urls": {"confirm": answer_url, "cancel": answer_url, "other_time": answer_url},
            "offer_urls": {"take_offer": offer_url, "decline_offer": offer_url},
            "offer_ends_short": format_short_moment(moment - timedelta(hours=20), clinic.tz),
            "current_short_when": format_short_moment(moment + timedelta(days=23), clinic.tz)
            if replacing_a_visit
            else "",
            "sms_stop_url": stop_url,
            "short_when": format_short_moment(moment, clinic.tz),
            "more_visits": 4,
            "due_day": format_long_day(date(2027, 9, 29)),
        }
        for name in TEMPLATE_NAMES.values():
            text = sms_text(name, context)
            assert gsm7_length(text) <= MAX_LENGTH, (name, gsm7_length(text), text)
            assert segments(text) <= 2, (name, text)
            assert clinic.name[:10] in text, name
            answers, offers = text.count(answer_url), text.count(offer_url)
            assert (answers, offers) in ((0, 0), (3, 0), (0, 2)), f"{name}: every answer link or every offer link"
            assert (stop_url in text) != bool(answers or offers), f"{name}: the links or the stop link, not both"
            if language == "es":
                assert not {"your", "please", "appointment", "place", "time"} & set(
                    re.findall(r"[a-z]+", text.lower())
                ), text


def test_dose_due_texts_are_sent_for_consenting_patients_only_once_each(clinic_a, traveller):
    course = _texting_course(clinic_a, email="")
    give(course, date(2027, 1, 5))
    assert plan_on(traveller, date(2027, 2, 10)) == 1
    assert plan_on(traveller, date(2027, 2, 10) + timedelta(hours=1)) == 0
    course.patient.sms_consent = False
    course.patient.save(update_fields=["sms_consent"])
    assert plan_on(traveller, date(2027, 2, 18)) == 0  # the second weekly one is not planned
