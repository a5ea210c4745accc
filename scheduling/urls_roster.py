"""The nurses' roster (`scheduling:roster`); the clinic and day are GET parameters (ids and dates only)."""

from django.urls import path

from scheduling import views_roster

urlpatterns = [
    path("roster/", views_roster.roster, name="roster"),
]
