"""The feeds' own addresses, namespaced `feeds:` and mounted at /feeds/: no login, the token is the credential."""

from django.urls import path

from scheduling.feeds import views as views_feeds

app_name = "feeds"

urlpatterns = [
    path("<str:token>.ics", views_feeds.calendar, name="calendar"),
]
