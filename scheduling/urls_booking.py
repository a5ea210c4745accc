"""The front desk's booking pages: suggested slots, booking, changes and the week view."""

from django.urls import path

from scheduling import views_booking

urlpatterns = [
    path("book/<int:course_id>/", views_booking.book, name="book"),
]
