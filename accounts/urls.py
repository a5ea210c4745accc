from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from accounts import views

app_name = "accounts"

urlpatterns = [
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(
            template_name="registration/password_change_form.html",
            success_url=reverse_lazy("accounts:password_change_done"),
        ),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(template_name="registration/password_change_done.html"),
        name="password_change_done",
    ),
    path("accounts/two-step/", views.mfa_overview, name="mfa"),
    path("accounts/two-step/setup/", views.mfa_setup, name="mfa_setup"),
    path("accounts/two-step/code/", views.mfa_verify, name="mfa_verify"),
    path("accounts/two-step/recovery-codes/", views.recovery_codes_new, name="recovery_codes_new"),
    path("accounts/session/keep-alive/", views.keep_alive, name="keep_alive"),
    path("staff/", views.staff_list, name="staff"),
    path("staff/<int:user_id>/password/", views.staff_password, name="staff_password"),
    path("staff/<int:user_id>/active/", views.staff_active, name="staff_active"),
    path("staff/<int:user_id>/unlock/", views.staff_unlock, name="staff_unlock"),
    path("staff/<int:user_id>/two-step/", views.staff_two_step_reset, name="staff_two_step_reset"),
]
