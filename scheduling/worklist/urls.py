"""The front desk's worklist of doses due and not yet booked (`scheduling:worklist`)."""

from django.urls import path

from scheduling.worklist import views as views_worklist

urlpatterns = [
    path("worklist/", views_worklist.worklist, name="worklist"),
]
