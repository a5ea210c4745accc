"""The front desk's booking pages: suggested slots, booking, changes and the JSON search."""

from django.urls import path

from scheduling.booking import views as views_booking

urlpatterns = [
    path("book/<int:course_id>/", views_booking.book, name="book"),
    path("book/<int:course_id>/confirm/", views_booking.book_confirm, name="book_confirm"),
    path("appointments/<int:appointment_id>/", views_booking.appointment_detail, name="appointment"),
    path("appointments/<int:appointment_id>/reschedule/", views_booking.reschedule, name="reschedule"),
    path("appointments/<int:appointment_id>/cancel/", views_booking.cancel, name="cancel"),
    path("appointments/<int:appointment_id>/no-show/", views_booking.no_show, name="no_show"),
    path("availability.json", views_booking.availability_json, name="availability_json"),
]
