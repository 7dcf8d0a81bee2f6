"""Usage data and legacy associations, mounted at /incentives/usage/ (namespace "claims")."""

from django.urls import path

from . import usage_views

urlpatterns = [
    path("", usage_views.usage_list, name="usage"),
    path("export.csv", usage_views.usage_csv, name="usage_csv"),
    path("legacy-associations/", usage_views.reassociate, name="reassociate"),
]
