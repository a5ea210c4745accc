"""Reminder pages: staff see failed reminders and retry them; patients unsubscribe from a link."""

from django.urls import path

from scheduling.reminders import views as views_reminders

urlpatterns = [
    path("reminders/failed/", views_reminders.failed_list, name="reminders_failed"),
    path("reminders/failed/retry/", views_reminders.retry_failed, name="reminders_retry_failed"),
    path("reminders/<int:reminder_id>/retry/", views_reminders.retry, name="reminder_retry"),
    path("reminders/unsubscribe/<str:token>/", views_reminders.unsubscribe, name="reminders_unsubscribe"),
]
