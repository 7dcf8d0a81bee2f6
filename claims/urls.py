"""The partner site under Incentives. Each part keeps its routes in its own module; all
share the "claims" namespace."""

from django.urls import include, path

app_name = "claims"

urlpatterns = [
    path("", include("claims.urls_browse")),
    path("customer-associations/", include("claims.urls_wizard")),
    path("usage/", include("claims.urls_usage")),
]
