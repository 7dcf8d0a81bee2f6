"""Webhooks pages, mounted at /webhooks/ (namespace "webhooks")."""

from django.urls import path

from . import views

app_name = "webhooks"

urlpatterns = [
    path("", views.endpoint_list, name="list"),
    path("new/", views.endpoint_create, name="create"),
    path("<int:pk>/", views.endpoint_detail, name="detail"),
    path("<int:pk>/edit/", views.endpoint_edit, name="edit"),
    path("<int:pk>/secret/", views.endpoint_rotate_secret, name="rotate_secret"),
    path("<int:pk>/delete/", views.endpoint_delete, name="delete"),
    path("<int:pk>/deliveries/<int:message_pk>/redeliver/", views.message_redeliver, name="redeliver"),
]
