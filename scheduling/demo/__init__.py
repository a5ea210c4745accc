"""The demo clinics behind `python manage.py seed_demo`, booked through the real booking rules.

`plans` holds what the demo is made of, `people` its clinics, users and patients, `days`
where a visit may go, `history` each course's doses up to today, `visits` the visits already
begun, `bookings` the coming weeks, and `builder` puts them together.
"""

from scheduling.demo.builder import DemoSummary, demo_build, demo_present
from scheduling.demo.plans import CLINIC_PLANS, DEMO_PASSWORD, USERS

__all__ = ["CLINIC_PLANS", "DEMO_PASSWORD", "USERS", "DemoSummary", "demo_build", "demo_present"]
