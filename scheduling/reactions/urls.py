"""Infusion reactions' own page: clearing a course's prescriber hold (`scheduling:reaction_hold_clear`)."""

from django.urls import path

from scheduling.reactions import views as views_reactions

urlpatterns = [
    path(
        "courses/<int:course_id>/reaction-hold/clear/", views_reactions.reaction_hold_clear, name="reaction_hold_clear"
    ),
]
