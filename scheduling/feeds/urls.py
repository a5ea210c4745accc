"""The calendar feeds page (`scheduling:feeds`): making and revoking feeds."""

from django.urls import path

from scheduling.feeds import views as views_feeds

urlpatterns = [
    path("feeds/", views_feeds.feeds, name="feeds"),
    path("feeds/<int:pk>/revoke/", views_feeds.feed_revoke_view, name="feed_revoke"),
]
