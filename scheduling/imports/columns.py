"""The import file's columns: one row per dose given (or per course, or per patient, with no dose).

A patient with three doses is three rows that repeat the patient's and the course's columns.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    required: bool
    meaning: str
    example: str


COLUMNS: tuple[Column, ...] = (
    Column(
        "mrn",
        True,
        "Medical record number; a patient whose MRN is already at the clinic is matched, not added again",
        "RX100234",
    ),
    Column("first_name", True, "Patient's first name", "Alice"),
    Column("last_name", True, "Patient's last name", "Brown"),
    Column("date_of_birth", True, "Year-month-day", "1984-03-08"),
    Column("email", False, "For reminders", "alice@example.org"),
    Column(
        "phone", False, "A mobile number for texts; national numbers are read in the clinic's country", "07700 900123"
    ),
    Column("reminder_consent", False, "yes or no (no when empty): the patient agreed to email reminders", "yes"),
    Column("sms_consent", False, "yes or no (no when empty): the patient agreed to text reminders", "no"),
    Column(
        "regimen",
        False,
        "Regimen code (ocrevus, tysabri, lemtrada, ...) or the drug's name; empty for a patient with no course",
        "ocrevus",
    ),
    Column(
        "course_start",
        False,
        "Target date of the course's first dose, year-month-day; needed with a regimen",
        "2025-01-06",
    ),
    Column("course_options", False, "Course options the regimen offers, separated by ; (such as short_infusion)", ""),
    Column("authorization_number", False, "Programme authorization (TOUCH, REMS) number", ""),
    Column("authorization_expires_on", False, "Year-month-day", ""),
    Column("dose_given_on", False, "The day a past dose was given, year-month-day; one row per dose", "2025-01-06"),
)

NAMES = tuple(column.name for column in COLUMNS)
REQUIRED = tuple(column.name for column in COLUMNS if column.required)

# Two example patients: one on Ocrevus with its two initiation doses, one with no course yet.
EXAMPLE_ROWS = (
    (
        "RX100234",
        "Alice",
        "Brown",
        "1984-03-08",
        "alice@example.org",
        "",
        "yes",
        "no",
        "ocrevus",
        "2025-01-06",
        "",
        "",
        "",
        "2025-01-06",
    ),
    (
        "RX100234",
        "Alice",
        "Brown",
        "1984-03-08",
        "alice@example.org",
        "",
        "yes",
        "no",
        "ocrevus",
        "2025-01-06",
        "",
        "",
        "",
        "2025-01-20",
    ),
    ("RX100235", "Ben", "Clark", "1979-11-30", "", "", "no", "no", "", "", "", "", "", ""),
)
