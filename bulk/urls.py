"""Bulk claims pages, mounted at /incentives/bulk/ (namespace "bulk")."""

from django.urls import path

from . import views

app_name = "bulk"

urlpatterns = [
    path("", views.upload_list, name="list"),
    path("template.csv", views.template_csv, name="template"),
    path("proof-of-execution/", views.poe_zip, name="poe_zip"),
    path("<int:pk>/", views.upload_detail, name="detail"),
    path("<int:pk>/progress.json", views.upload_progress, name="progress"),
    path("<int:pk>/errors.csv", views.error_csv, name="errors"),
]
