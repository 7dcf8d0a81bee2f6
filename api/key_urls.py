"""The Global admin's API keys page, mounted at /accounts/api-keys/ (namespace "api_keys")."""

from django.urls import path

from . import key_views

app_name = "api_keys"

urlpatterns = [
    path("", key_views.api_keys, name="list"),
    path("<int:pk>/revoke/", key_views.api_key_revoke, name="revoke"),
]
