"""Scheduling URLs, namespaced `scheduling:`. Each area keeps its routes in its own module."""

from scheduling.booking.urls import urlpatterns as booking_urls
from scheduling.reminders.urls import urlpatterns as reminder_urls
from scheduling.roster.urls import urlpatterns as roster_urls
from scheduling.worklist.urls import urlpatterns as worklist_urls

app_name = "scheduling"

urlpatterns = worklist_urls + booking_urls + roster_urls + reminder_urls
