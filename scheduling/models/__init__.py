"""Scheduling's models: appointments and their history and checks, nurse assignments, the reminder outbox,
capacity, and the earlier-time offers of freed chair time."""

from scheduling.models.answers import AnswerLink, PatientAnswer
from scheduling.models.appointments import Appointment, AppointmentEvent, AppointmentQuerySet
from scheduling.models.capacity import CapacityPolicy
from scheduling.models.checks import VisitCheck
from scheduling.models.doses import DoseState
from scheduling.models.exchange import CalendarFeed, DataTransfer
from scheduling.models.nurses import NurseAssignment
from scheduling.models.offers import ChairOpening, SlotOffer
from scheduling.models.reactions import PRESCRIBER_REVIEW_GRADE, InfusionReaction
from scheduling.models.reminders import Reminder

__all__ = [
    "AnswerLink",
    "Appointment",
    "AppointmentEvent",
    "AppointmentQuerySet",
    "CalendarFeed",
    "CapacityPolicy",
    "DataTransfer",
    "ChairOpening",
    "DoseState",
    "InfusionReaction",
    "NurseAssignment",
    "PRESCRIBER_REVIEW_GRADE",
    "PatientAnswer",
    "Reminder",
    "SlotOffer",
    "VisitCheck",
]
