"""Scheduling URLs, namespaced `scheduling:`. Each area keeps its routes in its own module."""

from scheduling.answers.urls import urlpatterns as answer_urls
from scheduling.booking.urls import urlpatterns as booking_urls
from scheduling.capacity.urls import urlpatterns as capacity_urls
from scheduling.courses.urls import urlpatterns as course_urls
from scheduling.exports.urls import urlpatterns as export_urls
from scheduling.feeds.urls import urlpatterns as feed_urls
from scheduling.imports.urls import urlpatterns as import_urls
from scheduling.levelling.urls import urlpatterns as levelling_urls
from scheduling.offers.urls import urlpatterns as offer_urls
from scheduling.reactions.urls import urlpatterns as reaction_urls
from scheduling.reminders.urls import urlpatterns as reminder_urls
from scheduling.roster.urls import urlpatterns as roster_urls
from scheduling.week.urls import urlpatterns as week_urls
from scheduling.worklist.urls import urlpatterns as worklist_urls

app_name = "scheduling"

urlpatterns = (
    worklist_urls
    + booking_urls
    + week_urls
    + course_urls
    + roster_urls
    + reaction_urls
    + reminder_urls
    + capacity_urls
    + levelling_urls
    + answer_urls
    + feed_urls
    + import_urls
    + export_urls
    + offer_urls
)
