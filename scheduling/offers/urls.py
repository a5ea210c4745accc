"""The front desk's list of earlier-time offers (`scheduling:`); the patients' links are answers' (/a/<token>/)."""

from django.urls import path

from scheduling.offers import views as views_offers

urlpatterns = [
    path("offers/", views_offers.offers, name="offers"),
]
