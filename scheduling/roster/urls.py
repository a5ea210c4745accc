"""The nurses' roster (`scheduling:roster`); the clinic and day are GET parameters (ids and dates only)."""

from django.urls import path

from scheduling.roster import views as views_roster

urlpatterns = [
    path("roster/", views_roster.roster, name="roster"),
    path("roster/visits/<int:pk>/status/", views_roster.visit_status, name="roster_visit_status"),
    path("roster/visits/<int:pk>/reaction/", views_roster.visit_reaction, name="roster_visit_reaction"),
    path("roster/visits/<int:pk>/undo/", views_roster.visit_undo_status, name="roster_visit_undo"),
    path("roster/visits/<int:pk>/checks/", views_roster.visit_check, name="roster_visit_check"),
    path(
        "roster/visits/<int:pk>/authorization-override/",
        views_roster.visit_authorization_override_view,
        name="roster_visit_authorization_override",
    ),
    path("roster/nurses/", views_roster.nurse_assignments, name="roster_nurse_assignments"),
]
urlpatterns += [
    path("roster/print/", views_roster.roster_print, name="roster_print"),
]
