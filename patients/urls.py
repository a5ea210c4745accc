"""Patient pages, namespaced `patients:`. Only ids in paths: names, MRNs and drugs never reach a URL."""

from django.urls import path

from patients import views

app_name = "patients"

urlpatterns = [
    path("", views.patient_list, name="list"),
    path("new/", views.patient_create, name="create"),
    path("<int:patient_id>/", views.patient_detail, name="detail"),
    path("<int:patient_id>/edit/", views.patient_edit, name="edit"),
    path("<int:patient_id>/courses/new/", views.course_create, name="course_create"),
    path("<int:patient_id>/courses/<int:course_id>/edit/", views.course_edit, name="course_edit"),
    path("course-options/", views.course_options, name="course_options"),
]
