"""The week view (`scheduling:week`)."""

from django.urls import path

from scheduling.week import views as views_week

urlpatterns = [
    path("week/", views_week.week, name="week"),
]
