"""Exporting a clinic's appointments, utilisation and audit trail as CSV (`scheduling:exports`): clinic managers."""

from django.urls import path

from scheduling.exports import views as views_exports

urlpatterns = [
    path("exports/", views_exports.exports, name="exports"),
    path("exports/download.csv", views_exports.export_csv, name="export_csv"),
]
