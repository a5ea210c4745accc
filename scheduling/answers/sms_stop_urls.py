"""The link in a patient's text messages that stops them, namespaced `sms_stop:` and mounted at /s/ (no login)."""

from django.urls import path

from scheduling.answers import views as views_answers

app_name = "sms_stop"

urlpatterns = [
    path("<str:token>/", views_answers.sms_stop, name="stop"),
]
