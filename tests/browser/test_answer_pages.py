"""A patient answers from their phone: the confirm link opened at 390 px, confirmed, and every
answer page (the three questions, the thank-you, the link already used) clean for axe-core."""

from __future__ import annotations

import pytest

from clinic.roles import FRONT_DESK
from scheduling.models import PatientAnswer
from scheduling.reminders.answer_links import answer_link
from tests.browser.test_accessibility import serious_violations
from tests.helpers import make_clinic, make_staff
from tests.scheduling.reminders.support import booked_visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def _no_sideways_scroll(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def test_a_patient_confirms_from_a_phone_and_every_answer_page_is_accessible(page, live_server):
    clinic = make_clinic("Northside Infusion Centre")
    visit = booked_visit(clinic, make_staff("alice", FRONT_DESK, clinic), first_name="Robin")
    tokens = {
        purpose: answer_link(appointment=visit, purpose=purpose).token
        for purpose in ("confirm", "cancel", "other_time")
    }
    page.set_viewport_size(PHONE)

    for purpose in ("cancel", "other_time"):
        page.goto(f"{live_server.url}/a/{tokens[purpose]}/")
        assert _no_sideways_scroll(page), purpose
        violations = serious_violations(page)
        assert not violations, f"{purpose}:\n" + "\n".join(violations)

    page.goto(f"{live_server.url}/a/{tokens['confirm']}/")
    assert page.get_by_role("heading", level=1).inner_text() == "Hello Robin, will you come to your appointment?"
    assert visit.patient.last_name not in page.content()
    assert _no_sideways_scroll(page)
    violations = serious_violations(page)
    assert not violations, "\n".join(violations)

    page.get_by_role("button", name="Yes, I will come").click()
    page.get_by_role("heading", name="Thank you, Robin").wait_for()
    assert PatientAnswer.objects.get().kind == PatientAnswer.Kind.CONFIRMED
    violations = serious_violations(page)
    assert not violations, "\n".join(violations)

    page.goto(f"{live_server.url}/a/{tokens['confirm']}/")
    page.get_by_role("heading", name="This link no longer works").wait_for()
    assert _no_sideways_scroll(page)
    violations = serious_violations(page)
    assert not violations, "\n".join(violations)


def test_a_spanish_speaking_patient_cancels_in_spanish_and_stops_texts_from_a_phone(page, live_server, settings):
    settings.SMS_ENABLED = True
    settings.SITE_URL = live_server.url  # the stop link on the page points at this server
    clinic = make_clinic("Northside Infusion Centre")
    visit = booked_visit(clinic, make_staff("alice", FRONT_DESK, clinic), first_name="Lucía")
    patient = visit.patient
    patient.language, patient.phone, patient.sms_consent = "es", "+447700900123", True
    patient.save(update_fields=["language", "phone", "sms_consent"])
    token = answer_link(appointment=visit, purpose="cancel").token
    # The browser asks for English; the page follows the patient.
    page.context.set_extra_http_headers({"Accept-Language": "en-GB,en;q=0.9"})
    page.set_viewport_size(PHONE)

    page.goto(f"{live_server.url}/a/{token}/")
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.get_by_role("heading", level=1).inner_text() == "Hola, Lucía. ¿Desea cancelar esta cita?"
    assert _no_sideways_scroll(page)
    violations = serious_violations(page)
    assert not violations, "\n".join(violations)
    page.get_by_label("¿Por qué cancela la cita? (opcional)").fill("Estoy de viaje esa semana.")
    page.get_by_role("button", name="Cancelar mi cita").click()
    page.get_by_role("heading", name="Gracias, Lucía").wait_for()
    answer = PatientAnswer.objects.get()
    assert (answer.kind, answer.note) == (PatientAnswer.Kind.CANCELLED, "Estoy de viaje esa semana.")

    page.get_by_role("link", name="Dejar de recibir SMS de la clínica").click()
    page.get_by_role("button", name="Dejar de recibir SMS").click()
    page.get_by_role("heading", name="SMS desactivados").wait_for()
    violations = serious_violations(page)
    assert not violations, "\n".join(violations)
    patient.refresh_from_db()
    assert not patient.sms_consent
