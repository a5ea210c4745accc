"""Importing patients (`scheduling:import_patients`) and the file's template: clinic managers."""

from django.urls import path

from scheduling.imports import views as views_imports

urlpatterns = [
    path("import/", views_imports.import_patients, name="import_patients"),
    path("import/template/", views_imports.import_template, name="import_template"),
]
