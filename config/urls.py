from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts.middleware import mfa_exempt
from config import health, views

urlpatterns = [
    path("", views.home, name="home"),
    path("data-problems/", views.data_problems, name="data_problems"),
    path("health/", health.health, name="health"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    # Logging out is open before the second step of signing in, so a shared computer can be freed.
    path("accounts/logout/", mfa_exempt(auth_views.LogoutView.as_view()), name="logout"),
    path("", include("accounts.urls")),
    path("patients/", include("patients.urls")),
    path("scheduling/", include("scheduling.urls")),
    # The links in patients' messages, kept short so a text message holds three (no login).
    path("a/", include("scheduling.answers.patient_urls")),
    # Calendar subscriptions (a clinic's roster, a nurse's chairs): no login, the token is the credential.
    path("feeds/", include("scheduling.feeds.public_urls")),
    # The link in patients' texts that stops them, as short (no login).
    path("s/", include("scheduling.answers.sms_stop_urls")),
    path("admin/", admin.site.urls),
    # The FHIR API for the hospital's other systems (OAuth2 bearer tokens, not staff logins).
    path("fhir/", include("api.urls")),
]

admin.site.site_header = "Chairside administration"
admin.site.site_title = "Chairside"
