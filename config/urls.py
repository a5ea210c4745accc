from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from config import health, views

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", health.health, name="health"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("patients/", include("patients.urls")),
    path("scheduling/", include("scheduling.urls")),
    path("admin/", admin.site.urls),
]

admin.site.site_header = "Chairside administration"
admin.site.site_title = "Chairside"
