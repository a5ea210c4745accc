"""Scheduling URLs, namespaced `scheduling:`. Each area keeps its routes in its own module."""

from scheduling.urls_booking import urlpatterns as booking_urls
from scheduling.urls_reminders import urlpatterns as reminder_urls
from scheduling.urls_roster import urlpatterns as roster_urls
from scheduling.urls_worklist import urlpatterns as worklist_urls

app_name = "scheduling"

urlpatterns = worklist_urls + booking_urls + roster_urls + reminder_urls
