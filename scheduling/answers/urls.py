"""The front desk's side of patients' answers (`scheduling:`); the patients' links are in patient_urls.py."""

from django.urls import path

from scheduling.answers import views as views_answers

urlpatterns = [
    path("answers/<int:answer_id>/handled/", views_answers.handled, name="patient_answer_handled"),
]
