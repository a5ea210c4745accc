"""The course status page (`scheduling:course_status`) and the switch page (`scheduling:course_switch`)."""

from django.urls import path

from scheduling.courses import views as views_courses

urlpatterns = [
    path("courses/<int:course_id>/status/", views_courses.course_status, name="course_status"),
    path("courses/<int:course_id>/switch/", views_courses.course_switch, name="course_switch"),
]
