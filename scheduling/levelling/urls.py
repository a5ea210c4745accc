"""Levelling a clinic day (`scheduling:levelling_day`); the clinic and day are GET parameters (ids and dates only)."""

from django.urls import path

from scheduling.levelling import views as views_levelling

urlpatterns = [
    path("capacity/level/", views_levelling.level_day, name="levelling_day"),
]
