"""The short links of patients' messages, namespaced `answers:` and mounted at /a/ so a text message holds three."""

from django.urls import path

from scheduling.answers import views as views_answers

app_name = "answers"

urlpatterns = [
    path("<str:token>/", views_answers.answer, name="answer"),
]
