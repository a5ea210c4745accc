"""The manager's capacity pages (`scheduling:capacity_*`) and the list of authorizations about to expire."""

from django.urls import path

from scheduling.capacity import views as views_capacity

urlpatterns = [
    path("capacity/forecast/", views_capacity.forecast, name="capacity_forecast"),
    path("capacity/forecast.csv", views_capacity.forecast_csv, name="capacity_forecast_csv"),
    path("capacity/utilisation/", views_capacity.utilisation, name="capacity_utilisation"),
    path("capacity/utilisation.csv", views_capacity.utilisation_csv, name="capacity_utilisation_csv"),
    path("capacity/authorizations/", views_capacity.authorizations_expiring, name="authorizations_expiring"),
]
